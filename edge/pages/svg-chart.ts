/**
 * @module Server-rendered SVG charts for the console's dashboard: a stacked bar chart (one bar per
 * day, one colour per series) with a title and a description for screen readers, a legend in
 * words, and the same numbers as a table beside it. No chart library and no script: the SVG is
 * markup escaped by hono/html like the rest of the page, and coloured by classes of stepgate.css
 * (the CSP allows no inline style).
 */
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

/** How many colours the stylesheet defines (`.s0` … `.s7`); a ninth series reuses the first. */
export const SERIES_COLOURS = 8;

export interface ChartSeries {
  /** What the series is, in words (an app's name). */
  name: string;
  /** One count per category (day), in the order of `categories`. */
  values: readonly number[];
}

export interface StackedBarChart {
  /** A page-unique id (letters, digits, `-`): the title and description are referenced by it. */
  id: string;
  title: string;
  /** The unit counted, plural (e.g. "step-ups"): used in the description and the bar tooltips. */
  unit: string;
  /** The categories along the bottom (days, `YYYY-MM-DD`). */
  categories: readonly string[];
  series: readonly ChartSeries[];
}

const WIDTH = 640;
const HEIGHT = 220;
const M = { top: 12, right: 12, bottom: 28, left: 40 };
const PLOT_W = WIDTH - M.left - M.right;
const PLOT_H = HEIGHT - M.top - M.bottom;

/** The top of the y axis: the largest total rounded up to 1, 2 or 5 times a power of ten (at least 1). */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/** Round to one decimal: coordinates stay short and the output stable. */
const r1 = (n: number): number => Math.round(n * 10) / 10;

/** "2026-03-07" → "03-07" (a short label under a bar). */
const shortDay = (d: string): string => (/^\d{4}-\d{2}-\d{2}$/.test(d) ? d.slice(5) : d);

/** The totals per category. */
export const totals = (c: Pick<StackedBarChart, 'categories' | 'series'>): number[] =>
  c.categories.map((_, i) => c.series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));

/** The chart as an accessible SVG (`role="img"`, titled and described) and a legend. */
export function stackedBarChart(c: StackedBarChart): HtmlEscapedString | Promise<HtmlEscapedString> {
  const sums = totals(c);
  const total = sums.reduce((a, b) => a + b, 0);
  const top = niceMax(Math.max(0, ...sums));
  const n = Math.max(1, c.categories.length);
  const slot = PLOT_W / n;
  const barW = r1(Math.max(1, slot * 0.7));
  const y = (v: number) => r1(M.top + PLOT_H - (v / top) * PLOT_H);
  // Label every k-th day so the labels never overlap (about 12 fit).
  const every = Math.max(1, Math.ceil(n / 12));
  const busiest = sums.indexOf(Math.max(...sums));
  const desc =
    total === 0
      ? `No ${c.unit} from ${c.categories[0] ?? '–'} to ${c.categories.at(-1) ?? '–'}.`
      : `${total} ${c.unit} from ${c.categories[0]} to ${c.categories.at(-1)}, ` +
        `most on ${c.categories[busiest]} (${sums[busiest]}). The table below has every number.`;

  const bars = c.categories.map((day, i) => {
    const x = r1(M.left + i * slot + (slot - barW) / 2);
    let base = 0;
    return c.series.map((s, si) => {
      const v = s.values[i] ?? 0;
      if (v <= 0) return '';
      const y0 = y(base + v);
      const h = r1(y(base) - y0);
      base += v;
      const tip = html`<title>${day}, ${s.name}: ${v} ${c.unit}</title>`;
      return html`<rect class="s${si % SERIES_COLOURS}" x="${x}" y="${y0}" width="${barW}" height="${h}">${tip}</rect>`;
    });
  });
  const labels = c.categories.map((day, i) =>
    i % every === 0
      ? html`<text class="axis" x="${r1(M.left + i * slot + slot / 2)}" y="${HEIGHT - 8}" text-anchor="middle">${shortDay(day)}</text>`
      : '',
  );
  const ticks = [0, top / 2, top].map((t) => {
    const label = Number.isInteger(t) ? t : t.toFixed(1);
    return html`<line class="grid" x1="${M.left}" x2="${WIDTH - M.right}" y1="${y(t)}" y2="${y(t)}"></line>
<text class="axis" x="${M.left - 6}" y="${r1(y(t) + 4)}" text-anchor="end">${label}</text>`;
  });
  const legend = c.series.map((s, si) => html`<li><span class="swatch s${si % SERIES_COLOURS}" aria-hidden="true"></span>${s.name}</li>`);
  return html`<figure class="chart">
<svg role="img" aria-labelledby="${c.id}-title ${c.id}-desc" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="100%"
 preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">
<title id="${c.id}-title">${c.title}</title>
<desc id="${c.id}-desc">${desc}</desc>
${ticks}${bars}${labels}
</svg>
<figcaption><strong>${c.title}</strong>: ${desc}</figcaption>
${c.series.length ? html`<ul class="legend">${legend}</ul>` : ''}
</figure>`;
}

const num = (n: number) => html`<td class="num">${n}</td>`;

/** The chart's numbers as a table (a row per category, a column per series, and the total): the fallback for every reader. */
export function chartTable(c: StackedBarChart): HtmlEscapedString | Promise<HtmlEscapedString> {
  const sums = totals(c);
  const head = c.series.map((s) => html`<th scope="col">${s.name}</th>`);
  const rows = c.categories.map(
    (day, i) => html`<tr><th scope="row">${day}</th>${c.series.map((s) => num(s.values[i] ?? 0))}${num(sums[i] ?? 0)}</tr>`,
  );
  return html`<table class="data" id="${c.id}-table">
<caption>${c.title}, per day</caption>
<thead><tr><th scope="col">Day (UTC)</th>${head}<th scope="col">Total</th></tr></thead>
<tbody>${rows}</tbody>
</table>`;
}
