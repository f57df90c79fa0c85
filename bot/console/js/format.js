// Times, languages and labels.
import { h } from './dom.js';

export const LANGS = [
  { code: 'en', name: 'English', native: 'English' },
  { code: 'prs', name: 'Dari', native: 'دری' },
  { code: 'ps', name: 'Pashto', native: 'پښتو' },
];
export const langName = (c) => LANGS.find((l) => l.code === c)?.name || c || 'unknown';

export function since(ms, now = Date.now()) {
  if (!ms) return '—';
  const min = Math.max(0, Math.floor((now - ms) / 60000));
  if (min < 1) return 'just now';
  if (min < 60) return `${min} min ago`;
  const hours = Math.floor(min / 60);
  if (hours < 48) return `${hours} h ${min % 60} min ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

export function duration(minutes) {
  if (minutes === null || minutes === undefined || Number.isNaN(minutes)) return '—';
  if (minutes < 1) return `${Math.round(minutes * 60)} s`;
  if (minutes < 120) return `${Math.round(minutes * 10) / 10} min`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 6) / 10} h`;
  return `${Math.round(minutes / 144) / 10} days`;
}

export function stamp(ms) {
  if (!ms) return '—';
  const d = new Date(ms);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** <time> with the absolute time as its tooltip. */
export function timeEl(ms, text) {
  return h('time', { datetime: ms ? new Date(ms).toISOString() : null, title: ms ? stamp(ms) : null }, text ?? stamp(ms));
}

export function badge(text, kind) {
  return h('span', { class: ['badge', kind && `badge-${kind}`] }, text);
}

export function priorityBadge(p) {
  return badge(p === 'urgent' ? 'Urgent' : p === 'high' ? 'High' : 'Normal', p || 'normal');
}

export function windowBadge(open, channel) {
  const days = channel === 'messenger' ? '7-day' : '24-hour';
  return open ? badge(`${days} window open`, 'ok') : badge(`${days} window closed`, 'closed');
}

export const isoDay = (d) => d.toISOString().slice(0, 10);
