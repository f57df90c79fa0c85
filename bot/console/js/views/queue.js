// Officers' queue: counts per queue and the open cases, urgent and overdue first, refreshed
// every few seconds without a reload.
import { get, qs } from '../api.js';
import { h, replace, select, field } from '../dom.js';
import { since, priorityBadge, windowBadge, badge, langName, timeEl, LANGS } from '../format.js';

const POLL_MS = 3000;
const filters = { queue: '', status: '', priority: '', language: '' };  // kept across visits

export async function queueView(root) {
  const tiles = h('ul', { class: 'tiles', id: 'queue-tiles', 'aria-label': 'Queues' });
  const list = h('ol', { class: 'cases', id: 'case-list', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  const status = h('p', { class: 'muted small', id: 'refresh-status' });
  const queueSelect = select({ name: 'queue' }, [['', 'All my queues']], filters.queue);
  const form = h('form', { class: 'filters', id: 'case-filters' },
    field('Queue', queueSelect),
    field('Status', select({ name: 'status' }, [['', 'Open and claimed'], ['open', 'Open'], ['claimed', 'Claimed'], ['resolved', 'Resolved'], ['all', 'All']], filters.status)),
    field('Priority', select({ name: 'priority' }, [['', 'Any'], ['urgent', 'Urgent'], ['high', 'High'], ['normal', 'Normal']], filters.priority)),
    field('Language', select({ name: 'language' }, [['', 'Any'], ...LANGS.map((l) => [l.code, `${l.name} (${l.native})`])], filters.language)),
    h('button', { type: 'submit', class: 'btn' }, 'Apply'));
  form.addEventListener('submit', (e) => { e.preventDefault(); refresh(); });
  form.addEventListener('change', (e) => { if (e.target.tagName === 'SELECT') refresh(); });

  replace(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Cases'), status),
    tiles, form,
    h('section', { class: 'panel flush', 'aria-labelledby': 'cases-h' }, h('h2', { id: 'cases-h', class: 'sr-only' }, 'Case list'), list));

  let timer = 0;
  let stopped = false;
  let queuesKnown = '';

  async function refresh() {
    clearTimeout(timer);
    for (const k of Object.keys(filters)) filters[k] = form.elements[k].value;
    try {
      const [queues, cases] = await Promise.all([get('/api/v1/queues'), get('/api/v1/cases' + qs(filters))]);
      if (stopped) return;
      const ids = queues.map((q) => q.id).join(',');
      if (ids !== queuesKnown) {
        queuesKnown = ids;
        replace(queueSelect, h('option', { value: '' }, 'All my queues'),
          queues.map((q) => h('option', { value: q.id, selected: q.id === filters.queue }, `${q.id} (${q.partner})`)));
      }
      renderTiles(tiles, queues);
      renderCases(list, cases);
      status.textContent = `Updated ${new Date().toLocaleTimeString()} · refreshes every ${POLL_MS / 1000} s`;
      status.classList.remove('error-text');
    } catch (e) {
      if (stopped) return;
      status.textContent = `Could not refresh: ${e.message}`;
      status.classList.add('error-text');
    }
    if (!stopped) timer = setTimeout(refresh, document.hidden ? POLL_MS * 4 : POLL_MS);
  }
  await refresh();
  return () => { stopped = true; clearTimeout(timer); };
}

function renderTiles(tiles, queues) {
  replace(tiles, queues.map((q) => h('li', { class: ['tile', q.overdue > 0 && 'tile-overdue', q.urgent > 0 && 'tile-urgent'], dataset: { queue: q.id } },
    h('span', { class: 'tile-title' }, q.id),
    h('span', { class: 'tile-sub' }, `${q.partner} · SLA ${q.sla_minutes} min${q.hours ? ' · ' + q.hours : ''}`),
    h('span', { class: 'tile-counts' },
      h('span', { class: 'count' }, h('strong', { class: 'count-open' }, String(q.open)), ' open'),
      h('span', { class: ['count', q.urgent > 0 && 'count-urgent'] }, h('strong', { class: 'count-urgent-n' }, String(q.urgent)), ' urgent'),
      h('span', { class: ['count', q.overdue > 0 && 'count-overdue'] }, h('strong', null, String(q.overdue)), ' overdue')))));
  if (!queues.length) tiles.append(h('li', { class: 'tile muted' }, 'You are not assigned to any queue yet. Ask an admin.'));
}

function renderCases(list, cases) {
  const now = Date.now();
  const focused = document.activeElement?.closest?.('[data-case]')?.dataset.case;
  replace(list, cases.map((c) => h('li', {
    class: ['case-row', c.priority === 'urgent' && 'is-urgent', c.overdue && 'is-overdue'],
    dataset: { case: String(c.id), priority: c.priority },
  },
  h('a', { href: `#/cases/${c.id}`, class: 'case-link' },
    h('span', { class: 'case-line1' },
      priorityBadge(c.priority),
      c.overdue ? badge('Overdue', 'overdue') : null,
      h('span', { class: 'case-id' }, `#${c.id}`),
      h('span', { class: 'case-intent' }, c.intent || 'unknown'),
      h('span', { class: 'case-queue muted' }, c.queue)),
    h('span', { class: 'case-line2' },
      h('span', null, langName(c.language)),
      h('span', null, c.channel === 'messenger' ? 'Messenger' : 'WhatsApp'),
      h('span', { class: 'mono' }, c.contact),
      h('span', null, 'Last message ', timeEl(c.last_message_at, since(c.last_message_at, now))),
      c.awaiting_reply_since ? h('span', { class: ['waiting', c.overdue_reason === 'person_waiting' && 'warn-text'] },
        'Person waiting for a reply since ', timeEl(c.awaiting_reply_since, since(c.awaiting_reply_since, now))) : null,
      windowBadge(c.window_open, c.channel),
      h('span', null, c.status === 'claimed' ? `Claimed by ${c.assignee}` : c.status === 'resolved' ? 'Resolved' : 'Unclaimed'))))));
  if (!cases.length) list.append(h('li', { class: 'empty' }, 'No cases match. New cases appear here on their own.'));
  if (focused) list.querySelector(`[data-case="${CSS.escape(focused)}"] a`)?.focus();
}
