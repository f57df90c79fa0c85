#!/usr/bin/env node
// End-to-end tests of the web console: the real server, a fake Graph API, signed WhatsApp
// webhooks, and Debian's Chromium driven by playwright-core.
//
//   node tests/console/run.mjs --binary build/rahnama --source . [--screenshots docs/screenshots] [--keep]
//
// Exit 77 (skipped) when /usr/bin/chromium or node_modules/playwright-core is missing.
// Screenshots go to --screenshots DIR (docs/screenshots for the README) or else to the temp dir.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const started = Date.now();

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const binary = path.resolve(arg('--binary', path.join(HERE, '../../build/rahnama')));
const source = path.resolve(arg('--source', path.join(HERE, '../..')));
const keep = process.argv.includes('--keep');

const pwDir = path.join(HERE, 'node_modules', 'playwright-core');
if (!fs.existsSync(CHROMIUM)) {
  console.log(`console_e2e skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
  process.exit(77);
}
if (!fs.existsSync(pwDir)) {
  console.log('console_e2e skipped: playwright-core is not installed (cd tests/console && npm ci)');
  process.exit(77);
}
if (!fs.existsSync(binary)) {
  console.error(`console_e2e: no server binary at ${binary}`);
  process.exit(1);
}
const { chromium } = await import(path.join(pwDir, 'index.mjs'));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rahnama-console-'));
const shotDir = path.resolve(arg('--screenshots', path.join(tmp, 'screenshots')));
fs.mkdirSync(shotDir, { recursive: true });
const db = path.join(tmp, 'r.db');
const APP_SECRET = 'console-e2e-app-secret';
const PASSWORD = 'correct-horse-42-battery';
const log = (...a) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, timeout = 10000, every = 100) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(every);
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

// ---- accounts ---------------------------------------------------------------------------------
for (const [name, role, queue] of [['officer1', 'officer', 'unhcr_protection'], ['officer2', 'officer', 'unhcr_protection'],
  ['operator1', 'operator'], ['operator2', 'operator'], ['admin1', 'admin']]) {
  const args = ['user', 'add', '--db', db, '--name', name, '--role', role, '--password-stdin'];
  if (queue) args.push('--queue', queue);
  const r = spawnSync(binary, args, { input: PASSWORD + '\n', encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`could not add user ${name}: ${r.stderr || r.stdout}`);
    process.exit(1);
  }
}

// ---- fake Graph API ---------------------------------------------------------------------------
const graphCalls = [];
// A 1×1 PNG and a few bytes standing for a voice note.
const MEDIA = {
  'E2E-PHOTO-1': { id: 'E2E-PHOTO-1', type: 'image/png', bytes: Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64') },
  'E2E-VOICE-1': { id: 'E2E-VOICE-1', type: 'audio/ogg', bytes: Buffer.from('OggS-e2e-voice-note') },
};
const graph = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    // Media an officer opens: WhatsApp's media id gives a URL, the URL gives the bytes.
    const media = MEDIA[(req.url.match(/^\/v[0-9.]+\/(E2E-[A-Z0-9-]+)$/) || [])[1]];
    if (req.method === 'GET' && media) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ url: `${graphUrl}/files/${media.id}`, mime_type: media.type }));
      return;
    }
    const file = MEDIA[(req.url.match(/^\/files\/(E2E-[A-Z0-9-]+)$/) || [])[1]];
    if (req.method === 'GET' && file) {
      res.writeHead(200, { 'Content-Type': file.type });
      res.end(file.bytes);
      return;
    }
    if (req.method === 'POST') {
      let parsed = null;
      try { parsed = JSON.parse(body); } catch { /* keep raw */ }
      graphCalls.push({ path: req.url, body: parsed, raw: body });
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ messaging_product: 'whatsapp', messages: [{ id: `wamid.fake-${graphCalls.length}` }] }));
  });
});
await new Promise((r) => graph.listen(0, '127.0.0.1', r));
const graphUrl = `http://127.0.0.1:${graph.address().port}`;

// ---- the server -------------------------------------------------------------------------------
const serverLog = fs.createWriteStream(path.join(tmp, 'server.log'));
const server = spawn(binary, ['serve', '--port', '0', '--admin-port', '0', '--db', db, '--locales', path.join(source, 'locales'),
  '--console', path.join(source, 'bot/console')], {
  env: { ...process.env, RAHNAMA_APP_SECRET: APP_SECRET, RAHNAMA_VERIFY_TOKEN: 'console-e2e-verify', RAHNAMA_WA_TOKEN: 'console-e2e-token', RAHNAMA_GRAPH_URL: graphUrl },
  stdio: ['ignore', 'pipe', 'pipe'],
});
server.stdout.pipe(serverLog);
let serverExited = null;
server.on('exit', (code, sig) => { serverExited = { code, sig }; });
process.on('exit', () => { if (serverExited === null) server.kill('SIGKILL'); });  // also on a crash of this script
const ports = await new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error('the server did not log server_started within 15 s')), 15000);
  const rl = readline.createInterface({ input: server.stderr });
  rl.on('line', (line) => {
    serverLog.write(line + '\n');
    try {
      const j = JSON.parse(line);
      if (j.event === 'server_started') {
        clearTimeout(t);
        resolve({ webhook: j.webhook, admin: j.admin });
      }
    } catch { /* not JSON */ }
  });
  server.on('exit', () => reject(new Error(`the server exited early: ${JSON.stringify(serverExited)}`)));
}).catch(async (e) => {
  console.error(e.message);
  await shutdown();
  console.log('0 passed, 1 failed');
  process.exit(1);
});
const ADMIN = `http://${ports.admin}`;
const WEBHOOK = `http://${ports.webhook}/webhooks/whatsapp`;
log(`server up: webhook ${ports.webhook}, admin ${ports.admin}, fake graph ${graphUrl}`);

let seq = 0;
async function sendWhatsApp(from, text, name = 'Test Person') {
  return postWhatsApp(from, { type: 'text', text: { body: text } }, name);
}
// `content`: the message's type and its object ({ type: 'audio', audio: { id, mime_type, voice } }).
async function postWhatsApp(from, content, name = 'Test Person') {
  const body = JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: '1', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '1', phone_number_id: '106540352242922' },
      contacts: [{ profile: { name }, wa_id: from }],
      messages: [{ from, id: `wamid.e2e-${Date.now()}-${++seq}`, timestamp: String(Math.floor(Date.now() / 1000)), ...content }],
    } }] }],
  });
  const sig = 'sha256=' + crypto.createHmac('sha256', APP_SECRET).update(body).digest('hex');
  // A fresh connection each time (no keep-alive), so the server can stop at once at the end.
  const { status, text: answer } = await new Promise((resolve, reject) => {
    const req = http.request(WEBHOOK, { method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close', 'X-Hub-Signature-256': sig } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, text: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
  if (status !== 200) throw new Error(`webhook answered ${status}: ${answer}`);
}
const callsTo = (to) => graphCalls.filter((c) => c.body && c.body.to === to);

// ---- browser ----------------------------------------------------------------------------------
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run'],
});

const pageProblems = [];
async function newPage(width = 1280, height = 800) {
  const context = await browser.newContext({ viewport: { width, height }, locale: 'en-GB', timezoneId: 'Asia/Karachi' });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.on('pageerror', (e) => pageProblems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // A CSP violation means the console used inline script or style somewhere.
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) pageProblems.push(`CSP: ${m.text()}`);
  });
  return page;
}
async function login(page, username, shot, password = PASSWORD) {
  await page.goto(`${ADMIN}/console/`);
  await page.waitForSelector('#login-form');
  if (shot) await page.screenshot({ path: path.join(shotDir, shot) });
  await page.fill('#login-username', username);
  await page.fill('#login-password', password);
  await page.press('#login-password', 'Enter');  // forms submit with Enter
  await page.waitForSelector('#logout');
}

const results = [];
async function scenario(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    log(`PASS ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.push({ name, ok: false, error: e });
    log(`FAIL ${name}: ${e.stack || e.message}`);
  }
}

const URGENT_FROM = '923001112233';
const URGENT_TEXT = 'پولیسو اوس زما ورور ونیو، مرسته وکړئ';
const XSS_TEXT = '<script>alert(1)</script><img src=x onerror="alert(2)">';
let officerPage = null;
let caseId = null;
let poisonCase = null;

await scenario('officer sees an urgent Pashto case appear, reads it right-to-left and replies', async () => {
  const page = await newPage();
  officerPage = page;
  await login(page, 'officer1', 'login.png');
  await page.waitForSelector('#case-list');
  await page.evaluate(() => { window.__noReload = 'still here'; });
  assert(await page.locator('#case-list [data-priority="urgent"]').count() === 0, 'no urgent case before the webhook');

  await sendWhatsApp(URGENT_FROM, URGENT_TEXT, 'Gul Khan');
  const row = page.locator('#case-list [data-priority="urgent"]').first();
  await waitFor('the urgent case to appear in the list by itself (no reload)', async () => (await row.count()) > 0, 12000);
  assert(await page.evaluate(() => window.__noReload) === 'still here', 'the case appeared without a page reload');
  assert(await page.locator('#queue-tiles [data-queue="unhcr_protection"] .count-urgent-n').innerText() === '1', 'the queue tile counts one urgent case');
  caseId = await row.getAttribute('data-case');
  // Let the bot's own answers reach the case, so the screenshots show a real conversation.
  await waitFor('the bot to answer the person', () => callsTo(URGENT_FROM).length > 0, 8000);
  // The person answers the intake questions: where they are, who is at risk (1: me), detained (1: yes).
  for (const answer of ['Peshawar', '1', '1']) {
    const had = callsTo(URGENT_FROM).length;
    await sendWhatsApp(URGENT_FROM, answer, 'Gul Khan');
    await waitFor(`the bot to take the intake answer "${answer}"`, () => callsTo(URGENT_FROM).length > had, 8000);
  }
  await page.screenshot({ path: path.join(shotDir, 'queue.png') });
  await page.setViewportSize({ width: 360, height: 740 });
  await page.screenshot({ path: path.join(shotDir, 'queue-360.png') });
  await page.setViewportSize({ width: 1280, height: 800 });

  await row.locator('a').click();
  await page.waitForURL(new RegExp(`#/cases/${caseId}$`));
  const msg = page.locator('.msg-person .msg-text').first();
  await msg.waitFor();
  assert((await msg.innerText()).includes('پولیسو'), 'the Pashto message is shown');
  const dir = await msg.evaluate((el) => getComputedStyle(el).direction);
  assert(dir === 'rtl', `the Pashto message is right-to-left (computed direction: ${dir})`);
  assert(/open/i.test(await page.locator('#window-state').innerText()), 'the 24-hour window shows as open');
  assert(/ago|just now/.test(await page.locator('#since-last').innerText()), 'time since the last message is shown');
  // The answers as the person gave them (they showed as "—": the console read only true/false).
  const intake = await page.locator('#case-intake').innerText();
  assert(/Who is at risk\s*the person writing/.test(intake), `who is at risk is shown: ${intake}`);
  assert(/Detained now\s*yes/.test(intake), `detained now is shown: ${intake}`);
  assert(await page.locator('#case-intake dd.error-text', { hasText: 'yes' }).count() === 1, 'a detention is highlighted');

  const reply = `Salam, this is the UNHCR protection desk. We are calling you now. [ref ${crypto.randomBytes(3).toString('hex')}]`;
  await page.fill('#reply-text', reply);
  await page.press('#reply-text', 'Enter');
  const sent = await waitFor('the reply at the fake Graph API', () => callsTo(URGENT_FROM).find((c) => JSON.stringify(c.body).includes(reply)), 10000);
  assert(sent.body.text && sent.body.text.body === reply, 'the Graph API received the reply text as a text message');
  await page.locator('.msg-officer .msg-text', { hasText: reply }).waitFor({ timeout: 8000 });
  await page.evaluate(() => { window.scrollTo(0, 0); document.activeElement?.blur(); document.querySelector('#conversation').scrollTop = 0; });
  await page.screenshot({ path: path.join(shotDir, 'case.png') });
  // Narrow screen: the conversation stays readable at 360 px.
  await page.setViewportSize({ width: 360, height: 780 });
  await sleep(300);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(shotDir, 'case-360.png') });
  await page.setViewportSize({ width: 1280, height: 800 });
});

await scenario('hostile message text is shown as text and never runs', async () => {
  assert(officerPage && caseId, 'needs the case of the first scenario');
  const page = officerPage;
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss().catch(() => {}); });
  const scriptsBefore = await page.evaluate(() => document.scripts.length);
  const before = await page.locator('.msg-person').count();
  await sendWhatsApp(URGENT_FROM, XSS_TEXT, '<img src=x onerror="alert(3)">');
  // The case view refreshes on its own.
  await waitFor('the new message in the case view', async () => (await page.locator('.msg-person').count()) > before, 12000);
  const shown = await page.locator('.msg-person').last().innerText();
  assert(shown.includes(XSS_TEXT), `the message is shown verbatim as text (shown: ${JSON.stringify(shown)})`);
  // The list view renders the same data: visit it and come back.
  await page.goto(`${ADMIN}/console/#/queue`);
  await page.waitForSelector('#case-list [data-case]');
  await page.goto(`${ADMIN}/console/#/cases/${caseId}`);
  await page.locator('.msg-person .msg-text', { hasText: '<script>alert(1)</script>' }).waitFor();
  await sleep(500);
  const check = await page.evaluate(() => ({
    scripts: document.scripts.length,
    inlineScripts: [...document.querySelectorAll('script')].filter((s) => !s.src).length,
    imgs: document.querySelectorAll('img[src="x"], img[onerror]').length,
  }));
  assert(dialogs.length === 0, `no dialog fired (got ${JSON.stringify(dialogs)})`);
  assert(check.scripts === scriptsBefore && check.inlineScripts === 0, `no script element was created (${JSON.stringify(check)})`);
  assert(check.imgs === 0, 'no <img> element was created from the message or the contact name');
});

const DARI_FROM = '93700123456';
const MARKER = `NEW-POR-${crypto.randomBytes(3).toString('hex')}`;
const NEW_ANSWER = `کارت پی او آر (ثبت اقامت) سند ثبت شما در پاکستان است. برای معلومات تازه با دفتر UNHCR به تماس شوید. (${MARKER})`;

await scenario('operator edits the Dari PoR answer, previews draft vs published, publishes, and people get it', async () => {
  const page = await newPage();
  await login(page, 'operator1');
  await page.waitForSelector('[data-key="answer/prs/por_card"]');
  const cell = page.locator('[data-key="answer/prs/por_card"]');
  const before = await cell.locator('.answer-text').innerText();
  assert(before.length > 20, 'the current Dari answer is shown');
  assert(await page.locator('.fact-placeholder').count() > 0, 'placeholder contacts are highlighted');
  await cell.getByRole('button', { name: /Edit/ }).click();
  await cell.locator('textarea').fill(NEW_ANSWER);
  await cell.getByRole('button', { name: 'Save to draft' }).click();
  await cell.locator('.answer-text', { hasText: MARKER }).waitFor();

  await page.fill('#preview-text', 'کارت پی او آر چیست؟');
  await page.selectOption('#preview-language', 'prs');
  await page.click('#preview-form button[type=submit]');
  await page.waitForSelector('#preview-diff');
  assert(await page.getAttribute('#preview-diff', 'data-differ') === 'true', 'the preview says draft and published differ');
  assert(await page.locator('.preview-draft .preview-intent').innerText() === 'por_card', 'the draft decides por_card');
  assert((await page.locator('.preview-draft .preview-replies').innerText()).includes(MARKER), 'the draft reply is the new answer');
  assert(!(await page.locator('.preview-published .preview-replies').innerText()).includes(MARKER), 'the published reply is still the old one');
  await page.locator('#sec-publish').scrollIntoViewIfNeeded();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(shotDir, 'content.png') });

  await page.fill('#publish-message', 'Dari PoR answer: clearer wording');
  await page.press('#publish-message', 'Enter');
  await page.locator('#publish-result', { hasText: 'Published version' }).waitFor();
  await page.locator('#versions-table .row-current', { hasText: 'Dari PoR answer' }).waitFor();
  // More screenshots: the answers in three columns, the facts with placeholder contacts.
  await page.evaluate(() => document.querySelector('#sec-answers').scrollIntoView());
  await page.screenshot({ path: path.join(shotDir, 'content-answers.png') });
  await page.evaluate(() => document.querySelector('#sec-facts').scrollIntoView());
  await page.screenshot({ path: path.join(shotDir, 'content-facts.png') });

  // A Dari speaker: hello, choose Dari (2), ask about the PoR card.
  let n = callsTo(DARI_FROM).length;
  await sendWhatsApp(DARI_FROM, 'سلام', 'Zahra');
  await waitFor('the welcome', () => callsTo(DARI_FROM).length > n, 10000);
  await sleep(300);
  n = callsTo(DARI_FROM).length;
  await sendWhatsApp(DARI_FROM, '2', 'Zahra');
  await waitFor('the language confirmation', () => callsTo(DARI_FROM).length > n, 10000);
  await sleep(300);
  await sendWhatsApp(DARI_FROM, 'کارت پی او آر چیست؟', 'Zahra');
  const got = await waitFor('the new Dari answer at the fake Graph API', () => callsTo(DARI_FROM).find((c) => c.raw.includes(MARKER)), 10000);
  assert(got.raw.includes('کارت پی او آر (ثبت اقامت)'), 'the person received the new Dari answer');
  await page.close();
});

await scenario('the dashboard shows today\'s messages and the urgent case with its time to first response', async () => {
  const page = await newPage();
  await login(page, 'officer1');
  await page.goto(`${ADMIN}/console/#/dashboard`);
  await page.waitForSelector('#kpi-today .kpi-value');
  const today = Number(await page.locator('#kpi-today .kpi-value').innerText());
  assert(today >= 5, `today's messages counted (shown ${today}, sent at least 5)`);
  assert(Number(await page.locator('#kpi-urgent .kpi-value').innerText()) >= 1, 'the urgent case is counted');
  const row = page.locator('#first-response-table tr[data-queue="unhcr_protection"]');
  const cells = await row.locator('td').allInnerTexts();
  assert(cells[1] === '1' && cells[2] === '1', `one unhcr_protection case opened and answered (row: ${cells.join(' | ')})`);
  assert(/\d/.test(cells[3]) && cells[3] !== '—', `its median time to first response is shown (${cells[3]})`);
  assert(await page.locator('#chart-lang svg rect').count() > 0, 'messages per day are drawn as SVG');
  assert(await page.locator('#chart-urgent svg rect').count() > 0, 'urgent cases per day are drawn as SVG');
  assert(await page.locator('#chart-response svg line.marker').count() > 0, 'the SLA is marked on the first-response chart');
  const csv = await page.getAttribute('#report-csv', 'href');
  const res = await page.request.get(ADMIN + csv);
  assert(res.status() === 200 && (await res.text()).startsWith('section,day,dimension,value'), 'the CSV export link downloads the report');
  await page.screenshot({ path: path.join(shotDir, 'dashboard.png'), fullPage: true });
  await page.setViewportSize({ width: 360, height: 740 });
  await page.screenshot({ path: path.join(shotDir, 'dashboard-360.png'), fullPage: true });
  await page.close();
});

await scenario('admin screens load: users, queues, routing rules, audit log', async () => {
  const page = await newPage();
  await login(page, 'admin1');
  await page.goto(`${ADMIN}/console/#/admin/users`);
  await page.locator('#users-table th', { hasText: 'officer1' }).waitFor();
  await page.goto(`${ADMIN}/console/#/admin/queues`);
  await page.locator('form[data-queue="unhcr_protection"]').waitFor();
  await page.goto(`${ADMIN}/console/#/admin/rules`);
  await page.waitForSelector('#rules-form');
  await page.goto(`${ADMIN}/console/#/admin/audit`);
  await page.locator('#audit-table td', { hasText: 'content_publish' }).first().waitFor();
  await page.screenshot({ path: path.join(shotDir, 'audit.png') });
  assert(await page.locator('.error:not([hidden])').count() === 0, 'no error shown');
  await page.close();
});

await scenario('a day later the officer is offered the follow-up template, with its text, and told why it cannot go yet', async () => {
  const aged = spawnSync('sqlite3', [db, `UPDATE contacts SET last_inbound_at = last_inbound_at - 25 * 3600 * 1000 WHERE external_id = '${URGENT_FROM}'`], { encoding: 'utf8' });
  assert(aged.status === 0, `the contact's last message was moved back a day (${aged.stderr})`);
  const page = await newPage();
  await login(page, 'officer1');
  await page.goto(`${ADMIN}/console/#/cases/${caseId}`);
  await page.locator('#window-state', { hasText: 'Closed' }).waitFor();
  const ps = page.locator('#reply-templates li[data-template="rahnama_case_followup"][data-language="ps"]');
  await ps.waitFor();
  assert((await ps.locator('.template-body').innerText()).includes('راهنما'), 'the Pashto text of the template is shown');
  assert((await ps.innerText()).includes('not approved in WhatsApp Manager yet'), 'why it cannot be sent is said');
  assert(await page.locator('#reply-templates button').count() === 0, 'nothing unapproved can be sent');
  await page.close();
});

await scenario('with four-eyes on, a second operator reads what a publish changes and approves it', async () => {
  const admin = await newPage();
  await login(admin, 'admin1');
  await admin.goto(`${ADMIN}/console/#/content`);
  await admin.locator('#four-eyes-state', { hasText: 'off' }).waitFor();
  await admin.click('#four-eyes-toggle');
  await admin.locator('#four-eyes-state', { hasText: 'on' }).waitFor();
  await admin.close();

  const author = await newPage();
  await login(author, 'operator1');
  await author.waitForSelector('[data-key="answer/en/por_card"]');
  const cell = author.locator('[data-key="answer/en/por_card"]');
  const EN = `PoR cards, reviewed wording (${MARKER}). Call 0300\u202E1234567. Send 0 for the menu.`;
  await cell.getByRole('button', { name: /Edit/ }).click();
  await cell.locator('textarea').fill(EN);
  await cell.getByRole('button', { name: 'Save to draft' }).click();
  await cell.locator('.answer-text', { hasText: MARKER }).waitFor();
  await author.fill('#publish-message', 'English PoR answer reworded');
  await author.press('#publish-message', 'Enter');
  await author.locator('#publish-result', { hasText: 'Sent for approval' }).waitFor();
  const own = author.locator('#requests article[data-request]');
  await own.first().waitFor();
  assert(await own.first().getByRole('button', { name: 'Approve and publish' }).isDisabled(), 'the author cannot approve their own request');
  await author.close();

  const reviewer = await newPage();
  await login(reviewer, 'operator2');
  const req = reviewer.locator('#requests article[data-request]').first();
  await req.waitFor();
  assert((await req.innerText()).includes('English PoR answer reworded'), 'the request shows its message');
  await req.locator('li', { hasText: 'answer/en/por_card' }).waitFor();
  const after = await req.locator('.change-after').first().innerText();
  assert(after.includes(MARKER), 'the new text is shown');
  assert(after.includes('⟨U+202E⟩'), 'a hidden right-to-left override in a phone number is made visible');
  assert((await req.locator('.change-before').first().innerText()).length > 20, 'the text it replaces is shown');
  await req.evaluate((el) => el.scrollIntoView());
  await reviewer.screenshot({ path: path.join(shotDir, 'four-eyes.png') });
  await req.getByRole('button', { name: 'Approve and publish' }).click();
  await reviewer.locator('#no-requests').waitFor();
  await reviewer.locator('#versions-table .row-current', { hasText: 'approved by operator2' }).waitFor();
  await reviewer.close();
});

await scenario('an admin disables an officer, who is logged out; a reset password lets them back in to change it', async () => {
  const officer = await newPage();
  await login(officer, 'officer2');
  await officer.waitForSelector('#case-list');

  const admin = await newPage();
  admin.on('dialog', (d) => d.accept());  // "Disable officer2? …"
  await login(admin, 'admin1');
  await admin.goto(`${ADMIN}/console/#/admin/users`);
  const row = admin.locator('#users-table tr[data-user="officer2"]');
  await row.getByRole('button', { name: 'Disable officer2' }).click();
  await row.locator('.user-state', { hasText: 'disabled' }).waitFor();
  assert(await admin.locator('#users-table tr[data-user="admin1"] button[data-action="disable"]').isDisabled(), 'an admin cannot disable their own account');

  await officer.goto(`${ADMIN}/console/#/dashboard`);
  await officer.reload();
  await officer.waitForSelector('#login-form');  // the session ended with the account

  const TEMP = 'temporary password 4 you';
  await row.getByRole('button', { name: 'Reset the password of officer2' }).click();
  await row.locator('input[type=password]').fill(TEMP);
  await row.getByRole('button', { name: 'Set password' }).click();
  await admin.locator('#flash', { hasText: 'New password set for officer2' }).waitFor();
  await admin.locator('#users-table tr[data-user="officer2"]').getByRole('button', { name: 'Enable officer2' }).click();
  await admin.locator('#users-table tr[data-user="officer2"] .user-state', { hasText: 'active' }).waitFor();
  await admin.screenshot({ path: path.join(shotDir, 'users.png') });
  await admin.close();

  await login(officer, 'officer2', null, TEMP);
  await officer.click('#account-link');
  await officer.fill('#current-password', TEMP);
  await officer.fill('#new-password-own', PASSWORD);
  await officer.fill('#new-password-again', PASSWORD);
  await officer.press('#new-password-again', 'Enter');
  await officer.locator('#flash', { hasText: 'Password changed' }).waitFor();
  await officer.close();
});

await scenario('a message the bot cannot process reaches the officers, marked for them to answer', async () => {
  // The database refuses to mark this one message processed, every time (a poison message).
  const POISON_FROM = '923001119988';
  const made = spawnSync('sqlite3', [db, "CREATE TRIGGER e2e_poison BEFORE UPDATE OF status ON messages WHEN NEW.status = 'processed' " +
    "AND OLD.body LIKE '%e2e-poison%' BEGIN SELECT RAISE(ABORT, 'e2e: cannot be processed'); END;"], { encoding: 'utf8' });
  assert(made.status === 0, `sqlite3 created the trigger (${made.stderr})`);
  const page = await newPage();
  await login(page, 'officer1');
  await page.waitForSelector('#case-list');
  const known = new Set(await page.locator('#case-list [data-case]').evaluateAll((rows) => rows.map((r) => r.dataset.case)));
  await sendWhatsApp(POISON_FROM, 'police arrested my son an hour ago, please help e2e-poison', 'Poison Test');
  await sleep(300);
  await sendWhatsApp('923001119989', 'salam');  // others are answered meanwhile: the fault is this message's
  const fresh = await waitFor('a new urgent case for the set-aside message', async () => {
    const ids = await page.locator('#case-list [data-priority="urgent"]').evaluateAll((rows) => rows.map((r) => r.dataset.case));
    return ids.find((id) => !known.has(id));
  }, 15000);
  await page.goto(`${ADMIN}/console/#/cases/${fresh}`);
  await page.locator('.msg-person', { hasText: 'e2e-poison' }).locator('.msg-status', { hasText: 'the bot could not process this' }).waitFor();
  await page.locator('.note-text', { hasText: 'set it aside' }).waitFor();
  await waitFor('the person given the safety line', () => callsTo(POISON_FROM).find((c) => JSON.stringify(c.body).includes('Your safety comes first')), 8000);
  await page.close();
  poisonCase = fresh;
});

await scenario("a claimed case changes hands only through an admin, who refers and resolves it, and the person is told", async () => {
  assert(poisonCase, 'needs the case of the previous scenario');
  const caseUrl = `${ADMIN}/console/#/cases/${poisonCase}`;
  const officer1 = await newPage();
  await login(officer1, 'officer1');
  await officer1.goto(caseUrl);
  await officer1.click('#claim');
  await officer1.locator('#flash', { hasText: 'Case claimed; the person was told.' }).waitFor();

  const officer2 = await newPage();
  await login(officer2, 'officer2');
  await officer2.goto(caseUrl);
  await officer2.locator('#claimed-by-other').waitFor();
  for (const sel of ['#claim', '#release', '#refer-form', '#assign-form', '#resolve-form'])
    assert(await officer2.locator(sel).count() === 0, `another officer is not offered ${sel} on officer1's claimed case`);
  // The reply box says so too: a reply from officer2 also reaches the person.
  await officer2.locator('#reply-claimed-warning', { hasText: 'officer1 is working on this case' }).waitFor();
  // officer2's session ends while they type: what they typed is kept, and signing in brings them back to it.
  const draft = `Draft kept across sign-in ${crypto.randomBytes(3).toString('hex')}`;
  await officer2.fill('#reply-text', draft);
  await officer2.context().clearCookies();
  await officer2.press('#reply-text', 'Enter');
  await officer2.locator('#login-form .error', { hasText: 'Your session has ended' }).waitFor();
  await login(officer2, 'officer2');
  await officer2.waitForURL(new RegExp(`#/cases/${poisonCase}$`));
  await officer2.locator('#reply-text').waitFor();
  assert(await officer2.inputValue('#reply-text') === draft, 'the unsent reply is back in the reply box');
  assert(!callsTo('923001119988').find((c) => JSON.stringify(c.body).includes(draft)), 'nothing was sent without the officer');
  await officer2.click('#logout');
  await officer2.waitForSelector('#login-form');
  assert(await officer2.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('rahnama.reply.')).length) === 0,
    'logging out leaves no unsent reply in the tab');
  await officer1.close();
  await officer2.close();

  const admin = await newPage();
  await login(admin, 'admin1');
  await admin.goto(caseUrl);
  assert(await admin.locator('#claim').innerText() === 'Take over', 'an admin may take the case over');
  await admin.fill('#refer-queue', 'info_desk');
  await admin.press('#refer-queue', 'Enter');
  await admin.locator('#flash', { hasText: 'Case referred to info_desk; the person was told.' }).waitFor();
  await admin.locator('#referred-from', { hasText: 'info_desk (referred from unhcr_protection' }).waitFor();
  await waitFor('the hand-off to the information desk at the fake Graph API',
    () => callsTo('923001119988').find((c) => JSON.stringify(c.body).includes('information desk')), 8000);
  await admin.fill('#resolve-outcome', 'information given');
  await admin.press('#resolve-outcome', 'Enter');
  await admin.locator('#flash', { hasText: 'Case resolved; the person was told.' }).waitFor();
  await admin.close();
});

await scenario('the person writes again after the officer\'s reply and nobody answers: the case is overdue again, until the officer replies', async () => {
  const FROM = '923001117766';
  await sendWhatsApp(FROM, 'police took my husband from our house an hour ago, please help', 'Waiting Person');
  const page = await newPage();
  await login(page, 'officer1');
  await page.waitForSelector('#case-list');
  await waitFor('the bot to answer the person', () => callsTo(FROM).length > 0, 8000);
  const id = await waitFor('the new urgent case', async () => {
    const rows = page.locator('#case-list [data-priority="urgent"]', { hasText: FROM.slice(-4) });
    return (await rows.count()) > 0 ? rows.first().getAttribute('data-case') : null;
  }, 12000);
  await page.goto(`${ADMIN}/console/#/cases/${id}`);
  await page.fill('#reply-text', 'Which police station is he in?');
  await page.press('#reply-text', 'Enter');
  await page.locator('.msg-officer .msg-text', { hasText: 'Which police station' }).waitFor({ timeout: 8000 });
  await sendWhatsApp(FROM, 'Gulberg police station, they will send him to the border', 'Waiting Person');
  await page.locator('.msg-person .msg-text', { hasText: 'Gulberg' }).waitFor({ timeout: 10000 });
  await page.locator('#person-waiting').waitFor();
  assert(await page.locator('.badge-overdue').count() === 0, 'not overdue the moment the person writes');
  // The officer went off shift: the person's message is older than the queue's SLA.
  const aged = spawnSync('sqlite3', [db, `UPDATE messages SET created_at = created_at - 24 * 3600 * 1000 WHERE contact_id = (SELECT id FROM contacts WHERE external_id = '${FROM}')`], { encoding: 'utf8' });
  assert(aged.status === 0, `the conversation was moved back a day (${aged.stderr})`);
  await page.goto(`${ADMIN}/console/#/queue`);
  const row = page.locator(`#case-list [data-case="${id}"]`);
  await row.locator('.badge-overdue').waitFor({ timeout: 8000 });
  assert(/Person waiting for a reply since/.test(await row.innerText()), 'the queue says the person is waiting');
  await page.goto(`${ADMIN}/console/#/cases/${id}`);
  await page.locator('.badge-overdue', { hasText: 'the person wrote again' }).waitFor({ timeout: 8000 });
  assert(callsTo(FROM).filter((c) => JSON.stringify(c.body).includes('Which police station')).length === 1, 'the officer asked once');
  await page.fill('#reply-text', 'We are calling a lawyer now.');
  await page.press('#reply-text', 'Enter');
  await waitFor('the reply at the fake Graph API', () => callsTo(FROM).find((c) => JSON.stringify(c.body).includes('calling a lawyer')), 10000);
  await waitFor('the overdue badge to go', async () => (await page.locator('.badge-overdue').count()) === 0 && (await page.locator('#person-waiting').count()) === 0, 10000);
  await page.close();
});

await scenario('an officer opens the photo, plays the voice note and sees the location the person sent, inside the case', async () => {
  const FROM = '923001115544';
  await sendWhatsApp(FROM, 'police arrested my son at the checkpoint, please help', 'Media Person');
  await postWhatsApp(FROM, { type: 'image', image: { id: 'E2E-PHOTO-1', mime_type: 'image/png', caption: 'his detention slip' } }, 'Media Person');
  await postWhatsApp(FROM, { type: 'audio', audio: { id: 'E2E-VOICE-1', mime_type: 'audio/ogg; codecs=opus', voice: true } }, 'Media Person');
  await postWhatsApp(FROM, { type: 'location', location: { latitude: 34.0151, longitude: 71.5249, name: 'Central Jail' } }, 'Media Person');
  const page = await newPage();
  await login(page, 'officer1');
  await page.waitForSelector('#case-list');
  const id = await waitFor('the urgent case', async () => {
    const rows = page.locator('#case-list [data-priority="urgent"]', { hasText: FROM.slice(-4) });
    return (await rows.count()) > 0 ? rows.first().getAttribute('data-case') : null;
  }, 12000);
  await page.goto(`${ADMIN}/console/#/cases/${id}`);
  const photo = page.locator('.msg-person', { hasText: 'his detention slip' }).locator('.msg-media');
  await photo.waitFor({ timeout: 10000 });
  assert(await page.locator('.msg-person .msg-media img').count() === 0, 'nothing is downloaded before the officer asks');
  await photo.locator('button', { hasText: 'Open' }).click();
  const img = page.locator('.msg-person .msg-media img.media-preview');
  await img.waitFor({ timeout: 8000 });
  assert((await img.getAttribute('src')).startsWith('blob:'), 'the photo is shown from what the server fetched');
  await waitFor('the photo to load', () => img.evaluate((el) => el.complete && el.naturalWidth === 1), 5000);
  const voice = page.locator('.msg-person .msg-media', { hasText: 'voice note' });
  await voice.locator('button', { hasText: 'Play' }).click();
  const audio = page.locator('.msg-person .msg-media audio');
  await audio.waitFor({ timeout: 8000 });
  assert(await audio.evaluate((el) => el.controls && el.src.startsWith('blob:')), 'the voice note has a player');
  const where = page.locator('.msg-person .msg-location');
  await where.waitFor({ timeout: 8000 });
  assert((await where.innerText()).includes('34.01510, 71.52490'), 'the shared location shows its coordinates');
  assert((await where.locator('a').getAttribute('href')).includes('mlat=34.01510'), 'and a map link');
  await page.close();
});

await scenario('no script errors and no CSP violations on any page', async () => {
  assert(pageProblems.length === 0, pageProblems.join('\n'));
});

// ---- the end ----------------------------------------------------------------------------------
async function shutdown() {
  const t0 = Date.now();
  try { await browser?.close(); } catch { /* already gone */ }
  log(`browser closed in ${Date.now() - t0} ms`);
  if (server && serverExited === null) {
    server.kill('SIGTERM');
    const t0 = Date.now();
    while (serverExited === null && Date.now() - t0 < 5000) await sleep(50);
    if (serverExited === null) { log('the server did not stop within 5 s; killing it'); server.kill('SIGKILL'); }
    else log(`server stopped in ${Date.now() - t0} ms`);
  }
  await new Promise((r) => graph.close(() => r()));
}
await shutdown();
const failed = results.filter((r) => !r.ok);
if (failed.length) {
  console.log(`server log: ${path.join(tmp, 'server.log')}; screenshots: ${shotDir}`);
  try {
    const lines = fs.readFileSync(path.join(tmp, 'server.log'), 'utf8').trim().split('\n');
    console.log(lines.slice(-15).join('\n'));
  } catch { /* no log */ }
} else if (!keep) {
  fs.rmSync(tmp, { recursive: true, force: true });  // kept on failure (and with --keep) to look at
}
log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
