// <zs-history-chart>: a property's state history as an inline SVG step chart (no library).
// Numbers draw a line with min/max; bools and enums draw one band per value. A visually hidden
// table carries the same data for screen readers.

import { valueLabel } from '../capabilities.js';
import { h, s } from '../dom.js';
import { formatTime, t, toMillis } from '../i18n.js';

/** @typedef {import('../capabilities.js').PropDef} PropDef */

const HEIGHT = 200;
const PAD = { top: 14, right: 12, bottom: 26 };

class ZsHistoryChart extends HTMLElement {
  constructor() {
    super();
    /** @type {[number, any][]} */
    this.points = [];
    /** @type {PropDef | null} */
    this.def = null;
    this.label = '';
    this.since = 0;
    /** @type {ResizeObserver | null} */
    this.observer = null;
    this.lastWidth = 0;
  }

  connectedCallback() {
    this.classList.add('history-chart');
    this.observer = new ResizeObserver(() => {
      const w = Math.round(this.clientWidth);
      if (w && Math.abs(w - this.lastWidth) > 4) this.render();
    });
    this.observer.observe(this);
  }

  disconnectedCallback() {
    this.observer?.disconnect();
  }

  /**
   * @param {{points: [any, any][], def: PropDef, label: string, since: number}} data
   */
  setData({ points, def, label, since }) {
    this.points = points
      .map(([ts, v]) => /** @type {[number, any]} */ ([toMillis(ts), v]))
      .filter(([ms]) => !Number.isNaN(ms))
      .sort((a, b) => a[0] - b[0]);
    this.def = def;
    this.label = label;
    this.since = since;
    this.render();
  }

  render() {
    const def = this.def;
    this.replaceChildren();
    if (!def) return;
    const width = Math.max(280, Math.round(this.clientWidth || 600));
    this.lastWidth = width;
    if (!this.points.length) {
      this.append(h('p', { class: 'muted chart-empty', text: t('history.empty') }));
      return;
    }
    const now = Date.now();
    // Start where the data starts when the history is shorter than the chosen period (a device
    // added an hour ago), with at least five minutes shown.
    const x1 = Math.max(now, this.points[this.points.length - 1][0]);
    const x0 = Math.min(Math.max(this.since || 0, this.points[0][0]), x1 - 5 * 60e3);
    const plotH = HEIGHT - PAD.top - PAD.bottom;

    const numeric = def.type === 'number' || def.type === 'int';
    /** @type {(v: any) => number} */
    let sy;
    /** @type {{y: number, text: string}[]} */
    let ticks;
    if (numeric) {
      const values = this.points.map(([, v]) => Number(v)).filter((v) => !Number.isNaN(v));
      let lo = Math.min(...values);
      let hi = Math.max(...values);
      if (def.range) {
        lo = Math.min(lo, def.range[0]);
        hi = Math.max(hi, def.range[1]);
      }
      if (lo === hi) {
        lo -= 1;
        hi += 1;
      }
      sy = (v) => PAD.top + (1 - (Number(v) - lo) / (hi - lo)) * plotH;
      const mid = hi - lo > 10 ? Math.round((lo + hi) / 2) : Math.round(((lo + hi) / 2) * 10) / 10;
      ticks = [hi, mid, lo].map((v) => ({ y: sy(v), text: valueLabel(def, Math.round(v * 10) / 10) }));
    } else {
      const cats = def.type === 'bool' ? [false, true] : [...new Set([...(def.values ?? []), ...this.points.map(([, v]) => v)])];
      const index = (/** @type {any} */ v) => Math.max(0, cats.findIndex((c) => c === v));
      const n = Math.max(1, cats.length - 1);
      sy = (v) => PAD.top + (1 - index(v) / n) * plotH;
      ticks = cats.map((c) => ({ y: sy(c), text: valueLabel(def, c) }));
    }

    // The value labels decide the left margin (CJK characters are about twice as wide).
    const labelWidth = Math.max(...ticks.map((tk) => textWidth(truncate(tk.text, 12))));
    const left = Math.min(Math.round(width * 0.4), Math.max(40, labelWidth + 12));
    const plotW = width - left - PAD.right;
    const sx = (/** @type {number} */ ms) => left + Math.min(1, Math.max(0, (ms - x0) / Math.max(1, x1 - x0))) * plotW;

    // Step path: each value holds until the next point; the last one holds until now.
    let d = '';
    this.points.forEach(([ms, v], i) => {
      const x = sx(ms);
      const y = sy(v);
      d += i === 0 ? `M${x.toFixed(1)},${y.toFixed(1)}` : `H${x.toFixed(1)}V${y.toFixed(1)}`;
    });
    d += `H${sx(x1).toFixed(1)}`;
    const baseY = PAD.top + plotH;
    const area = `${d}V${baseY}H${sx(this.points[0][0]).toFixed(1)}Z`;

    const timeTicks = [x0, (x0 + x1) / 2, x1];
    const first = this.points[0];
    const last = this.points[this.points.length - 1];
    const summary = t('history.summary', {
      label: this.label,
      count: this.points.length,
      from: formatTime(first[0], { date: true }),
      to: formatTime(last[0], { date: true }),
      last: valueLabel(def, last[1]),
    });

    const svg = s(
      'svg',
      {
        class: 'chart-svg',
        width,
        height: HEIGHT,
        viewBox: `0 0 ${width} ${HEIGHT}`,
        role: 'img',
        'aria-label': summary,
      },
      s('title', {}, summary),
      ticks.map((tk) =>
        s(
          'g',
          { class: 'chart-tick' },
          s('line', { x1: left, x2: width - PAD.right, y1: tk.y.toFixed(1), y2: tk.y.toFixed(1), class: 'chart-grid' }),
          s('text', { x: left - 6, y: (tk.y + 4).toFixed(1), 'text-anchor': 'end', class: 'chart-label' }, truncate(tk.text, 12)),
        ),
      ),
      timeTicks.map((ms, i) =>
        s(
          'text',
          {
            x: sx(ms).toFixed(1),
            y: HEIGHT - 6,
            'text-anchor': i === 0 ? 'start' : i === 2 ? 'end' : 'middle',
            class: 'chart-label',
          },
          formatTime(ms, { seconds: false }),
        ),
      ),
      s('path', { d: area, class: 'chart-area' }),
      s('path', { d, class: 'chart-line' }),
      this.points.length <= 60
        ? this.points.map(([ms, v]) => s('circle', { cx: sx(ms).toFixed(1), cy: sy(v).toFixed(1), r: 2.5, class: 'chart-dot' }))
        : null,
    );
    this.append(svg, this.table(def));
  }

  /** The newest points as a table (visually hidden, for screen readers and copying). @param {PropDef} def */
  table(def) {
    const rows = this.points.slice(-20).reverse();
    return h(
      'table',
      { class: 'visually-hidden' },
      h('caption', { text: t('history.table_caption', { label: this.label }) }),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: t('history.time') }), h('th', { scope: 'col', text: t('history.value') }))),
      h(
        'tbody',
        {},
        rows.map(([ms, v]) => h('tr', {}, h('td', { text: formatTime(ms, { date: true }) }), h('td', { text: valueLabel(def, v) }))),
      ),
    );
  }
}

/** Rough width in px of 11 px text: CJK characters count double. @param {string} text */
function textWidth(text) {
  let w = 0;
  for (const ch of text) w += /[\u3000-\u9fff\uff00-\uffef]/.test(ch) ? 11 : 6.5;
  return w;
}

/** @param {string} text @param {number} n */
function truncate(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

customElements.define('zs-history-chart', ZsHistoryChart);
