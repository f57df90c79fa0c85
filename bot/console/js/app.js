// The console's shell: session, navigation by role, hash routing (#/cases/12).
import { api, get, setCsrf, onLoggedOut, ApiError } from './api.js';
import { h, replace, errorBox, busy, field } from './dom.js';
import { queueView } from './views/queue.js';
import { caseView } from './views/case.js';
import { contentView } from './views/content.js';
import { dashboardView } from './views/dashboard.js';
import { usersView, queuesView, rulesView, auditView, accountView } from './views/admin.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const flashBox = document.getElementById('flash');

export const session = { user: null };
let cleanup = null;
let meChecked = false;  // after a reload the cookie may still hold a session: ask once
let flashTimer = 0;

/** A short message at the top of the page ("Reply sent"); errors stay until the next one. */
export function flash(text, kind = 'ok') {
  flashBox.textContent = text;
  flashBox.className = `flash flash-${kind}`;
  flashBox.hidden = false;
  clearTimeout(flashTimer);
  if (kind === 'ok') flashTimer = setTimeout(() => { flashBox.hidden = true; }, 4000);
}

const can = {
  cases: (u) => u.role === 'officer' || u.role === 'admin',
  content: (u) => u.role === 'operator' || u.role === 'admin',
  admin: (u) => u.role === 'admin',
};

const routes = [
  { re: /^#\/queue$/, view: queueView, allow: can.cases, nav: 'queue' },
  { re: /^#\/cases\/(\d+)$/, view: caseView, allow: can.cases, nav: 'queue' },
  { re: /^#\/content$/, view: contentView, allow: can.content, nav: 'content' },
  { re: /^#\/dashboard$/, view: dashboardView, allow: () => true, nav: 'dashboard' },
  { re: /^#\/account$/, view: accountView, allow: () => true, nav: 'account' },
  { re: /^#\/admin\/users$/, view: usersView, allow: can.admin, nav: 'users' },
  { re: /^#\/admin\/queues$/, view: queuesView, allow: can.admin, nav: 'queues' },
  { re: /^#\/admin\/rules$/, view: rulesView, allow: can.admin, nav: 'rules' },
  { re: /^#\/admin\/audit$/, view: auditView, allow: can.admin, nav: 'audit' },
];

function home(u) {
  if (can.cases(u)) return '#/queue';
  if (can.content(u)) return '#/content';
  return '#/dashboard';
}

function renderNav(active) {
  const u = session.user;
  const links = [];
  if (u) {
    if (can.cases(u)) links.push(['queue', '#/queue', 'Cases']);
    if (can.content(u)) links.push(['content', '#/content', 'Content']);
    links.push(['dashboard', '#/dashboard', 'Dashboard']);
    if (can.admin(u)) {
      links.push(['users', '#/admin/users', 'Users']);
      links.push(['queues', '#/admin/queues', 'Queues']);
      links.push(['rules', '#/admin/rules', 'Routing']);
      links.push(['audit', '#/admin/audit', 'Audit log']);
    }
  }
  replace(nav, h('ul', null, links.map(([id, href, label]) =>
    h('li', null, h('a', { href, 'aria-current': id === active ? 'page' : null }, label)))));
  if (u) {
    replace(who, h('span', { class: 'who-name' }, u.username), ' ', h('span', { class: 'badge badge-role' }, u.role), ' ',
      h('a', { href: '#/account', id: 'account-link', class: 'btn-link' }, 'Password'), ' ',
      h('button', { type: 'button', class: 'btn-link', id: 'logout', onclick: logout }, 'Log out'));
  } else {
    replace(who);
  }
}

const RETURN_KEY = 'rahnama.return';

async function logout() {
  try { await api('DELETE', '/api/v1/session'); } catch { /* the session may be gone already */ }
  // Leaving on purpose: no unsent reply stays in this tab.
  for (const k of Object.keys(sessionStorage)) if (k.startsWith('rahnama.reply.')) sessionStorage.removeItem(k);
  sessionStorage.removeItem(RETURN_KEY);
  setCsrf('');
  session.user = null;
  location.hash = '#/login';
}

function loginView(root) {
  const err = errorBox();
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true, id: 'login-username' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, id: 'login-password' });
  const form = h('form', { class: 'login panel', id: 'login-form' },
    h('h1', null, 'Sign in'),
    h('p', { class: 'muted' }, 'Rahnama helpline console for officers, operators and supervisors.'),
    field('Username', username),
    field('Password', password),
    err,
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in'));
  if (sessionStorage.getItem(RETURN_KEY)) err.show('Your session has ended. Sign in again to go back to where you were; an unsent reply is kept.');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.show('');
    await busy(form, async () => {
      try {
        const { data } = await api('POST', '/api/v1/session', { username: username.value.trim(), password: password.value });
        setCsrf(data.csrf_token);
        session.user = data.user;
        password.value = '';
        // Back where the session ended (the case whose reply was being written), if allowed there.
        const back = sessionStorage.getItem(RETURN_KEY);
        sessionStorage.removeItem(RETURN_KEY);
        location.hash = back && back !== '#/login' ? back : home(data.user);
      } catch (ex) {
        err.show(ex.message);
        password.select();
      }
    });
  });
  replace(root, h('div', { class: 'login-wrap' }, form,
    h('p', { class: 'muted small center' }, 'Everything you see here is confidential. Log out when you leave the computer.')));
  setTimeout(() => username.focus(), 0);
}

async function route() {
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  const hash = location.hash || '#/';
  if (!session.user && !meChecked) {
    meChecked = true;
    try {
      const me = await get('/api/v1/me');
      setCsrf(me.csrf_token);
      session.user = { username: me.username, role: me.role, queues: me.queues, languages: me.languages };
    } catch (e) {
      if (hash !== '#/login') { location.hash = '#/login'; return; }
    }
  }
  if (hash === '#/login' || !session.user) {
    if (session.user) { location.hash = home(session.user); return; }
    document.body.classList.add('logged-out');
    renderNav(null);
    loginView(main);
    return;
  }
  document.body.classList.remove('logged-out');
  const r = routes.find((x) => x.re.test(hash));
  if (!r || !r.allow(session.user)) { location.hash = home(session.user); return; }
  renderNav(r.nav);
  const m = hash.match(r.re);
  replace(main, h('p', { class: 'muted' }, 'Loading…'));
  try {
    cleanup = (await r.view(main, { params: m.slice(1), user: session.user, flash })) || null;
  } catch (e) {
    replace(main, h('p', { class: 'error', role: 'alert' }, e instanceof ApiError ? e.message : `Something went wrong: ${e.message}`));
  }
}

onLoggedOut(() => {
  meChecked = true;
  if (session.user && location.hash && location.hash !== '#/login') sessionStorage.setItem(RETURN_KEY, location.hash);
  session.user = null;
  setCsrf('');
  if (location.hash !== '#/login') location.hash = '#/login';
});

window.addEventListener('hashchange', () => { flashBox.hidden = true; route().then(() => main.focus({ preventScroll: true })); });
route();
