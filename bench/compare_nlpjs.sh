#!/usr/bin/env bash
# rahnama's intent engine vs NLP.js (node-nlp 4.27.0), same messages, same machine, same core:
#   speed:    the eval + extra examples (locales/examples/eval.jsonl + extra.jsonl, 1,049 messages), one core (taskset -c 1)
#   accuracy: the held-back sets tests/data/heldout.jsonl and heldout2.jsonl (run only, never tuned on)
# Usage: bench/compare_nlpjs.sh [OUTDIR]   (BENCH_BUILD: build dir with bench/bench_classify and rahnama)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BB=${BENCH_BUILD:-$REPO/build-bench}
OUT=${1:-$(mktemp -d)}
RUNS=${BENCH_RUNS:-3}
mkdir -p "$OUT"
cd "$REPO/bench/nlpjs"
[ -d node_modules/node-nlp ] || npm ci --no-audit --no-fund --loglevel=error

: >"$OUT/nlpjs.jsonl"
for ((i = 1; i <= RUNS; i++)); do
  taskset -c 1 node classify.mjs "$REPO/locales/examples" "$REPO/tests/data" 2>/dev/null | tail -1 >>"$OUT/nlpjs.jsonl"
done
taskset -c 1 "$BB/bench/bench_classify" --benchmark_filter='BM_ClassifyMix/min_time:1.000$' \
  --benchmark_repetitions="$RUNS" --benchmark_format=json 2>/dev/null >"$OUT/rahnama_classify_mix.json"
"$BB/rahnama" eval "$REPO/tests/data/heldout.jsonl" --locales "$REPO/locales" >"$OUT/rahnama_eval_heldout.txt" || true
"$BB/rahnama" eval "$REPO/tests/data/heldout2.jsonl" --locales "$REPO/locales" >"$OUT/rahnama_eval_heldout2.txt" || true

python3 - "$OUT" <<'PY'
import json, re, statistics, sys
out = sys.argv[1]
nl = [json.loads(l) for l in open(f"{out}/nlpjs.jsonl") if l.strip()]
rb = json.load(open(f"{out}/rahnama_classify_mix.json"))
r_runs = [b["items_per_second"] for b in rb["benchmarks"] if b.get("run_type") == "iteration"]
r = statistics.median(r_runs)
n_unc = statistics.median(x["msgs_per_s_uncached"] for x in nl)
n_c = statistics.median(x["msgs_per_s_cached"] for x in nl)
ev = open(f"{out}/rahnama_eval_heldout.txt").read()
ev2 = open(f"{out}/rahnama_eval_heldout2.txt").read()
g = lambda k, text=None: float(re.search(k + r": ([\d.]+)%", text or ev).group(1))
h = nl[0]["heldout"]
h2 = nl[0].get("heldout2")
print("| | rahnama intent engine | NLP.js 4.27.0 `process()` | rahnama / NLP.js |")
print("|---|---:|---:|---:|")
print(f"| msgs/s, one core, the eval + extra examples (median of {len(r_runs)}; NLP.js: each text seen first time) | {r:,.0f} | {n_unc:,.0f} | **{r/n_unc:.2f}×** |")
print(f"| msgs/s, NLP.js with every text in its cache | | {n_c:,.0f} | {r/n_c:.2f}× |")
print(f"| µs per message | {1e6/r:.1f} | {1e6/n_unc:.1f} | |")
print(f"| heldout intent accuracy (160) | {g('intent accuracy'):.1f} % | {h['intent_accuracy']:.1f} % | {g('intent accuracy') - h['intent_accuracy']:+.1f} pt |")
print(f"| heldout urgent recall | {g('urgent recall'):.1f} % | {h['urgent_recall']:.1f} % | |")
print(f"| heldout urgent precision | {g('urgent precision'):.1f} % | {h['urgent_precision']:.1f} % | |")
if h2:
    print(f"| heldout2 intent accuracy (237) | {g('intent accuracy', ev2):.1f} % | {h2['intent_accuracy']:.1f} % | {g('intent accuracy', ev2) - h2['intent_accuracy']:+.1f} pt |")
    print(f"| heldout2 urgent recall | {g('urgent recall', ev2):.1f} % | {h2['urgent_recall']:.1f} % | |")
    print(f"| heldout2 urgent precision | {g('urgent precision', ev2):.1f} % | {h2['urgent_precision']:.1f} % | |")
print(f"| tuning-set intent accuracy (trained/tuned on) | – | {nl[0]['tuning']['intent_accuracy']:.1f} % | |")
print(f"| training time | (rules compiled at start) | {statistics.median(x['train_ms'] for x in nl):.0f} ms | |")
print(f"| peak RSS of the process | see classify_memory.txt | {statistics.median(x['max_rss_kb'] for x in nl)/1024:.0f} MB | |")
print(f"\nrahnama runs: {[round(x) for x in r_runs]}; NLP.js uncached runs: {[round(x['msgs_per_s_uncached']) for x in nl]}")
print(f"SPEED_RATIO {r/n_unc:.3f} (target ≥ 20)")
PY
