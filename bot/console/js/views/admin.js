// Admin screens: users, queues, routing rules, audit log.
import { api, get, post, put, qs } from '../api.js';
import { h, replace, field, errorBox, busy, select } from '../dom.js';
import { timeEl, badge } from '../format.js';

const table = (id, head, rows) => h('div', { class: 'table-wrap' }, h('table', { class: 'table', id },
  h('thead', null, h('tr', null, head.map((x) => h('th', { scope: 'col' }, x)))), h('tbody', null, rows)));

export async function usersView(root, { flash, user }) {
  const [users, queues] = await Promise.all([get('/api/v1/users'), get('/api/v1/queues')]);
  const name = h('input', { name: 'username', required: true, autocomplete: 'off', id: 'new-username' });
  const role = select({ name: 'role', id: 'new-role' }, [['officer', 'Officer (works cases)'], ['operator', 'Operator (edits content)'], ['admin', 'Admin']], 'officer');
  const password = h('input', { name: 'password', type: 'password', required: true, minlength: '12', autocomplete: 'new-password', id: 'new-password' });
  const langs = h('input', { name: 'languages', placeholder: 'prs,ps,en', autocomplete: 'off' });
  const boxes = queues.map((q) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'queues', value: q.id }), ` ${q.id}`));
  const err = errorBox();
  const form = h('form', { class: 'stack', id: 'user-form' },
    h('div', { class: 'row wrap' }, field('Username', name), field('Role', role), field('Password', password, 'at least 12 characters, two kinds (letters, digits, …)'), field('Reads languages', langs)),
    h('fieldset', null, h('legend', null, 'Queues (officers)'), h('div', { class: 'row wrap' }, boxes)),
    err, h('div', null, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add user')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.show('');
    await busy(form, async () => {
      try {
        const body = { username: name.value.trim(), role: role.value, password: password.value,
          queues: [...form.querySelectorAll('input[name=queues]:checked')].map((c) => c.value) };
        if (langs.value.trim()) body.languages = langs.value.trim();
        await post('/api/v1/users', body);
        flash(`Added ${body.username}.`);
        await usersView(root, { flash, user });
      } catch (ex) { err.show(ex.message); }
    });
  });
  const me = user?.username;
  const rows = users.map((u) => {
    const state = u.disabled ? badge('disabled', 'urgent') : u.locked ? badge('locked', 'warning') : badge('active', 'ok');
    const rowErr = errorBox();
    const change = async (body, done) => {
      rowErr.show('');
      try {
        const r = await api('PATCH', `/api/v1/users/${encodeURIComponent(u.username)}`, body);
        const released = r.data.released_cases || [];
        flash(done + (released.length ? ` ${released.length} claimed case(s) went back to the queue.` : ''));
        await usersView(root, { flash, user });
      } catch (ex) { rowErr.show(ex.message); }
    };
    const toggle = h('button', { type: 'button', class: ['btn', 'btn-small', !u.disabled && 'btn-danger-quiet'], dataset: { action: u.disabled ? 'enable' : 'disable' },
      disabled: u.username === me, 'aria-label': `${u.disabled ? 'Enable' : 'Disable'} ${u.username}`,
      onclick: () => {
        if (!u.disabled && !confirm(`Disable ${u.username}? They are logged out at once and their claimed cases go back to the queue.`)) return;
        change({ disabled: !u.disabled }, `${u.username} ${u.disabled ? 'enabled' : 'disabled'}.`);
      } }, u.disabled ? 'Enable' : 'Disable');
    const pw = h('input', { type: 'password', minlength: '12', required: true, autocomplete: 'new-password', 'aria-label': `New password for ${u.username}`, placeholder: 'new password' });
    const reset = h('form', { class: 'inline-form reset-form', hidden: true, dataset: { user: u.username } }, pw,
      h('button', { type: 'submit', class: 'btn btn-small' }, 'Set password'));
    reset.addEventListener('submit', (e) => { e.preventDefault(); change({ password: pw.value }, `New password set for ${u.username}; their sessions ended.`); });
    const resetBtn = h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Reset the password of ${u.username}`,
      onclick: () => { reset.hidden = !reset.hidden; if (!reset.hidden) pw.focus(); } }, 'Reset password');
    return h('tr', { dataset: { user: u.username } }, h('th', { scope: 'row' }, u.username), h('td', null, badge(u.role, 'role')),
      h('td', null, (u.queues || []).join(', ') || '—'), h('td', null, u.languages || '—'), h('td', { class: 'user-state' }, state),
      h('td', null, h('div', { class: 'row wrap' }, toggle, resetBtn), reset, rowErr));
  });
  replace(root, h('div', { class: 'page-head' }, h('h1', null, 'Users')),
    h('section', { class: 'panel flush' }, table('users-table', ['Username', 'Role', 'Queues', 'Languages', 'State', ''], rows)),
    h('section', { class: 'panel' }, h('h2', null, 'Add a user'), form));
}

/** Anyone's own password: the current one proves it is them; their other sessions end. */
export async function accountView(root, { flash }) {
  const current = h('input', { type: 'password', required: true, autocomplete: 'current-password', id: 'current-password' });
  const next = h('input', { type: 'password', required: true, minlength: '12', autocomplete: 'new-password', id: 'new-password-own' });
  const again = h('input', { type: 'password', required: true, minlength: '12', autocomplete: 'new-password', id: 'new-password-again' });
  const err = errorBox();
  const form = h('form', { class: 'stack', id: 'password-form' },
    field('Current password', current), field('New password', next, 'at least 12 characters, two kinds (letters, digits, …)'),
    field('New password again', again), err,
    h('div', null, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Change password')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.show('');
    if (next.value !== again.value) { err.show('The two new passwords differ.'); return; }
    await busy(form, async () => {
      try {
        await post('/api/v1/me/password', { current_password: current.value, new_password: next.value });
        form.reset();
        flash('Password changed. Your other sessions were logged out.');
      } catch (ex) { err.show(ex.message); }
    });
  });
  replace(root, h('div', { class: 'page-head' }, h('h1', null, 'Your password')),
    h('section', { class: 'panel' }, form));
}

export async function queuesView(root, { flash }) {
  const queues = await get('/api/v1/queues');
  replace(root, h('div', { class: 'page-head' }, h('h1', null, 'Queues'),
    h('p', { class: 'muted small' }, 'Hours look like "1-5 09:00-17:00 +0500" (weekdays 1=Monday, times, UTC offset); empty means always open.')),
  h('div', { class: 'cards' }, queues.map((q) => queueCard(q, flash))));
}

function queueCard(q, flash) {
  const i = (name, value, extra = {}) => h('input', { name, value: value ?? '', autocomplete: 'off', ...extra });
  const partner = i('partner', q.partner, { required: true });
  const sla = i('sla_minutes', q.sla_minutes, { type: 'number', min: '1', required: true });
  const hours = i('hours', q.hours, { placeholder: 'always open' });
  const fact = i('contact_fact', q.contact_fact);
  const url = i('webhook_url', q.webhook_url, { type: 'url', placeholder: 'https://partner.example/hook' });
  const secret = i('webhook_secret', '', { type: 'password', placeholder: q.webhook ? 'set; type to replace' : 'at least 16 characters', autocomplete: 'new-password' });
  const err = errorBox();
  const form = h('form', { class: 'stack', dataset: { queue: q.id } },
    h('h2', null, q.id, ' ', q.webhook ? badge('partner webhook', 'ok') : null),
    h('p', { class: 'small muted' }, `${q.open} open · ${q.urgent} urgent · ${q.overdue} overdue`),
    field('Partner', partner), field('SLA (minutes to first response)', sla), field('Hours', hours),
    field('Contact fact (id)', fact), field('Partner webhook URL', url), field('Webhook secret', secret),
    err, h('div', null, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.show('');
    await busy(form, async () => {
      try {
        const body = { partner: partner.value, sla_minutes: Number(sla.value), hours: hours.value.trim(), contact_fact: fact.value.trim(), webhook_url: url.value.trim() };
        if (secret.value) body.webhook_secret = secret.value;
        await put(`/api/v1/queues/${encodeURIComponent(q.id)}`, body);
        secret.value = '';
        flash(`Saved queue ${q.id}.`);
      } catch (ex) { err.show(ex.message); }
    });
  });
  return h('section', { class: 'panel' }, form);
}

export async function rulesView(root, { flash }) {
  const [rules, queues] = await Promise.all([get('/api/v1/routing-rules'), get('/api/v1/queues')]);
  let rows = rules.map((r) => ({ ...r }));
  const body = h('tbody');
  const err = errorBox();
  const queueIds = queues.map((q) => q.id);
  const form = h('form', { id: 'rules-form' },
    h('p', { class: 'muted small' }, 'First matching rule wins. An empty field matches anything.'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', null, h('tr', null, ['#', 'Intent', 'Urgent', 'Entity', 'Queue', 'Priority', ''].map((x) => h('th', { scope: 'col' }, x)))), body)),
    err,
    h('div', { class: 'row wrap' },
      h('button', { type: 'button', class: 'btn', onclick: () => { rows.push({ intent: null, urgent: null, entity: null, queue: queueIds[0], priority: 'normal' }); draw(); body.querySelector('tr:last-child input')?.focus(); } }, 'Add rule'),
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save rules')));
  function draw() {
    replace(body, rows.map((r, idx) => {
      const intent = h('input', { value: r.intent ?? '', 'aria-label': `Rule ${idx + 1} intent`, size: '16' });
      const urgent = select({ 'aria-label': `Rule ${idx + 1} urgent` }, [['', 'any'], ['true', 'urgent'], ['false', 'not urgent']], r.urgent === null || r.urgent === undefined ? '' : String(r.urgent));
      const entity = h('input', { value: r.entity ?? '', 'aria-label': `Rule ${idx + 1} entity`, size: '12', placeholder: 'e.g. case_number' });
      const queue = select({ 'aria-label': `Rule ${idx + 1} queue` }, queueIds.includes(r.queue) ? queueIds : [r.queue, ...queueIds], r.queue);
      const prio = select({ 'aria-label': `Rule ${idx + 1} priority` }, ['urgent', 'high', 'normal'], r.priority);
      intent.addEventListener('input', () => { r.intent = intent.value.trim() || null; });
      urgent.addEventListener('change', () => { r.urgent = urgent.value === '' ? null : urgent.value === 'true'; });
      entity.addEventListener('input', () => { r.entity = entity.value.trim() || null; });
      queue.addEventListener('change', () => { r.queue = queue.value; });
      prio.addEventListener('change', () => { r.priority = prio.value; });
      const move = (d) => { const j = idx + d; if (j < 0 || j >= rows.length) return; [rows[idx], rows[j]] = [rows[j], rows[idx]]; draw(); };
      return h('tr', null, h('th', { scope: 'row' }, String(idx + 1)), h('td', null, intent), h('td', null, urgent), h('td', null, entity),
        h('td', null, queue), h('td', null, prio),
        h('td', { class: 'nowrap' },
          h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Move rule ${idx + 1} up`, onclick: () => move(-1) }, '↑'), ' ',
          h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Move rule ${idx + 1} down`, onclick: () => move(1) }, '↓'), ' ',
          h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', 'aria-label': `Delete rule ${idx + 1}`, onclick: () => { rows.splice(idx, 1); draw(); } }, 'Delete')));
    }));
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.show('');
    await busy(form, async () => {
      try {
        const payload = rows.map((r, i) => ({ position: (i + 1) * 10, intent: r.intent || null, urgent: r.urgent ?? null, entity: r.entity || null, queue: r.queue, priority: r.priority }));
        const res = await put('/api/v1/routing-rules', payload);
        flash(`Saved ${res.rules} routing rules.`);
      } catch (ex) { err.show(ex.message); }
    });
  });
  draw();
  replace(root, h('div', { class: 'page-head' }, h('h1', null, 'Routing rules')), h('section', { class: 'panel' }, form));
}

export async function auditView(root) {
  const PAGE = 50;
  const body = h('tbody');
  const more = h('button', { type: 'button', class: 'btn' }, 'Older entries');
  const err = errorBox();
  let before = 0;
  async function load() {
    err.show('');
    try {
      const list = await get('/api/v1/audit' + qs({ limit: PAGE, before: before || '' }));
      list.forEach((e) => body.append(h('tr', null, h('td', { class: 'nowrap' }, timeEl(e.at)), h('td', null, e.actor),
        h('td', null, h('span', { class: 'mono' }, e.action)), h('td', { class: 'mono' }, e.target || ''),
        h('td', { class: 'details-cell', dir: 'auto' }, e.details && typeof e.details === 'object' && Object.keys(e.details).length ? JSON.stringify(e.details) : ''))));
      if (list.length) before = list[list.length - 1].id;
      more.hidden = list.length < PAGE;
    } catch (ex) { err.show(ex.message); }
  }
  more.addEventListener('click', load);
  replace(root, h('div', { class: 'page-head' }, h('h1', null, 'Audit log')),
    h('section', { class: 'panel flush' }, table('audit-table', ['When', 'Who', 'Action', 'Target', 'Details'], []), err, h('div', { class: 'pad' }, more)));
  root.querySelector('#audit-table').replaceChild(body, root.querySelector('#audit-table tbody'));
  await load();
}
