// The admin API: cookie session (HttpOnly, sent by the browser) plus the CSRF token, kept in
// memory and sessionStorage, on every state change. The session token itself is never stored.

const CSRF_KEY = 'rahnama.csrf';
let csrf = sessionStorage.getItem(CSRF_KEY) || '';
let onUnauthenticated = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `request failed (HTTP ${status})`);
    this.status = status;
    this.body = body || {};
  }
}

export function setCsrf(token) {
  csrf = token || '';
  if (csrf) sessionStorage.setItem(CSRF_KEY, csrf);
  else sessionStorage.removeItem(CSRF_KEY);
}

export function onLoggedOut(fn) { onUnauthenticated = fn; }

export async function api(method, path, body, { raw = false, contentType } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) {
    if (raw) {
      init.body = body;
      headers['Content-Type'] = contentType || 'text/plain';
    } else {
      init.body = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { error: 'the server cannot be reached; check the connection' });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { error: text.slice(0, 300) }; }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && path !== '/api/v1/session') onUnauthenticated(err);
    throw err;
  }
  return { status: res.status, data };
}

export const get = async (path) => (await api('GET', path)).data;
export const post = async (path, body) => (await api('POST', path, body ?? {})).data;
export const put = async (path, body) => (await api('PUT', path, body)).data;
export const del = async (path) => (await api('DELETE', path)).data;

/** "answer/prs/por_card" → "answer/prs/por_card" with each segment URL-encoded. */
export const itemPath = (key) => '/api/v1/content/items/' + key.split('/').map(encodeURIComponent).join('/');

export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) p.set(k, v);
  const s = p.toString();
  return s ? '?' + s : '';
}
