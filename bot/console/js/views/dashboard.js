// Supervisors' dashboard: charts for a date range (UTC days, as the server counts them) and the
// same numbers as a CSV download.
import { get, qs } from '../api.js';
import { h, replace, field, errorBox, busy } from '../dom.js';
import { barChart, hbarChart } from '../charts.js';
import { isoDay, langName, duration } from '../format.js';

const range = { from: '', to: '' };

export async function dashboardView(root) {
  if (!range.to) {
    const today = new Date();
    range.to = isoDay(today);
    range.from = isoDay(new Date(today.getTime() - 13 * 86400000));
  }
  const from = h('input', { type: 'date', name: 'from', value: range.from, required: true, id: 'report-from' });
  const to = h('input', { type: 'date', name: 'to', value: range.to, required: true, id: 'report-to' });
  const err = errorBox();
  const csv = h('a', { class: 'btn', id: 'report-csv', download: '' }, 'Download CSV');
  const body = h('div', { id: 'report' });
  const form = h('form', { class: 'filters', id: 'report-form' }, field('From', from), field('To', to),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Show'), csv);
  replace(root, h('div', { class: 'page-head' }, h('h1', null, 'Dashboard'),
    h('p', { class: 'muted small' }, 'Days are UTC days. Message counts are messages people sent.')), form, err, body);

  let last = null;
  async function load() {
    range.from = from.value;
    range.to = to.value;
    const q = qs({ from: range.from, to: range.to });
    csv.setAttribute('href', '/api/v1/reports.csv' + q);
    err.show('');
    try {
      const r = await get('/api/v1/reports' + q);
      last = r;
      render(body, r);
    } catch (e) {
      err.show(e.message);
      replace(body);
    }
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); busy(form, load); });
  await load();
  // The charts are drawn for the screen's width: redraw when it crosses the phone breakpoint.
  const mq = window.matchMedia('(max-width: 640px)');
  const redraw = () => { if (last) render(body, last); };
  mq.addEventListener('change', redraw);
  return () => mq.removeEventListener('change', redraw);
}

function days(from, to) {
  const out = [];
  for (let t = Date.parse(from + 'T00:00:00Z'); t <= Date.parse(to + 'T00:00:00Z') && out.length < 400; t += 86400000) out.push(isoDay(new Date(t)));
  return out;
}

function render(body, r) {
  const dayList = days(r.from, r.to);
  const short = dayList.map((d) => d.slice(5));
  const perDay = (key) => {
    const names = [...new Set(r.messages_per_day.map((m) => m[key]))].sort();
    return names.map((n, i) => ({
      name: key === 'language' ? langName(n) : n === 'whatsapp' ? 'WhatsApp' : n === 'messenger' ? 'Messenger' : n,
      color: key === 'language' ? { en: 0, prs: 1, ps: 2 }[n] ?? 3 : { whatsapp: 4, messenger: 0 }[n] ?? i,
      values: dayList.map((d) => r.messages_per_day.filter((m) => m.day === d && m[key] === n).reduce((a, m) => a + m.messages, 0)),
    }));
  };
  const urgentTotal = r.urgent_cases_per_day.reduce((a, u) => a + u.cases, 0);
  const today = isoDay(new Date());
  const todayMessages = r.messages_per_day.filter((m) => m.day === today).reduce((a, m) => a + m.messages, 0);
  const openTotal = r.open_cases.reduce((a, o) => a + o.open, 0);
  const overdueTotal = r.open_cases.reduce((a, o) => a + o.overdue, 0);

  const kpi = (label, value, id, cls) => h('li', { class: ['kpi', cls], id }, h('span', { class: 'kpi-value' }, String(value)), h('span', { class: 'kpi-label' }, label));
  const card = (title, id, ...content) => h('section', { class: 'panel chart-card', id, 'aria-labelledby': id + '-h' }, h('h2', { id: id + '-h' }, title), ...content);

  const intents = [...r.top_intents].sort((a, b) => b.messages - a.messages).slice(0, 12);
  replace(body,
    h('ul', { class: 'kpis' },
      kpi('messages in range', r.messages, 'kpi-messages'),
      kpi('messages today', todayMessages, 'kpi-today'),
      kpi('urgent cases', urgentTotal, 'kpi-urgent', urgentTotal ? 'kpi-urgent' : null),
      kpi('unknown intent', `${r.unknown_rate}%`, 'kpi-unknown', r.unknown_rate > 25 ? 'kpi-warn' : null),
      kpi('open cases', openTotal, 'kpi-open'),
      kpi('overdue now', overdueTotal, 'kpi-overdue', overdueTotal ? 'kpi-warn' : null)),
    h('div', { class: 'chart-grid' },
      card('Messages per day by language', 'chart-lang', barChart({ title: 'Messages per day by language', categories: short, series: perDay('language') })),
      card('Messages per day by channel', 'chart-channel', barChart({ title: 'Messages per day by channel', categories: short, series: perDay('channel') })),
      card('Top intents', 'chart-intents',
        h('p', { class: 'small' }, 'Unknown rate: ', h('strong', { class: r.unknown_rate > 25 ? 'error-text' : null }, `${r.unknown_rate}%`), ' of classified messages matched no intent.'),
        hbarChart({ title: 'Top intents', rows: intents.map((i) => ({ label: i.intent, values: [i.messages] })), series: [{ name: 'messages', color: 4 }], integer: true })),
      card('Urgent cases per day', 'chart-urgent', barChart({ title: 'Urgent cases per day', categories: short, series: [{ name: 'urgent cases', color: 5, values: r.urgent_cases_per_day.map((u) => u.cases) }], empty: 'No urgent cases in this period.' })),
      card('Time to first response vs SLA', 'chart-response',
        hbarChart({ title: 'Time to first response vs SLA (minutes)', unit: ' min',
          series: [{ name: 'median', color: 0 }, { name: '90th percentile', color: 3 }],
          rows: r.first_response.filter((f) => f.cases_opened > 0).map((f) => ({ label: f.queue, values: [f.median_minutes, f.p90_minutes], marker: { value: f.sla_minutes, label: `SLA ${f.sla_minutes} min` } })),
          empty: 'No cases were opened in this period.' }),
        h('div', { class: 'table-wrap' }, h('table', { class: 'table small', id: 'first-response-table' },
          h('thead', null, h('tr', null, ['Queue', 'SLA', 'Opened', 'Answered', 'Median', '90th pct.', 'Within SLA'].map((x) => h('th', { scope: 'col' }, x)))),
          h('tbody', null, r.first_response.map((f) => h('tr', { dataset: { queue: f.queue } },
            h('th', { scope: 'row' }, f.queue), h('td', { class: 'nowrap' }, duration(f.sla_minutes)), h('td', null, String(f.cases_opened)),
            h('td', null, String(f.responded)),
            h('td', { class: 'median nowrap' }, f.responded ? duration(f.median_minutes) : '—'),
            h('td', { class: 'nowrap' }, f.responded ? duration(f.p90_minutes) : '—'),
            h('td', { class: f.responded && f.within_sla < f.responded ? 'warn-text' : null }, f.responded ? `${f.within_sla} of ${f.responded}` : '—'))))))),
      card('Open and overdue cases by queue (now)', 'chart-open',
        barChart({ title: 'Open and overdue cases by queue', stacked: false, categories: r.open_cases.map((o) => o.queue),
          series: [{ name: 'open', color: 0, values: r.open_cases.map((o) => o.open) }, { name: 'overdue', color: 5, values: r.open_cases.map((o) => o.overdue) }],
          empty: 'No open cases.' }))));
}
