// Small SVG charts, drawn with DOM nodes only (labels are text nodes). Colours come from CSS
// classes .series-0 … .series-5 so the page keeps a strict style-src 'self'.
import { h, s } from './dom.js';

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Axis ticks for counts: whole steps of 1, 2, 5, 10, 20, 50 … and at most about five of them. */
function countTicks(v) {
  if (!(v > 0)) return { max: 1, step: 1 };
  let step = 1;
  for (let p = 1; ; p *= 10) {
    const m = [1, 2, 5].map((x) => x * p).find((x) => x >= v / 5);
    if (m) { step = m; break; }
  }
  return { max: Math.ceil(v / step) * step, step };
}
// Narrow screens get a narrower drawing, so its labels keep a readable size.
const narrow = () => window.matchMedia('(max-width: 640px)').matches;
const fmt = (v) => (Number.isInteger(v) ? String(v) : String(Math.round(v * 10) / 10));

function legend(series) {
  if (series.length < 2) return null;
  return h('ul', { class: 'legend' }, series.map((se, i) =>
    h('li', null, h('span', { class: ['swatch', `series-${se.color ?? i}`], 'aria-hidden': 'true' }), se.name)));
}

/** The numbers behind a chart, for screen readers and for anyone who wants them exact. */
function dataTable(caption, head, rows) {
  return h('details', { class: 'chart-data' }, h('summary', null, 'Show the numbers'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table small' }, h('caption', { class: 'sr-only' }, caption),
      h('thead', null, h('tr', null, head.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, rows.map((r) => h('tr', null, r.map((x, i) => (i === 0 ? h('th', { scope: 'row' }, x) : h('td', null, x)))))))));
}

/**
 * Vertical bars. categories: labels on the x axis; series: [{name, values[], color?}].
 * stacked: one bar per category with the series on top of each other; otherwise side by side.
 */
export function barChart({ title, categories, series, stacked = true, height = 220, labelEvery, empty = 'No data for this period.' }) {
  const W = narrow() ? 380 : 640, H = narrow() ? Math.round(height * 0.8) : height, L = 30, R = 6, T = 12, B = 34;
  const totals = categories.map((_, i) => (stacked ? series.reduce((a, se) => a + (se.values[i] || 0), 0) : Math.max(0, ...series.map((se) => se.values[i] || 0))));
  const { max, step } = countTicks(Math.max(0, ...totals));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const band = (W - L - R) / Math.max(1, categories.length);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title });
  for (let v = 0; v <= max + 1e-9; v += step) {
    svg.append(s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }),
      s('text', { x: L - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, fmt(v)));
  }
  const every = labelEvery || Math.max(1, Math.ceil(categories.length / (narrow() ? 5 : 10)));
  categories.forEach((cat, i) => {
    const x0 = L + band * i;
    const bw = Math.max(2, band * 0.7);
    let acc = 0;
    series.forEach((se, j) => {
      const v = se.values[i] || 0;
      if (!v) return;
      let rect;
      if (stacked) {
        rect = s('rect', { x: x0 + (band - bw) / 2, width: bw, y: y(acc + v), height: Math.max(0.5, y(acc) - y(acc + v)), class: `series-${se.color ?? j}` });
        acc += v;
      } else {
        const w = bw / series.length;
        rect = s('rect', { x: x0 + (band - bw) / 2 + w * j, width: Math.max(1, w - 1), y: y(v), height: Math.max(0.5, y(0) - y(v)), class: `series-${se.color ?? j}` });
        svg.append(s('text', { x: x0 + (band - bw) / 2 + w * j + w / 2, y: y(v) - 3, class: 'value', 'text-anchor': 'middle' }, fmt(v)));
      }
      rect.append(s('title', null, `${cat} · ${se.name}: ${fmt(v)}`));
      svg.append(rect);
    });
    if (stacked && acc > 0 && categories.length <= 16) svg.append(s('text', { x: x0 + band / 2, y: y(acc) - 3, class: 'value', 'text-anchor': 'middle' }, fmt(acc)));
    if (i % every === 0) svg.append(s('text', { x: x0 + band / 2, y: H - B + 16, class: 'axis', 'text-anchor': 'middle' }, cat));
  });
  svg.append(s('line', { x1: L, x2: W - R, y1: y(0), y2: y(0), class: 'axis-line' }));
  const hasData = totals.some((t) => t > 0);
  return h('figure', { class: 'chart-fig' },
    hasData ? svg : h('p', { class: 'muted chart-empty' }, empty), hasData ? legend(series) : null,
    dataTable(title, ['', ...series.map((se) => se.name)], categories.map((cat, i) => [cat, ...series.map((se) => fmt(se.values[i] || 0))])));
}

/**
 * Horizontal bars, one row per item: rows [{label, values: [v, …], marker?: {value, label}}].
 * series names the values of each row (e.g. median, 90th percentile).
 */
export function hbarChart({ title, rows, series = [{ name: 'value' }], unit = '', integer = false, empty = 'No data for this period.' }) {
  const rowH = 16 * series.length + 14;
  const W = narrow() ? 380 : 640, L = narrow() ? 112 : 150, R = 64, T = 6;
  const H = T + rows.length * rowH + 24;
  const top = Math.max(0, ...rows.flatMap((r) => [...r.values, r.marker ? r.marker.value : 0]));
  const ticks = integer ? countTicks(top) : { max: niceMax(top * 1.05) };
  const max = ticks.max;
  if (!integer) ticks.step = max / 2;
  const x = (v) => L + (W - L - R) * (v / max);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title });
  rows.forEach((r, i) => {
    const y0 = T + i * rowH;
    svg.append(s('text', { x: L - 8, y: y0 + rowH / 2 + 2, class: 'axis label', 'text-anchor': 'end' }, r.label.length > (narrow() ? 16 : 22) ? r.label.slice(0, narrow() ? 15 : 21) + '…' : r.label));
    r.values.forEach((v, j) => {
      const yy = y0 + 5 + j * 16;
      const rect = s('rect', { x: L, y: yy, width: Math.max(v > 0 ? 1.5 : 0, x(v) - L), height: 13, class: `series-${series[j].color ?? j}` });
      rect.append(s('title', null, `${r.label} · ${series[j].name}: ${fmt(v)}${unit}`));
      svg.append(rect, s('text', { x: x(v) + 4, y: yy + 11, class: 'value' }, `${fmt(v)}${unit}`));
    });
    if (r.marker) {
      const mx = x(r.marker.value);
      svg.append(s('line', { x1: mx, x2: mx, y1: y0 + 2, y2: y0 + rowH - 2, class: 'marker' }, s('title', null, r.marker.label)));
    }
  });
  const base = H - 20;
  svg.append(s('line', { x1: L, x2: L, y1: T, y2: base, class: 'axis-line' }), s('line', { x1: L, x2: W - R, y1: base, y2: base, class: 'axis-line' }));
  for (let v = 0; v <= max + 1e-9; v += ticks.step) {
    svg.append(s('line', { x1: x(v), x2: x(v), y1: base, y2: base + 4, class: 'axis-line' }),
      s('text', { x: x(v), y: base + 16, class: 'axis', 'text-anchor': 'middle' }, `${fmt(v)}${unit}`));
  }
  const marker = rows.some((r) => r.marker);
  return h('figure', { class: 'chart-fig' }, rows.length ? svg : h('p', { class: 'muted chart-empty' }, empty),
    rows.length ? h('ul', { class: 'legend' }, series.length > 1 ? series.map((se, i) => h('li', null, h('span', { class: ['swatch', `series-${se.color ?? i}`], 'aria-hidden': 'true' }), se.name)) : null,
      marker ? h('li', null, h('span', { class: 'swatch swatch-marker', 'aria-hidden': 'true' }), 'SLA') : null) : null,
    dataTable(title, ['', ...series.map((se) => se.name), ...(marker ? ['SLA'] : [])],
      rows.map((r) => [r.label, ...r.values.map((v) => `${fmt(v)}${unit}`), ...(marker ? [r.marker ? `${fmt(r.marker.value)}${unit}` : ''] : [])])));
}
