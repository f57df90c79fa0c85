// One case: the conversation (chat-style, each message's direction from its own text), intake,
// entities, notes, and the officer's actions.
import { get, post, qs, ApiError } from '../api.js';
import { h, replace, field, errorBox, busy, enterSubmits } from '../dom.js';
import { since, stamp, priorityBadge, windowBadge, badge, langName, timeEl, duration } from '../format.js';

const POLL_MS = 4000;
// Why a case is overdue, as the server says (escalation::OverdueReason).
const OVERDUE_WHY = {
  no_first_response: 'Overdue: no first response within SLA',
  no_reply_since_referred: 'Overdue: no reply since it was referred here',
  person_waiting: 'Overdue: the person wrote again and has had no reply within SLA',
};
const OUTCOMES = ['information given', 'referred to partner', 'assisted', 'no response from person', 'duplicate', 'not in scope'];

export async function caseView(root, { params, user, flash }) {
  const id = params[0];
  let c = await get(`/api/v1/cases/${id}`);
  let stopped = false;
  let timer = 0;

  const head = h('div', { class: 'case-head' });
  const meta = h('dl', { class: 'meta', id: 'case-meta' });
  const convo = h('ol', { class: 'conversation', id: 'conversation', 'aria-label': 'Conversation', 'aria-live': 'polite', tabindex: '0' });
  const actions = h('div', { class: 'actions', id: 'case-actions' });
  const intake = h('div', { id: 'case-intake' });
  const notes = h('ol', { class: 'notes', id: 'case-notes' });

  // Reply
  const replyErr = errorBox();
  const templates = h('div', { class: 'templates', id: 'reply-templates' });
  const replyText = enterSubmits(h('textarea', { name: 'text', rows: '3', dir: 'auto', required: true, id: 'reply-text', maxlength: '4096', placeholder: 'Write a reply… (Enter sends, Shift+Enter for a new line)' }));
  // Another officer's claimed case: a reply still goes to the person, who then hears two officers.
  const replyWarning = h('p', { class: 'small error-text', id: 'reply-claimed-warning', hidden: true });
  // What the officer typed survives a session that ends before it is sent (sign in again, same case).
  const draftKey = `rahnama.reply.${id}`;
  replyText.value = sessionStorage.getItem(draftKey) || '';
  replyText.addEventListener('input', () => {
    if (replyText.value) sessionStorage.setItem(draftKey, replyText.value);
    else sessionStorage.removeItem(draftKey);
  });
  const replyForm = h('form', { class: 'reply', id: 'reply-form' },
    h('label', { class: 'sr-only', for: 'reply-text' }, 'Reply to the person'),
    replyWarning, replyText, h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn btn-primary', id: 'reply-send' }, 'Send reply')),
    replyErr, templates);
  replyForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = replyText.value;
    if (!text.trim()) return;
    replyErr.show('');
    await busy(replyForm, async () => {
      try {
        c = { ...c, ...(await post(`/api/v1/cases/${id}/replies`, { text })) };
        replyText.value = '';
        sessionStorage.removeItem(draftKey);
        flash('Reply queued for sending.');
        forceBottom = true;
        await reload();
        setTimeout(() => { if (!stopped) reload(); }, 5000);  // shows "sent" once the sender is done
      } catch (ex) {
        replyErr.show(ex.message);
        // Only the closed WhatsApp window offers templates; any other 409 (the case changed) is just the error.
        if (ex instanceof ApiError && ex.status === 409 && Array.isArray(ex.body?.templates)) showTemplates(ex.body.templates);
      }
    });
    replyText.focus();
  });

  // Outside WhatsApp's 24-hour window only an approved template reaches the person: each language
  // version with its text, so the officer knows what is sent; those that cannot go say why.
  let templatesShown = '';
  function showTemplates(list) {
    const items = Array.isArray(list) ? list : [];
    const sig = JSON.stringify(items);
    if (sig === templatesShown) return;  // the polling redraws nothing the officer is reading
    templatesShown = sig;
    if (!items.length) { replace(templates, h('p', { class: 'muted small' }, 'No templates are configured: ask an operator to add one.')); return; }
    replace(templates, h('p', { class: 'small' }, 'The window is closed. A template can still reach the person; their reply opens the window again:'),
      h('ul', { class: 'plain' }, items.flatMap((t) => (t.languages || []).map((v) => h('li', { class: 'template', dataset: { template: t.name, language: v.language } },
        h('p', { class: 'template-body small', dir: 'auto' }, v.body),
        v.sendable
          ? h('button', { type: 'button', class: 'btn btn-small', onclick: async (ev) => {
            try {
              await post(`/api/v1/cases/${id}/replies`, { template: { name: t.name, language: v.language } });
              flash(`Template ${t.name} (${v.language}) queued.`);
              replyErr.show('');
              forceBottom = true;
              await reload();
            } catch (ex2) { replyErr.show(ex2.message); }
            ev.target.focus();
          } }, `Send this (${v.language})`)
          : h('p', { class: 'small muted' }, `${v.language}: cannot be sent (${v.why_not})`))))));
  }

  // Note
  const noteErr = errorBox();
  const noteText = enterSubmits(h('textarea', { name: 'text', rows: '2', dir: 'auto', required: true, id: 'note-text', placeholder: 'Internal note (never sent to the person)' }));
  const noteForm = h('form', { class: 'stack', id: 'note-form' },
    h('label', { class: 'sr-only', for: 'note-text' }, 'Internal note'), noteText,
    h('button', { type: 'submit', class: 'btn' }, 'Add note'), noteErr);
  noteForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    noteErr.show('');
    await busy(noteForm, async () => {
      try {
        await post(`/api/v1/cases/${id}/notes`, { text: noteText.value });
        noteText.value = '';
        flash('Note added.');
        await reload();
      } catch (ex) { noteErr.show(ex.message); }
    });
  });

  replace(root,
    h('p', { class: 'back' }, h('a', { href: '#/queue' }, '← All cases')),
    head,
    h('div', { class: 'case-grid' },
      h('section', { class: 'panel convo-panel', 'aria-labelledby': 'convo-h' },
        h('h2', { id: 'convo-h' }, 'Conversation'), convo, replyForm),
      h('aside', { class: 'case-side' },
        h('section', { class: 'panel', 'aria-labelledby': 'details-h' }, h('h2', { id: 'details-h' }, 'Details'), meta),
        h('section', { class: 'panel', 'aria-labelledby': 'actions-h' }, h('h2', { id: 'actions-h' }, 'Actions'), actions),
        h('section', { class: 'panel', 'aria-labelledby': 'intake-h' }, h('h2', { id: 'intake-h' }, 'Intake and details found'), intake),
        h('section', { class: 'panel', 'aria-labelledby': 'notes-h' }, h('h2', { id: 'notes-h' }, 'Notes'), notes, noteForm))));

  let forceBottom = true;
  let lastActKey = '';
  let lastConvoSig = '';
  function render() {
    const now = Date.now();
    replace(head,
      h('h1', null, `Case #${c.id} `, h('span', { class: 'case-intent-title' }, c.intent || 'unknown')),
      h('p', { class: 'case-badges' }, priorityBadge(c.priority),
        c.overdue ? badge(OVERDUE_WHY[c.overdue_reason] || 'Overdue', 'overdue') : null,
        badge(c.status === 'claimed' ? `Claimed by ${c.assignee}` : c.status, c.status), windowBadge(c.window_open, c.channel)));
    const lastIn = c.last_inbound_at;
    const rows = [
      ['Queue', c.referred_from ? h('span', { id: 'referred-from' }, `${c.queue} (referred from ${c.referred_from}, `, timeEl(c.queue_since), ')') : c.queue],
      ['Language', langName(c.language)],
      ['Channel', c.channel === 'messenger' ? 'Messenger' : 'WhatsApp'],
      ['Contact', h('span', null, h('span', { class: 'mono', dir: 'ltr' }, c.contact), c.contact_name ? h('span', { dir: 'auto' }, ' · ', c.contact_name) : null)],
      ['Last message', h('span', { id: 'since-last' }, timeEl(c.last_message_at, since(c.last_message_at, now)))],
      ['Person last wrote', timeEl(lastIn, since(lastIn, now))],
      ['Reply window', h('span', { id: 'window-state' }, c.window_open ? 'Open: you can reply freely' : (c.channel === 'messenger' ? 'Closed: Messenger allows no reply now' : 'Closed: only an approved template can be sent'))],
      ['Opened', timeEl(c.opened_at)],
      ...(c.awaiting_reply_since ? [['Person waiting', h('span', { id: 'person-waiting', class: c.overdue_reason === 'person_waiting' ? 'error-text' : null },
        'wrote ', timeEl(c.awaiting_reply_since, since(c.awaiting_reply_since, now)), ', no officer reply since (the bot does not answer for you)')]] : []),
      ['First response', c.first_response_at ? h('span', null, timeEl(c.first_response_at), ` (after ${duration((c.first_response_at - c.opened_at) / 60000)})`) : h('span', { class: c.overdue ? 'error-text' : 'muted' }, `none yet · SLA ${c.sla_minutes} min`)],
      ['Consent to share', c.consent || '—'],
    ];
    if (c.outcome) rows.push(['Outcome', c.outcome]);
    replace(meta, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
    renderConversation();
    const actKey = `${c.status}|${c.assignee}|${c.queue}`;
    if (actKey !== lastActKey) {  // forms the officer is typing in survive the polling
      const hadFocus = actions.contains(document.activeElement);
      lastActKey = actKey;
      renderActions();
      if (hadFocus) actions.querySelector('button, input')?.focus();
    }
    renderIntake();
    replace(notes, (c.notes || []).map((n) => h('li', { class: 'note' },
      h('p', { class: 'note-text', dir: 'auto' }, n.text),
      h('p', { class: 'small muted' }, n.author, ' · ', timeEl(n.at)))));
    if (!(c.notes || []).length) notes.append(h('li', { class: 'muted small' }, 'No notes yet.'));
    const resolved = c.status === 'resolved';
    replyForm.hidden = resolved;
    if (!resolved && !c.window_open && c.channel === 'whatsapp') showTemplates(c.templates);
    else if (templatesShown) { templatesShown = ''; replace(templates); }
  }

  // What the person sent (a photo of a document, a voice note) is fetched only when an officer
  // opens it, through the server (audited), and kept for this page so a redraw does not lose it.
  const opened = new Map();  // "message/position" → { url, type } or { error }
  function mediaItem(m, md, i) {
    const key = `${m.id}/${i}`;
    const box = h('div', { class: 'msg-media small', dataset: { media: key } });
    const label = mediaText(md, i === 0 ? m.kind : '');  // the message's kind is its first attachment's
    const show = () => {
      const got = opened.get(key);
      if (!got) {
        const verb = m.kind === 'audio' && i === 0 ? 'Play' : 'Open';
        replace(box, h('span', { dir: 'auto' }, label), ' ',
          h('button', { type: 'button', class: 'btn-small media-open', onclick: load }, verb));
      } else if (got.error) {
        replace(box, h('span', { dir: 'auto' }, label), ' ', h('span', { class: 'error-text media-error' }, got.error));
      } else if (got.type.startsWith('image/')) {
        replace(box, h('img', { class: 'media-preview', src: got.url, alt: `attachment ${i + 1} of the person's message` }));
      } else if (got.type.startsWith('audio/')) {
        replace(box, h('audio', { class: 'media-preview', controls: true, src: got.url }));
      } else if (got.type.startsWith('video/')) {
        replace(box, h('video', { class: 'media-preview', controls: true, src: got.url }));
      } else {
        replace(box, h('a', { class: 'media-download', href: got.url, download: `case-${c.id}-message-${m.id}-${i + 1}` }, `Download ${label}`));
      }
    };
    async function load(e) {
      if (e?.currentTarget) e.currentTarget.disabled = true;  // one fetch (and one audit row) per click
      try {
        const res = await fetch(`/api/v1/cases/${c.id}/messages/${m.id}/media/${i}`, { credentials: 'same-origin', cache: 'no-store' });
        if (!res.ok) {
          let why = `HTTP ${res.status}`;
          try { why = (await res.json()).error || why; } catch { /* not JSON */ }
          opened.set(key, { error: why });
        } else {
          const blob = await res.blob();
          opened.set(key, { url: URL.createObjectURL(blob), type: blob.type || '' });
        }
      } catch {
        opened.set(key, { error: 'the server cannot be reached; check the connection' });
      }
      show();
    }
    show();
    return box;
  }

  function renderConversation() {
    const msgs = c.messages || [];
    const sig = JSON.stringify(msgs.map((m) => [m.id, m.status])) + (c.contact_name || '');
    if (sig === lastConvoSig) return;  // unchanged: keep the reader where they are
    lastConvoSig = sig;
    const atBottom = convo.scrollHeight - convo.scrollTop - convo.clientHeight < 40;
    const keepTop = convo.scrollTop;
    replace(convo, msgs.map((m) => {
      const who = m.direction === 'in' ? 'person' : m.author === 'bot' ? 'bot' : 'officer';
      const label = who === 'person' ? (c.contact_name || 'Person') : who === 'bot' ? 'Bot' : `Officer ${String(m.author).replace(/^officer:/, '')}`;
      return h('li', { class: ['msg', `msg-${who}`], dataset: { id: String(m.id), direction: m.direction } },
        h('p', { class: 'msg-meta small' }, h('span', { class: 'msg-author', dir: 'auto' }, label), ' · ', timeEl(m.at, stamp(m.at)),
          m.direction === 'out' && m.status ? h('span', { class: ['msg-status', m.status === 'failed' && 'error-text'] }, ` · ${m.status}`) : null,
          // Set aside: the bot could not process it (the case's note says why), so nobody answered it yet.
          m.direction === 'in' && m.status === 'failed' ? h('span', { class: ['msg-status', 'error-text'] }, ' · the bot could not process this: answer it yourself') : null,
          m.kind && m.kind !== 'text' ? h('span', { class: 'muted' }, ` · ${m.kind}`) : null),
        m.text ? h('p', { class: 'msg-text', dir: 'auto' }, m.text) : null,
        ...[m.media, ...(m.more_media || [])].filter(Boolean).map((md, i) => mediaItem(m, md, i)),
        m.location ? locationItem(m.location) : null);
    }));
    if (!msgs.length) convo.append(h('li', { class: 'muted' }, 'No messages.'));
    // New messages scroll into view if the reader was at the end (or just sent one); someone
    // reading further up stays where they are.
    convo.scrollTop = atBottom || forceBottom ? convo.scrollHeight : keepTop;
    forceBottom = false;
  }

  // The flash after an action that tells the person: whether they were told (outside their
  // 24-hour window nothing can be sent to them).
  const told = (what) => (r) => (r?.person_told === true
    ? `${what}; the person was told.`
    : `${what}. The person was not told (nothing can be sent to them more than 24 hours after they last wrote).`);

  function renderActions() {
    if (c.status === 'resolved') {
      replace(actions, h('p', null, `Resolved${c.outcome ? ': ' + c.outcome : ''}.`));
      return;
    }
    const err = errorBox();
    const mine = c.assignee === user.username;
    const btns = h('div', { class: 'row wrap' });
    // Another officer's case changes hands through them (release) or an admin (take over, assign).
    const othersClaim = c.status === 'claimed' && !mine;
    const mayMove = !othersClaim || user.role === 'admin';
    replyWarning.hidden = !othersClaim;
    replyWarning.textContent = othersClaim ? `${c.assignee} is working on this case: your reply also goes to the person.` : '';
    if (!mine && mayMove) btns.append(h('button', { type: 'button', class: 'btn btn-primary', id: 'claim', onclick: () => act('claim', {}, othersClaim ? `Case taken over from ${c.assignee}.` : told('Case claimed')) }, othersClaim ? 'Take over' : 'Claim'));
    if (c.assignee && (mine || user.role === 'admin')) btns.append(h('button', { type: 'button', class: 'btn', id: 'release', onclick: () => act('release', {}, 'Case released to the queue.') }, 'Release'));

    const outcome = h('input', { name: 'outcome', list: 'outcomes', required: true, id: 'resolve-outcome', placeholder: 'e.g. information given' });
    const resolveForm = h('form', { class: 'inline-form', id: 'resolve-form' }, field('Resolve with outcome', outcome),
      h('datalist', { id: 'outcomes' }, OUTCOMES.map((o) => h('option', { value: o }))),
      h('button', { type: 'submit', class: 'btn' }, 'Resolve'));
    resolveForm.addEventListener('submit', (e) => { e.preventDefault(); act('resolve', { outcome: outcome.value }, told('Case resolved')); });

    const queue = h('input', { name: 'queue', list: 'refer-queues', required: true, id: 'refer-queue', placeholder: 'queue id, e.g. iom', autocomplete: 'off' });
    const queueList = h('datalist', { id: 'refer-queues' });
    get('/api/v1/queues').then((qs) => qs.filter((q) => q.id !== c.queue).forEach((q) => queueList.append(h('option', { value: q.id }, q.partner)))).catch(() => {});
    ['unhcr_protection', 'iom', 'info_desk'].filter((q) => q !== c.queue).forEach((q) => queueList.append(h('option', { value: q })));
    const referForm = h('form', { class: 'inline-form', id: 'refer-form' }, field('Refer to queue', queue), queueList,
      h('button', { type: 'submit', class: 'btn' }, 'Refer'));
    referForm.addEventListener('submit', (e) => { e.preventDefault(); act('refer', { queue: queue.value.trim() }, told(`Case referred to ${queue.value.trim()}`)); });

    const assignee = h('input', { name: 'username', required: true, id: 'assign-user', autocomplete: 'off', placeholder: 'username', list: 'assign-officers' });
    // Who can take it: the queue's enabled officers and the admins, with the languages they read.
    const officerList = h('datalist', { id: 'assign-officers' });
    get(`/api/v1/queues/${encodeURIComponent(c.queue)}/officers`).then((os) => os.filter((o) => o.username !== c.assignee)
      .forEach((o) => officerList.append(h('option', { value: o.username }, [o.role, o.languages].filter(Boolean).join(' · '))))).catch(() => {});
    const assignForm = h('form', { class: 'inline-form', id: 'assign-form' }, field('Assign to officer', assignee), officerList,
      h('button', { type: 'submit', class: 'btn' }, 'Assign'));
    assignForm.addEventListener('submit', (e) => { e.preventDefault(); act('assign', { username: assignee.value.trim() }, `Case assigned to ${assignee.value.trim()}.`); });

    // Closing it tells the person their case is closed: only its officer (or an admin) does that.
    replace(actions, btns, mayMove ? resolveForm : h('p', { class: 'muted', id: 'claimed-by-other' }, `${c.assignee} is working on this case: ask them, or an admin, to resolve or refer it.`),
      mayMove ? referForm : null, mayMove ? assignForm : null, err);

    async function act(action, body, done) {
      err.show('');
      try {
        const result = await post(`/api/v1/cases/${id}/${action}`, body);
        flash(typeof done === 'function' ? done(result) : done);
        if (action === 'refer' && user.role !== 'admin' && !user.queues?.includes(body.queue)) { location.hash = '#/queue'; return; }
        await reload();
      } catch (ex) { err.show(ex.message); }
    }
  }

  function renderIntake() {
    const i = c.intake && typeof c.intake === 'object' ? c.intake : {};
    const en = c.entities && typeof c.entities === 'object' ? c.entities : {};
    // The bot stores the answers as the person gave them: a menu pick ("self", "yes") or their own
    // words («برادرم»), shown as they are (they showed as "—").
    const atRisk = { self: 'the person writing', family: 'their family', child: 'a child' };
    const answer = (v, names) => (v === undefined || v === null || v === '' ? null
      : v === true ? 'yes' : v === false ? 'no' : typeof v === 'string' ? (names?.[v] ?? v) : String(v));
    const rows = [
      ['City', i.city], ['Who is at risk', answer(i.at_risk, atRisk)],
      ['Detained now', answer(i.detained_now)], ['Case number', i.case_number],
      ['Current location', i.current_location], ['Contact given', i.contact],
    ].filter(([, v]) => v !== null && v !== undefined && v !== '');
    const ent = [['Cities', en.cities], ['Phones', en.phones], ['Case numbers', en.case_numbers], ['Dates', en.dates]]
      .filter(([, v]) => Array.isArray(v) && v.length);
    replace(intake,
      rows.length ? h('dl', { class: 'meta' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', { dir: 'auto', class: (k === 'Detained now' && v === 'yes') || (k === 'Who is at risk' && v === 'a child') ? 'error-text' : null }, String(v))])) : h('p', { class: 'muted small' }, 'No intake answers yet.'),
      ent.length ? h('dl', { class: 'meta' }, ent.map(([k, v]) => [h('dt', null, k), h('dd', null, v.map((x) => h('span', { class: 'chip', dir: 'auto' }, typeof x === 'string' ? x : JSON.stringify(x))))])) : null);
  }

  async function reload() {
    try {
      const fresh = await get(`/api/v1/cases/${id}`);
      if (stopped) return;
      c = fresh;
      lastSig = sigOf(c);
      lastFull = Date.now();
      render();
    } catch (e) {
      if (!stopped) flash(`Could not refresh the case: ${e.message}`, 'error');
    }
  }

  // Polling: every read of GET /api/v1/cases/{id} is written to the audit log, so the view
  // watches the (unaudited) case list and fetches the case itself only when it changed.
  const sigOf = (x) => [x.last_message_at, x.status, x.assignee, x.first_response_at, x.queue, x.priority, x.awaiting_reply_since].join('|');
  let lastSig = sigOf(c);
  let lastFull = Date.now();
  async function reloadIfChanged() {
    const list = await get('/api/v1/cases' + qs({ id, status: 'all' }));
    const row = list.find((x) => String(x.id) === String(id));
    if (row ? sigOf(row) !== lastSig : Date.now() - lastFull > 60000) {
      await reload();
    } else if (row) {
      c = { ...c, window_open: row.window_open, overdue: row.overdue, overdue_reason: row.overdue_reason };
      render();  // times ("5 min ago") and the window move on by themselves
    }
  }

  async function poll() {
    try {
      await reloadIfChanged();
    } catch (e) {
      if (!stopped) flash(`Could not refresh the case: ${e.message}`, 'error');
    }
    if (!stopped) timer = setTimeout(poll, document.hidden ? POLL_MS * 4 : POLL_MS);
  }

  render();
  timer = setTimeout(poll, POLL_MS);
  // Leaving the case lets the browser forget the photos and voice notes opened on it.
  return () => {
    stopped = true;
    clearTimeout(timer);
    for (const got of opened.values()) if (got.url) URL.revokeObjectURL(got.url);
    opened.clear();
  };
}

// A location the person shared: the coordinates, and a map to open (outside the console).
function locationItem(loc) {
  const lat = Number(loc.latitude).toFixed(5);
  const lon = Number(loc.longitude).toFixed(5);
  return h('p', { class: 'msg-location small' }, 'Shared location ', h('span', { class: 'mono', dir: 'ltr' }, `${lat}, ${lon}`), ' · ',
    h('a', { href: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`, target: '_blank', rel: 'noopener noreferrer' }, 'open map'));
}

function mediaText(media, kind) {
  if (!media || typeof media !== 'object') return `[attachment] ${String(media)}`;
  const bits = [media.caption, media.filename, media.mime_type].filter(Boolean);
  return `[${media.voice ? 'voice note' : kind || 'attachment'}]${bits.length ? ' ' + bits.join(' · ') : ''}`;
}
