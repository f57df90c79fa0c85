// Operators' content editor: answers side by side in English, Dari and Pashto, facts and
// contacts, the conversation's messages, a preview of draft vs published, publishing, history,
// regression examples, import and export. Everything edits the draft; people see it only once
// it is published.
import { get, post, put, del, api, itemPath, qs, ApiError } from '../api.js';
import { h, replace, field, errorBox, busy, select } from '../dom.js';
import { LANGS, stamp, badge, timeEl } from '../format.js';

/** Saved examples a change would flip: "text" expected X, now Y. */
function regressionList(title, regressions) {
  return h('div', null, h('p', { class: 'small' }, title),
    h('ul', { class: 'problems' }, regressions.map((r) => h('li', { class: 'problem-blocking' },
      h('span', { dir: 'auto' }, `“${r.text}”`), ` expected ${r.expected_intent}${r.expected_urgent ? ' (urgent)' : ''}, now ${r.got_intent}${r.got_urgent ? ' (urgent)' : ''}`))));
}

/** A problem's item ("answer prs/por_card", "menu ps/x title", "fact id") → its item key. */
export function problemKey(item) {
  const [kind, rest = ''] = String(item).split(' ');
  return rest ? `${kind}/${rest}` : kind;
}
const domId = (key) => 'item-' + key.replace(/[^A-Za-z0-9_-]/g, '-');

export async function contentView(root, { flash, user }) {
  const session = { username: user?.username };  // who is looking: one does not approve one's own request
  const st = { items: {}, problems: [], filter: '', onlyProblems: false };

  const problemsBox = h('div', { id: 'problems-summary' });
  const answersBox = h('div', { class: 'intents', id: 'answers' });
  const factsBox = h('div', { id: 'facts' });
  const messagesBox = h('div', { id: 'messages' });
  const versionsBox = h('div', { id: 'versions' });
  const regressionsBox = h('div', { id: 'regressions' });
  const conflictsBox = h('div', { id: 'conflicts' });
  const requestsBox = h('div', { id: 'requests' });
  const fourEyesBox = h('div', { id: 'four-eyes' });

  const search = h('input', { type: 'search', id: 'content-search', placeholder: 'Filter by intent or text', autocomplete: 'off' });
  const onlyProblems = h('input', { type: 'checkbox', id: 'only-problems' });
  search.addEventListener('input', () => { st.filter = search.value.trim().toLowerCase(); renderAnswers(); });
  onlyProblems.addEventListener('change', () => { st.onlyProblems = onlyProblems.checked; renderAnswers(); renderFacts(); });

  const section = (id, title, ...content) => h('section', { class: 'panel', id: `sec-${id}`, 'aria-labelledby': `sec-${id}-h` }, h('h2', { id: `sec-${id}-h` }, title), ...content);
  const jump = (id, label) => h('li', null, h('button', { type: 'button', class: 'btn-link', onclick: () => { const el = document.getElementById(`sec-${id}`); el.scrollIntoView({ behavior: 'smooth' }); el.querySelector('h2').setAttribute('tabindex', '-1'); el.querySelector('h2').focus({ preventScroll: true }); } }, label));

  replace(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Content'),
      h('p', { class: 'muted small' }, 'You edit the draft. People see your changes only after you publish.')),
    h('nav', { class: 'jump', 'aria-label': 'Sections' }, h('ul', null,
      jump('publish', 'Publish'), jump('preview', 'Preview'), jump('answers', 'Answers'), jump('facts', 'Facts and contacts'),
      jump('messages', 'Messages and menu'), jump('history', 'History'), jump('regressions', 'Regression examples'), jump('io', 'Import / export'))),
    h('div', { class: 'two-col' }, publishPanel(), previewPanel()),
    conflictsBox,
    section('answers', 'Answers', h('div', { class: 'filters' }, field('Filter', search),
      h('label', { class: 'check' }, onlyProblems, ' Only items with problems')), answersBox),
    section('facts', 'Facts and contacts', factsBox),
    section('messages', 'Messages and menu', messagesBox),
    section('history', 'Version history', versionsBox),
    section('regressions', 'Regression examples', h('p', { class: 'muted small' }, 'Saved messages that must keep their intent (and urgency). Publishing refuses a draft that changes them unless you override.'), regressionsBox),
    section('io', 'Import / export', ioPanel()));

  await Promise.all([loadItems(), loadProblems()]);
  renderAll();
  loadVersions();
  loadRequests();
  loadFourEyes();
  loadRegressions();
  loadConflicts();

  async function loadItems() { st.items = await get('/api/v1/content/items' + qs({ prefix: '' })); }
  async function loadProblems() { st.problems = await get('/api/v1/content/problems'); }
  function problemsFor(key) { return st.problems.filter((p) => problemKey(p.item) === key); }
  function keys(prefix) { return Object.keys(st.items).filter((k) => k.startsWith(prefix)).sort(); }

  function renderAll() { renderProblems(); renderAnswers(); renderFacts(); renderMessages(); }

  function renderProblems() {
    const blocking = st.problems.filter((p) => p.blocking);
    const other = st.problems.filter((p) => !p.blocking);
    const row = (p) => h('li', { class: p.blocking ? 'problem-blocking' : 'problem-warning' },
      h('button', { type: 'button', class: 'btn-link', onclick: () => focusItem(problemKey(p.item)) }, p.item), ': ', p.message);
    replace(problemsBox,
      h('p', null, blocking.length ? h('strong', { class: 'error-text' }, `${blocking.length} blocking`) : h('span', { class: 'ok-text' }, 'Nothing blocks publishing.'),
        ' · ', h('span', { class: other.length ? 'warn-text' : null }, `${other.length} warnings (placeholder contacts, expired facts, …)`)),
      st.problems.length ? h('details', { open: blocking.length > 0 }, h('summary', null, 'Show all problems'), h('ul', { class: 'problem-list' }, [...blocking, ...other].map(row))) : null);
  }

  function focusItem(key) {
    let el = document.getElementById(domId(key));
    if (!el) {
      // The item may be hidden by the filter.
      search.value = ''; st.filter = ''; onlyProblems.checked = false; st.onlyProblems = false;
      renderAnswers(); renderFacts();
      el = document.getElementById(domId(key));
    }
    if (!el) { flash(`${key} is not shown on this page.`, 'error'); return; }
    el.closest('details')?.setAttribute('open', '');
    el.scrollIntoView({ behavior: 'smooth', block: 'center' });
    el.setAttribute('tabindex', '-1');
    el.focus({ preventScroll: true });
  }

  // ---- answers -------------------------------------------------------------------------------
  function renderAnswers() {
    const intents = keys('intent/').map((k) => st.items[k]).filter((x) => x && x.id !== 'unknown')
      .sort((a, b) => (a.menu ?? 99) - (b.menu ?? 99) || a.id.localeCompare(b.id));
    const shown = intents.filter((it) => {
      const answerKeys = LANGS.map((l) => `answer/${l.code}/${it.id}`);
      if (st.onlyProblems && !answerKeys.some((k) => problemsFor(k).length || !st.items[k])) return false;
      if (!st.filter) return true;
      return it.id.toLowerCase().includes(st.filter) || answerKeys.some((k) => String(st.items[k]?.text || '').toLowerCase().includes(st.filter));
    });
    replace(answersBox,
      h('div', { class: 'trio trio-head', 'aria-hidden': 'true' }, LANGS.map((l) => h('span', { dir: 'auto' }, l.code === 'en' ? 'en' : l.native, ' ', h('span', { class: 'muted' }, `(${l.name})`)))),
      shown.map((it) => h('article', { class: 'intent', id: domId(`intent/${it.id}`), dataset: { intent: it.id } },
        h('header', { class: 'intent-head' },
          h('h3', null, it.id), it.urgent ? badge('urgent', 'urgent') : null,
          it.queue ? badge(`→ ${it.queue}`, 'queue') : null, it.menu ? badge(`menu ${it.menu}`, 'muted') : null,
          it.description ? h('p', { class: 'muted small intent-desc' }, it.description) : null),
        h('div', { class: 'trio' }, LANGS.map((l) => answerCell(it.id, l))))));
    if (!shown.length) answersBox.append(h('p', { class: 'muted' }, 'No intent matches.'));
  }

  function answerCell(intent, lang) {
    const key = `answer/${lang.code}/${intent}`;
    const cell = h('div', { class: 'cell', id: domId(key), dataset: { key, lang: lang.code } });
    const show = () => {
      const a = st.items[key];
      const probs = problemsFor(key);
      cell.className = ['cell', !a && 'cell-missing', probs.some((p) => p.blocking) && 'cell-blocking', probs.length && !probs.some((p) => p.blocking) && 'cell-warning'].filter(Boolean).join(' ');
      const text = a ? (typeof a === 'string' ? a : a.text) : '';
      replace(cell,
        h('p', { class: 'cell-lang small muted' }, lang.code === 'en' ? 'English' : `${lang.native} · ${lang.name}`),
        a ? h('p', { class: 'answer-text', dir: 'auto', lang: lang.code === 'prs' ? 'fa-AF' : lang.code }, text)
          : h('p', { class: 'missing-text' }, 'Missing translation'),
        a && typeof a === 'object' ? h('p', { class: 'small muted' }, a.checked_on ? `checked ${a.checked_on}` : 'never checked',
          a.sources?.length ? ` · sources: ${a.sources.join(', ')}` : '') : null,
        problemList(probs),
        h('button', { type: 'button', class: 'btn btn-small', onclick: edit, 'aria-label': `${a ? 'Edit' : 'Add'} ${lang.name} answer for ${intent}` }, a ? 'Edit' : 'Add translation'));
    };
    const edit = () => {
      const a = st.items[key];
      const obj = a && typeof a === 'object' ? a : { text: a || '' };
      const ta = h('textarea', { name: 'text', rows: '8', dir: 'auto', lang: lang.code === 'prs' ? 'fa-AF' : lang.code, required: true, value: obj.text || '' });
      const checked = h('input', { type: 'date', name: 'checked_on', value: obj.checked_on || new Date().toISOString().slice(0, 10) });
      const sources = h('input', { name: 'sources', value: (obj.sources || []).join(', '), placeholder: 'source ids, comma separated', autocomplete: 'off' });
      const err = errorBox();
      const form = h('form', { class: 'stack edit-form' },
        h('label', { class: 'field' }, h('span', { class: 'field-label' }, `${lang.name} answer for ${intent}`), ta),
        h('div', { class: 'row wrap' }, field('Checked on', checked), field('Sources', sources)),
        err,
        h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save to draft'),
          h('button', { type: 'button', class: 'btn', onclick: show }, 'Cancel'),
          a ? h('button', { type: 'button', class: 'btn btn-danger-quiet', onclick: remove }, 'Delete') : null));
      ta.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); } if (e.key === 'Escape') show(); });
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const value = { ...obj, text: ta.value, checked_on: checked.value || null, sources: sources.value.split(',').map((x) => x.trim()).filter(Boolean) };
        await busy(form, () => saveItem(key, value, err, () => { show(); cell.querySelector('button')?.focus(); }));
      });
      async function remove() {
        await busy(form, () => removeItem(key, err, show));
      }
      replace(cell, form);
      ta.focus();
    };
    show();
    return cell;
  }

  async function saveItem(key, value, err, done) {
    err.show('');
    try {
      await put(itemPath(key), { value });
      st.items[key] = value;
      await loadProblems();
      renderProblems();
      flash(`Saved ${key} to the draft.`);
      done();
    } catch (ex) {
      const probs = ex instanceof ApiError && Array.isArray(ex.body.problems) ? ex.body.problems : [];
      err.show(ex.message);
      if (probs.length > 1) err.append(h('ul', null, probs.map((p) => h('li', null, `${p.item}: ${p.message}`))));
    }
  }
  async function removeItem(key, err, done) {
    err.show('');
    try {
      await del(itemPath(key));
      delete st.items[key];
      await loadProblems();
      renderProblems();
      flash(`Deleted ${key} from the draft.`);
      done();
    } catch (ex) { err.show(ex.message); }
  }

  function problemList(probs) {
    if (!probs.length) return null;
    return h('ul', { class: 'problems' }, probs.map((p) => h('li', { class: p.blocking ? 'problem-blocking' : 'problem-warning' }, p.message)));
  }

  // ---- facts ---------------------------------------------------------------------------------
  function renderFacts() {
    const facts = keys('fact/').map((k) => st.items[k]).filter(Boolean);
    const today = new Date().toISOString().slice(0, 10);
    const flagged = (f) => f.placeholder || (f.valid_until && f.valid_until < today) || problemsFor(`fact/${f.id}`).length;
    const list = facts.filter((f) => !st.onlyProblems || flagged(f))
      .sort((a, b) => Number(Boolean(flagged(b))) - Number(Boolean(flagged(a))) || a.id.localeCompare(b.id));
    const placeholders = facts.filter((f) => f.placeholder).length;
    const expired = facts.filter((f) => f.valid_until && f.valid_until < today).length;
    replace(factsBox,
      h('p', { class: 'small' }, `${facts.length} facts · `, h('span', { class: placeholders ? 'warn-text' : null }, `${placeholders} placeholder contacts`), ' · ',
        h('span', { class: expired ? 'warn-text' : null }, `${expired} expired`), '. Never invent a number: leave a placeholder until a source confirms it.'),
      h('ul', { class: 'facts' }, list.map((f) => factRow(f, today))));
  }

  function factRow(f, today) {
    const key = `fact/${f.id}`;
    const li = h('li', { class: 'fact', id: domId(key), dataset: { fact: f.id } });
    const show = () => {
      const cur = st.items[key] || f;
      const expired = cur.valid_until && cur.valid_until < today;
      li.className = ['fact', cur.placeholder && 'fact-placeholder', expired && 'fact-expired'].filter(Boolean).join(' ');
      const value = cur.value && typeof cur.value === 'object'
        ? h('span', null, LANGS.map((l) => cur.value[l.code] !== undefined ? h('span', { class: 'fact-lang', dir: 'auto' }, h('span', { class: 'muted' }, `${l.code}: `), String(cur.value[l.code])) : null))
        : h('span', { class: 'fact-value', dir: 'auto' }, String(cur.value ?? ''));
      replace(li,
        h('div', { class: 'fact-main' },
          h('span', { class: 'fact-id mono' }, cur.id), ' ', badge(cur.kind || 'fact', 'muted'),
          cur.placeholder ? badge('placeholder: fill in', 'warning') : null, expired ? badge(`expired ${cur.valid_until}`, 'warning') : null),
        h('div', null, value),
        h('p', { class: 'small muted' }, `source: ${cur.source || '—'} · checked ${cur.checked_on || 'never'}`,
          cur.valid_until ? ` · valid until ${cur.valid_until}` : '', cur.note ? ` · ${cur.note}` : ''),
        problemList(problemsFor(key)),
        h('button', { type: 'button', class: 'btn btn-small', onclick: edit, 'aria-label': `Edit fact ${cur.id}` }, 'Edit'));
    };
    const edit = () => {
      const cur = st.items[key] || f;
      const multi = cur.value && typeof cur.value === 'object';
      const inputs = multi ? Object.fromEntries(LANGS.map((l) => [l.code, h('input', { name: `value_${l.code}`, dir: 'auto', value: cur.value[l.code] ?? '' })]))
        : { '': h('input', { name: 'value', dir: 'auto', value: cur.value ?? '' }) };
      const source = h('input', { name: 'source', value: cur.source || '' });
      const checked = h('input', { type: 'date', name: 'checked_on', value: cur.checked_on || '' });
      const until = h('input', { type: 'date', name: 'valid_until', value: cur.valid_until || '' });
      const placeholder = h('input', { type: 'checkbox', name: 'placeholder', checked: Boolean(cur.placeholder) });
      const note = h('input', { name: 'note', value: cur.note || '' });
      const err = errorBox();
      const form = h('form', { class: 'stack edit-form' },
        multi ? LANGS.map((l) => field(`Value (${l.name})`, inputs[l.code])) : field('Value', inputs['']),
        h('div', { class: 'row wrap' }, field('Source id', source), field('Checked on', checked), field('Valid until', until)),
        field('Note for operators', note),
        h('label', { class: 'check' }, placeholder, ' Still a placeholder (not confirmed by a source)'),
        err,
        h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save to draft'), h('button', { type: 'button', class: 'btn', onclick: show }, 'Cancel')));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const value = multi ? Object.fromEntries(LANGS.map((l) => [l.code, inputs[l.code].value])) : inputs[''].value;
        const updated = { ...cur, value, source: source.value || null, checked_on: checked.value || null, valid_until: until.value || null, placeholder: placeholder.checked, note: note.value };
        await busy(form, () => saveItem(key, updated, err, show));
      });
      replace(li, form);
      form.querySelector('input').focus();
    };
    show();
    return li;
  }

  // ---- messages and menu ----------------------------------------------------------------------
  function renderMessages() {
    const names = [...new Set(keys('message/').map((k) => k.split('/')[2]))].sort();
    const menus = [...new Set(keys('menu/').map((k) => k.split('/')[2]))].sort();
    const group = (title, list, prefix, kind) => h('details', { class: 'msg-group' }, h('summary', null, `${title} (${list.length})`),
      list.map((name) => h('div', { class: 'msg-item' }, h('h3', { class: 'mono small' }, name),
        h('div', { class: 'trio' }, LANGS.map((l) => textCell(`${prefix}/${l.code}/${name}`, l, kind))))));
    replace(messagesBox, h('p', { class: 'muted small' }, 'What the bot says around the answers: welcome, menu, hand-off, intake questions. Menu titles are at most 24 characters, descriptions 72.'),
      group('Messages', names, 'message', 'string'), group('Menu entries', menus, 'menu', 'menu'));
  }

  function textCell(key, lang, kind) {
    const cell = h('div', { class: 'cell', id: domId(key) });
    const show = () => {
      const v = st.items[key];
      const probs = problemsFor(key);
      cell.className = ['cell', v === undefined && 'cell-missing', probs.some((p) => p.blocking) && 'cell-blocking', probs.length && !probs.some((p) => p.blocking) && 'cell-warning'].filter(Boolean).join(' ');
      replace(cell,
        v === undefined ? h('p', { class: 'missing-text' }, 'Missing') :
          kind === 'menu' ? [h('p', { dir: 'auto', class: 'strong' }, v.title || ''), h('p', { dir: 'auto', class: 'small' }, v.description || '')]
            : h('p', { class: 'answer-text', dir: 'auto' }, typeof v === 'string' ? v : JSON.stringify(v)),
        problemList(probs),
        h('button', { type: 'button', class: 'btn btn-small', onclick: edit, 'aria-label': `Edit ${key}` }, v === undefined ? 'Add' : 'Edit'));
    };
    const edit = () => {
      const v = st.items[key];
      const err = errorBox();
      let controls, read;
      if (kind === 'menu') {
        const t = h('input', { name: 'title', dir: 'auto', maxlength: '24', value: v?.title || '' });
        const d = h('input', { name: 'description', dir: 'auto', maxlength: '72', value: v?.description || '' });
        controls = [field('Title', t), field('Description', d)];
        read = () => ({ ...(v || {}), title: t.value, description: d.value });
      } else {
        const ta = h('textarea', { rows: '5', dir: 'auto', value: typeof v === 'string' ? v : '' });
        controls = [h('label', { class: 'field' }, h('span', { class: 'field-label' }, key), ta)];
        read = () => ta.value;
      }
      const form = h('form', { class: 'stack edit-form' }, controls, err,
        h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save to draft'), h('button', { type: 'button', class: 'btn', onclick: show }, 'Cancel')));
      form.addEventListener('submit', async (e) => { e.preventDefault(); await busy(form, () => saveItem(key, read(), err, show)); });
      replace(cell, form);
      form.querySelector('input, textarea').focus();
    };
    show();
    return cell;
  }

  // ---- preview -------------------------------------------------------------------------------
  function previewPanel() {
    const text = h('textarea', { name: 'text', rows: '3', dir: 'auto', required: true, id: 'preview-text', placeholder: 'Type a message as a person would…' });
    const lang = select({ name: 'language', id: 'preview-language' }, [['', 'Detect'], ...LANGS.map((l) => [l.code, `${l.name} (${l.native})`])], '');
    const out = h('div', { id: 'preview-result', 'aria-live': 'polite' });
    const err = errorBox();
    const form = h('form', { class: 'stack', id: 'preview-form' },
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'Message'), text),
      h('div', { class: 'row wrap' }, field('Chosen language', lang), h('button', { type: 'submit', class: 'btn btn-primary' }, 'Preview')), err, out);
    text.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); } });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.show('');
      await busy(form, async () => {
        try {
          const r = await post('/api/v1/content/preview', { text: text.value, ...(lang.value ? { language: lang.value } : {}) });
          renderPreview(out, r);
        } catch (ex) { err.show(ex.message); replace(out); }
      });
    });
    return h('section', { class: 'panel', id: 'sec-preview', 'aria-labelledby': 'sec-preview-h' }, h('h2', { id: 'sec-preview-h' }, 'Preview: draft vs published'), form);
  }

  function renderPreview(out, r) {
    const sig = (d) => JSON.stringify([d.intent, d.urgent, d.queue, d.replies, d.opens_case]);
    const differ = sig(r.draft) !== sig(r.published);
    const col = (title, d, cls) => h('div', { class: ['preview-col', cls] },
      h('h3', null, title, d.version ? h('span', { class: 'muted small' }, ` v${d.version}`) : null),
      h('dl', { class: 'meta' },
        h('dt', null, 'Intent'), h('dd', { class: 'preview-intent' }, d.intent || '—'),
        h('dt', null, 'Language'), h('dd', null, `${d.language || '—'} → replies in ${d.reply_language || '—'}`),
        h('dt', null, 'Urgent'), h('dd', { class: d.urgent ? 'error-text' : null }, d.urgent ? 'yes' : 'no'),
        h('dt', null, 'Queue'), h('dd', null, d.queue || d.opens_case || '—'),
        h('dt', null, 'Score'), h('dd', null, String(d.score ?? '—'))),
      h('ul', { class: 'preview-replies' }, (d.replies || []).map((t) => h('li', { class: 'preview-reply', dir: 'auto' }, t))),
      explanation(d.explanation));
    replace(out,
      h('p', { id: 'preview-diff', class: differ ? 'diff-yes' : 'diff-no', dataset: { differ: String(differ) } },
        differ ? 'The draft answers differently from what is published.' : 'Draft and published answer the same.'),
      h('div', { class: 'preview-cols' }, col('Draft', r.draft, 'preview-draft'), col('Published', r.published, 'preview-published')));
  }

  function explanation(ex) {
    if (!ex) return null;
    const rules = ex.rules_fired || [];
    const scores = ex.language_scores && typeof ex.language_scores === 'object'
      ? Object.entries(ex.language_scores).map(([k, v]) => `${k} ${typeof v === 'number' ? Math.round(v * 100) / 100 : JSON.stringify(v)}`).join(' · ') : '';
    return h('details', { class: 'explain' }, h('summary', null, `Why (${rules.length} rules fired)`),
      ex.clean ? h('p', { class: 'small', dir: 'auto' }, 'Normalised: ', ex.clean) : null,
      scores ? h('p', { class: 'small' }, 'Language scores: ', scores) : null,
      rules.length ? h('ul', { class: 'small' }, rules.map((rf) => h('li', null, h('span', { class: 'mono' }, rf.rule), ` → ${rf.intent} (${rf.language}, ${rf.score}) matched `,
        h('span', { dir: 'auto' }, Array.isArray(rf.matched) ? rf.matched.join(', ') : String(rf.matched ?? ''))))) : h('p', { class: 'small muted' }, 'No rule fired.'));
  }

  // ---- publish -------------------------------------------------------------------------------
  function publishPanel() {
    const message = h('input', { name: 'message', required: true, id: 'publish-message', placeholder: 'What changed and why', autocomplete: 'off' });
    const override = h('input', { type: 'checkbox', name: 'override', id: 'publish-override' });
    const overrideRow = h('label', { class: 'check', hidden: true }, override, ' Publish anyway: I checked these examples and the change is intended');
    const err = errorBox();
    const details = h('div', { id: 'publish-details' });
    const form = h('form', { class: 'stack', id: 'publish-form' },
      field('Publish message', message), overrideRow,
      h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn btn-primary', id: 'publish-button' }, 'Publish draft')), err, details);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.show('');
      replace(details);
      await busy(form, async () => {
        try {
          const { status, data } = await api('POST', '/api/v1/content/publish', { message: message.value, ...(override.checked ? { override_regressions: true } : {}) });
          message.value = '';
          override.checked = false;
          overrideRow.hidden = true;
          if (status === 202) {
            replace(details, h('p', { class: 'ok-text', id: 'publish-result' }, `Sent for approval as request ${data.request_id}. A second operator must approve it.`));
            loadRequests();
          } else {
            replace(details, h('p', { class: 'ok-text', id: 'publish-result' }, `Published version ${data.version}. New messages use it now.`));
            flash(`Published version ${data.version}.`);
          }
          loadVersions();
        } catch (ex) {
          err.show(ex.message);
          const b = ex instanceof ApiError ? ex.body : {};
          if (Array.isArray(b.problems) && b.problems.length) {
            details.append(h('ul', { class: 'problems' }, b.problems.map((p) => h('li', { class: 'problem-blocking' },
              h('button', { type: 'button', class: 'btn-link', onclick: () => focusItem(problemKey(p.item)) }, p.item), `: ${p.message}`))));
          }
          if (ex.status === 409 && Array.isArray(b.regressions) && b.regressions.length) {
            details.append(regressionList('These saved examples would change:', b.regressions));
            overrideRow.hidden = false;
          }
        }
      });
    });

    return h('section', { class: 'panel', id: 'sec-publish', 'aria-labelledby': 'sec-publish-h' }, h('h2', { id: 'sec-publish-h' }, 'Publish'),
      h('p', { class: 'small muted' }, 'Publishing checks the draft for blocking problems and against the regression examples.'),
      h('div', { id: 'sec-problems' }, problemsBox),
      form, fourEyesBox, h('h3', null, 'Waiting for a second operator'), requestsBox);
  }

  // Whether publishing needs a second operator; admins switch it.
  async function loadFourEyes() {
    try {
      const { four_eyes: on } = await get('/api/v1/content/settings');
      const text = h('span', { id: 'four-eyes-state' }, on ? 'Four-eyes is on: every publish and restore waits for a second operator.'
        : 'Four-eyes is off: a publish goes live at once.');
      const err = errorBox();
      const toggle = user?.role === 'admin' ? h('button', { type: 'button', class: 'btn btn-small', id: 'four-eyes-toggle', onclick: async () => {
        try { await put('/api/v1/content/settings', { four_eyes: !on }); loadFourEyes(); } catch (ex) { err.show(ex.message); }
      } }, on ? 'Turn off' : 'Turn on') : null;
      replace(fourEyesBox, h('p', { class: 'small' }, text, ' ', toggle), err);
    } catch (e) { replace(fourEyesBox, h('p', { class: 'error' }, e.message)); }
  }

  // ---- four-eyes requests ----------------------------------------------------------------------
  // Each pending request with every item it would change, so the second operator approves what
  // they have read, not a number.
  async function loadRequests() {
    // Everything the value holds (an example's intent and urgency, an answer's sources), with
    // invisible direction marks made visible (not the ZWNJ Persian words need): two texts that look alike must not hide
    // a changed digit or a reversed phone number.
    // Invisible formatting characters are shown as ⟨U+…⟩, except the three the shipped Dari and
    // Pashto use on purpose (ZWNJ inside words, the left-to-right isolate around numbers); so are
    // Cyrillic and Greek letters, which have no place in English, Dari or Pashto (an "о" that is
    // not an "o" in a link).
    const keep = new Set([0x200C, 0x2066, 0x2069]);
    const visible = (t) => String(t).replace(/[\p{Cf}\u0370-\u03FF\u0400-\u04FF]/gu, (ch) => (keep.has(ch.codePointAt(0)) ? ch
      : `⟨U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`));
    // A string is shown as it reads, unless the other side is not a string: then both as the server
    // wrote them ("0.5" against 0.5; the browser's JSON parser would also print 10.0 as 10).
    const show = (text, v, other) => {
      if (text === null || text === undefined) return v === null || v === undefined ? '—' : visible(JSON.stringify(v, null, 1));
      const plain = typeof v === 'string' && (other === null || other === undefined || typeof other === 'string');
      return visible(plain ? v : text);
    };
    try {
      const requests = await get('/api/v1/content/publish-requests');
      if (!requests.length) { replace(requestsBox, h('p', { class: 'muted small', id: 'no-requests' }, 'No publish request is waiting.')); return; }
      replace(requestsBox, requests.map((r) => {
        const err = errorBox();
        const reason = h('input', { name: 'reason', required: true, placeholder: 'why not (the author sees it)', 'aria-label': `Reason to reject request ${r.id}`, autocomplete: 'off' });
        const details = h('div');
        const decide = async (path, body, done) => {
          err.show('');
          try {
            await post(`/api/v1/content/publish-requests/${r.id}/${path}`, body);
            flash(done);
            loadRequests();
            loadVersions();
          } catch (ex) {
            err.show(ex.message);
            const b = ex instanceof ApiError ? ex.body : {};
            if (ex.status === 409 && Array.isArray(b.regressions) && b.regressions.length) {
              replace(details, regressionList('These saved examples would change:', b.regressions),
                h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', onclick: () => decide('approve', { confirm_override: true }, `Request ${r.id} approved and published (examples overridden).`) },
                  'Approve anyway: I checked these examples'));
            }
          }
        };
        const mine = r.author === session.username;
        const rejectForm = h('form', { class: 'inline-form' }, reason, h('button', { type: 'submit', class: 'btn btn-small btn-danger-quiet' }, mine ? 'Withdraw' : 'Reject'));
        rejectForm.addEventListener('submit', (e) => { e.preventDefault(); decide('reject', { reason: reason.value }, `Request ${r.id} ${mine ? 'withdrawn' : 'rejected'}.`); });
        const approve = h('button', { type: 'button', class: 'btn btn-primary btn-small', disabled: mine || r.stale || !r.reviewable,
          onclick: () => decide('approve', {}, `Request ${r.id} approved and published.`) }, 'Approve and publish');
        const overrides = Array.isArray(r.overrides) ? r.overrides : [];
        return h('article', { class: 'request', dataset: { request: String(r.id) } },
          h('p', null, h('strong', null, `#${r.id} `), r.kind === 'restore' ? badge('restore', 'closed') : null, ' ', h('span', { dir: 'auto' }, r.message), ' ',
            h('span', { class: 'small muted' }, `by ${r.author} · `, timeEl(r.created_at)), ' ',
            r.stale ? badge('out of date: another version was published since', 'warning') : null,
            r.reviewable ? null : badge('a change is too large to show: cannot be approved here', 'warning')),
          overrides.length ? regressionList(`Its author published over ${overrides.length} saved example(s) that change:`, overrides) : null,
          h('ul', { class: 'changes small' }, (r.changes || []).map((c) => h('li', { class: `change-${c.change}` },
            h('code', null, visible(c.item)), ` ${c.change}`,
            c.too_large_to_show ? h('span', { class: 'muted' }, ' (too large to show here)')
              : c.change === 'reordered' ? h('span', { class: 'muted' }, ' (the same entries in another order)')
              : c.entries !== undefined ? h('span', null, ` (all ${c.entries} entries)`)
              : c.change === 'added' ? h('div', { dir: 'auto', class: 'change-after' }, show(c.after_text, c.after))
              : c.change === 'removed' ? h('div', { dir: 'auto', class: 'change-before' }, show(c.before_text, c.before))
              : [h('div', { dir: 'auto', class: 'change-before' }, show(c.before_text, c.before, c.after)),
                h('div', { dir: 'auto', class: 'change-after' }, show(c.after_text, c.after, c.before))]))),
          (r.changes || []).length ? null : h('p', { class: 'small muted' }, 'It changes nothing against the live content.'),
          h('div', { class: 'row wrap' }, approve, rejectForm), details, err);
      }));
    } catch (e) { replace(requestsBox, h('p', { class: 'error' }, e.message)); }
  }

  // ---- versions ------------------------------------------------------------------------------
  async function loadVersions() {
    try {
      const versions = await get('/api/v1/content/versions');
      replace(versionsBox, h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'versions-table' },
        h('thead', null, h('tr', null, ['Version', 'When', 'Who', 'Message', ''].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', null, versions.map((v) => {
          const cell = h('td', null);
          if (v.current) cell.append(badge('live', 'ok'));
          else {
            const btn = h('button', { type: 'button', class: 'btn btn-small' }, 'Restore…');
            btn.addEventListener('click', () => {
              const msg = h('input', { name: 'message', required: true, value: `restore version ${v.version}`, 'aria-label': 'Why restore' });
              const err = errorBox();
              const f = h('form', { class: 'inline-form' }, msg, h('button', { type: 'submit', class: 'btn btn-primary btn-small' }, `Publish v${v.version} again`),
                h('button', { type: 'button', class: 'btn btn-small', onclick: () => replace(cell, btn) }, 'Cancel'), err);
              f.addEventListener('submit', async (e) => {
                e.preventDefault();
                await busy(f, async () => {
                  try {
                    const { status, data: r } = await api('POST', `/api/v1/content/versions/${v.version}/restore`, { message: msg.value });
                    flash(status === 202 ? `Version ${v.version} is the draft again; request ${r.request_id} waits for a second operator.`
                      : `Restored version ${v.version} as version ${r.version}; the draft is reset to it.`);
                    loadRequests();
                    await Promise.all([loadItems(), loadProblems()]);
                    renderAll();
                    loadVersions();
                  } catch (ex) { err.show(ex.message); }
                });
              });
              replace(cell, f);
              msg.focus();
            });
            cell.append(btn);
          }
          return h('tr', { class: v.current ? 'row-current' : null }, h('th', { scope: 'row' }, String(v.version)), h('td', null, timeEl(v.at)),
            h('td', null, v.author), h('td', { dir: 'auto' }, v.message), cell);
        })))));
    } catch (e) { replace(versionsBox, h('p', { class: 'error' }, e.message)); }
  }

  // ---- regressions ---------------------------------------------------------------------------
  async function loadRegressions() {
    try {
      const list = await get('/api/v1/content/regressions');
      const intents = keys('intent/').map((k) => k.slice(7));
      const text = h('input', { name: 'text', required: true, dir: 'auto', placeholder: 'A message people send', autocomplete: 'off' });
      const intent = select({ name: 'intent', required: true }, intents, '');
      const urgent = h('input', { type: 'checkbox', name: 'urgent' });
      const err = errorBox();
      const form = h('form', { class: 'inline-form', id: 'regression-form' }, field('Example message', text), field('Must stay intent', intent),
        h('label', { class: 'check' }, urgent, ' urgent'), h('button', { type: 'submit', class: 'btn' }, 'Add example'), err);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        await busy(form, async () => {
          try {
            await post('/api/v1/content/regressions', { text: text.value, intent: intent.value, urgent: urgent.checked });
            flash('Example saved.');
            loadRegressions();
          } catch (ex) { err.show(ex.message); }
        });
      });
      replace(regressionsBox,
        list.length ? h('ul', { class: 'regressions' }, list.map((r) => h('li', null,
          h('span', { dir: 'auto', class: 'reg-text' }, r.text), ' → ', h('strong', null, r.intent), r.urgent ? [' ', badge('urgent', 'urgent')] : null,
          h('span', { class: 'muted small' }, ` by ${r.by}`), ' ',
          h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', 'aria-label': `Delete example ${r.id}`, onclick: async () => {
            try { await del(`/api/v1/content/regressions/${r.id}`); flash('Example deleted.'); loadRegressions(); } catch (ex) { flash(ex.message, 'error'); }
          } }, 'Delete')))) : h('p', { class: 'muted' }, 'No examples saved yet.'),
        form);
    } catch (e) { replace(regressionsBox, h('p', { class: 'error' }, e.message)); }
  }

  async function loadConflicts() {
    try {
      const list = await get('/api/v1/content/conflicts');
      if (!list.length) { replace(conflictsBox); return; }
      const js = (v) => (v === null || v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v, null, 1));
      replace(conflictsBox, h('section', { class: 'panel panel-warning', id: 'sec-conflicts' },
        h('h2', null, `Release conflicts (${list.length})`),
        h('p', { class: 'small' }, 'A new release changed items you had edited here. Your version was kept; compare and edit if needed.'),
        h('ul', { class: 'plain' }, list.map((c) => h('li', { class: 'conflict' },
          h('button', { type: 'button', class: 'btn-link mono', onclick: () => focusItem(c.key) }, c.key),
          c.error ? h('p', { class: 'error-text' }, c.error) : h('div', { class: 'trio' },
            h('div', null, h('p', { class: 'small muted' }, 'Release before'), h('pre', { dir: 'auto' }, js(c.shipped_before))),
            h('div', null, h('p', { class: 'small muted' }, 'Release now'), h('pre', { dir: 'auto' }, js(c.shipped_now))),
            h('div', null, h('p', { class: 'small muted' }, 'Yours (kept)'), h('pre', { dir: 'auto' }, js(c.current)))))))));
    } catch { replace(conflictsBox); }
  }

  // ---- import / export -----------------------------------------------------------------------
  function ioPanel() {
    const file = h('input', { type: 'file', name: 'file', accept: '.json,.csv,application/json,text/csv', required: true, id: 'import-file' });
    const format = select({ name: 'format', id: 'import-format' }, [['csv', 'CSV (key,en,prs,ps)'], ['json', 'JSON (whole document)']], 'csv');
    const err = errorBox();
    const out = h('div');
    const form = h('form', { class: 'inline-form', id: 'import-form' }, field('File', file), field('Format', format),
      h('button', { type: 'submit', class: 'btn' }, 'Import into draft'), err, out);
    file.addEventListener('change', () => { if (/\.json$/i.test(file.files[0]?.name || '')) format.value = 'json'; });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.show('');
      const f = file.files[0];
      if (!f) return;
      await busy(form, async () => {
        try {
          const body = await f.text();
          const { data } = await api('POST', '/api/v1/content/import' + qs({ format: format.value }), body,
            { raw: true, contentType: format.value === 'csv' ? 'text/csv' : 'application/json' });
          const blocking = (data.problems || []).filter((p) => p.blocking).length;
          replace(out, h('p', { class: blocking ? 'warn-text' : 'ok-text' }, `${data.status}. ${blocking} blocking problems, ${(data.problems || []).length - blocking} warnings.`));
          await Promise.all([loadItems(), loadProblems()]);
          renderAll();
        } catch (ex) { err.show(ex.message); }
      });
    });
    return [h('p', null, 'Export the draft for translators: ',
      h('a', { href: '/api/v1/content/export?format=csv', download: 'rahnama-content.csv', class: 'btn btn-small' }, 'CSV'), ' ',
      h('a', { href: '/api/v1/content/export?format=json', download: 'rahnama-content.json', class: 'btn btn-small' }, 'JSON')),
    form];
  }
}
