/**
 * @module The console's dashboard (/.stepgate/admin/dashboard): step-ups, failed attempts, denied
 * requests and lockouts per day and per app, as server-rendered SVG charts (svg-chart.ts), each
 * with its numbers as a table; and the most denied routes and people. The data is the
 * organisation's only (edge/audit/dashboard.ts, `dashboardData`).
 */
import { html } from 'hono/html';
import type { Dashboard } from '../audit/dashboard';
import { type Content, type ConsoleFrame, consolePage, tableBox } from './console-layout';
import { type ChartSeries, chartTable, stackedBarChart } from './svg-chart';
import { timeElement } from './time-element';

type Measure = 'stepUps' | 'failures' | 'denials' | 'lockouts';
const MEASURES: { key: Measure; title: string; unit: string }[] = [
  { key: 'stepUps', title: 'Step-ups', unit: 'step-ups' },
  { key: 'failures', title: 'Failed attempts', unit: 'failed attempts' },
  { key: 'denials', title: 'Denied requests', unit: 'denied requests' },
  { key: 'lockouts', title: 'Lockouts', unit: 'lockouts' },
];

const DAY_MS = 86_400_000;
const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Every UTC day from the one of `from` up to `to` (exclusive: the start of the day after the last), at most 400. */
export function daysBetween(from: number, to: number): string[] {
  const out: string[] = [];
  for (let t = Date.parse(dayOf(from)); t < to && out.length < 400; t += DAY_MS) out.push(dayOf(t));
  return out;
}

/** The series of one measure: one per app (named), a value per day (0 where none was counted). */
export function seriesOf(d: Dashboard, key: Measure, days: readonly string[], appName: (id: string) => string): ChartSeries[] {
  const at = new Map(days.map((day, i) => [day, i]));
  const apps = [...new Set([...d.apps, ...d.days.map((x) => x.app)])];
  return apps.map((app) => {
    const values = days.map(() => 0);
    for (const x of d.days) {
      const i = at.get(x.day);
      if (x.app === app && i !== undefined) values[i]! += x[key];
    }
    return { name: appName(app), values };
  });
}

const topTable = (caption: string, what: string, rows: readonly { name: string; count: number }[]) =>
  rows.length
    ? tableBox(
        caption,
        html`<table class="data"><caption>${caption}</caption>
<thead><tr><th scope="col">${what}</th><th scope="col" class="num">Denied</th></tr></thead>
<tbody>${rows.map((r) => html`<tr><td class="mono">${r.name}</td><td class="num">${r.count}</td></tr>`)}</tbody></table>`,
      )
    : html`<p>${caption}: none in this period.</p>`;

export interface DashboardData {
  dashboard: Dashboard;
  /** App names by id (an app not found there is named by its id). */
  appNames: ReadonlyMap<string, string>;
  /** The dates in the form (YYYY-MM-DD). */
  fromDay: string;
  toDay: string;
}

export function dashboardPage(f: ConsoleFrame, d: DashboardData): Content {
  const dash = d.dashboard;
  const days = daysBetween(dash.from, dash.to);
  const name = (id: string) => d.appNames.get(id) ?? `app ${id}`;
  const period = days.length === 1 ? `On ${days[0]}` : `From ${days[0] ?? d.fromDay} to ${days.at(-1) ?? d.toDay}`;
  const charts = MEASURES.map((m) => {
    const chart = { id: `chart-${m.key}`, title: m.title, unit: m.unit, categories: days, series: seriesOf(dash, m.key, days, name) };
    return html`<section class="panel">${stackedBarChart(chart)}
<details><summary>${m.title} as a table</summary>${tableBox(`${m.title} per day`, chartTable(chart))}</details></section>`;
  });
  const body = html`<form class="filters" method="get" action="/.stepgate/admin/dashboard">
<label>From <input type="date" name="from" value="${d.fromDay}"></label>
<label>To <input type="date" name="to" value="${d.toDay}"></label>
<p class="row"><button type="submit">Show</button></p>
</form>
<p class="note">${period}, days in UTC (at most 90 at a time).</p>
${
  dash.archivedThrough === null
    ? ''
    : html`<p class="note">Events up to ${timeElement(dash.archivedThrough)} are in the
archive and are not counted here. The audit log's export and verification include them.</p>`
}
<div class="charts">${charts}</div>
<section class="panel"><h2>Most denied</h2>
<p class="note">Counted from the newest denied requests of the period (up to a few thousand), ten at most.</p>
<div class="two">${topTable(
    'Routes',
    'Route',
    dash.topDeniedRoutes.map((r) => ({ name: r.route, count: r.count })),
  )}
${topTable(
  'People',
  'Person',
  dash.topDeniedPeople.map((p) => ({ name: p.person, count: p.count })),
)}</div>
</section>
<p><a href="/.stepgate/admin/audit">Open the audit log</a> · <a href="/.stepgate/admin">Back to the console overview</a></p>`;
  return consolePage(f, { title: 'Dashboard', body, script: 'console', state: 'ready' });
}
