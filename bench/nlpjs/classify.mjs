// NLP.js (node-nlp 4.27.0) on the same task as rahnama's intent engine: trained on every labelled
// set the rules were tuned on (every locales/examples/*.jsonl, as rahnama's example model), timed on the
// messages bench_classify times (eval + extra), scored on the held-back set
// tests/data/heldout.jsonl. Prints one JSON object.
//
// Locale: NLP.js needs one per document and has no Pashto; language guessing ranks Pashto as
// Persian (shared/research/peer-bench.md §3). So a message in Arabic script goes to 'fa' and a
// Latin one to 'en' — decided from the text alone, as rahnama must, never from the label.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { NlpManager } = require('node-nlp');

const data = process.argv[2] || '../../locales/examples';
const heldoutDir = process.argv[3] || '../../tests/data';
const readIn = (dir, f) => readFileSync(`${dir}/${f}`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const read = (f) => readIn(data, f);
const timed = [...read('eval.jsonl'), ...read('extra.jsonl')];
const others = readdirSync(data).filter((f) => f.endsWith('.jsonl') && f !== 'eval.jsonl' && f !== 'extra.jsonl').sort();
const train = [...timed, ...others.flatMap(read)];
const heldout = readIn(heldoutDir, 'heldout.jsonl');
// A second held-out set, written later by another independent writer (also never tuned on).
let heldout2 = [];
try { heldout2 = readIn(heldoutDir, 'heldout2.jsonl'); } catch { /* absent in older checkouts */ }
const locale = (t) => (/[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]/.test(t) ? 'fa' : 'en');

const manager = new NlpManager({ languages: ['en', 'fa'], forceNER: false, autoSave: false, nlu: { log: false },
                                 calculateSentiment: false });
for (const r of train) manager.addDocument(locale(r.text), r.text, r.intent);
let t = performance.now();
await manager.train();
const trainMs = performance.now() - t;

const classify = async (text) => {
  const r = await manager.process(locale(text), text);
  return !r.intent || r.intent === 'None' ? 'unknown' : r.intent;
};

// JIT warm-up on texts that are not the measured ones (NLP.js caches per text).
for (const r of timed) await classify(r.text + ' ok');
for (const r of timed) await classify('salam ' + r.text);

// Timed: one pass over the tuning texts, each seen for the first time (no cache hit), then
// repeated passes (every text cached).
t = performance.now();
for (const r of timed) await classify(r.text);
const uncachedS = (performance.now() - t) / 1000;
const passes = 5;
t = performance.now();
for (let p = 0; p < passes; p++) for (const r of timed) await classify(r.text);
const cachedS = (performance.now() - t) / 1000;

const score = async (rows) => {
  let ok = 0, utp = 0, ufp = 0, ufn = 0;
  for (const r of rows) {
    const got = await classify(r.text);
    if (got === r.intent) ok++;
    const gu = got === 'urgent_protection';
    if (gu && r.urgent) utp++;
    if (gu && !r.urgent) ufp++;
    if (!gu && r.urgent) ufn++;
  }
  return { messages: rows.length, intent_accuracy: (100 * ok) / rows.length,
           urgent_recall: utp + ufn ? (100 * utp) / (utp + ufn) : 100, urgent_precision: utp + ufp ? (100 * utp) / (utp + ufp) : 100,
           urgent_tp: utp, urgent_fp: ufp, urgent_fn: ufn };
};
const heldoutScore = await score(heldout);
const heldout2Score = heldout2.length ? await score(heldout2) : null;
const tuningScore = await score(train);
console.log(JSON.stringify({
  node: process.version, node_nlp: require('node-nlp/package.json').version,
  train_messages: train.length, timed_messages: timed.length, train_ms: Math.round(trainMs),
  msgs_per_s_uncached: timed.length / uncachedS, msgs_per_s_cached: (passes * timed.length) / cachedS,
  heldout: heldoutScore, heldout2: heldout2Score, tuning: tuningScore,
  max_rss_kb: process.resourceUsage().maxRSS,
}));
