/**
 * @module Browser side of the policy page's report panel: what each report-only rule would have
 * challenged in the last 24 hours (GET …/policy/report): requests, people and the top routes, and,
 * for those who may change the policy, a button that makes a report-only rule of the active version
 * enforce (POST …/policy/rules/:rule/promote).
 */
import { $ } from './api';
import { act, refused, send } from './console-common';
import { count, el, page, policyApi, type VersionAnswer, versionDone } from './policy-dom';

interface RuleReport {
  rule: string;
  requests: number;
  people: number;
  anonymous: number;
  top_routes: { route: string; requests: number }[];
}
interface ReportAnswer {
  hours: number;
  rules: RuleReport[];
  dropped: number;
}

const HOURS = 24;

function promoteButton(rule: string): HTMLButtonElement {
  const b = el('button', `Enforce rule “${rule}” now`, { type: 'button', id: `promote-${rule}`, 'data-promote': rule });
  b.addEventListener('click', () => {
    const done = (d: VersionAnswer) =>
      d.state === 'active' ? `Rule “${rule}” enforces now, as version ${d.version}. Stepgate applies it within seconds.` : versionDone(d);
    void act<VersionAnswer>('POST', `${policyApi}/rules/${encodeURIComponent(rule)}/promote`, {}, 'enforce the rule', done);
  });
  return b;
}

function routesTable(r: RuleReport): HTMLElement {
  const table = el('table', '', { class: 'data' });
  table.append(el('caption', `Top routes of rule “${r.rule}”`));
  const head = el('tr');
  head.append(el('th', 'Route', { scope: 'col' }), el('th', 'Requests', { scope: 'col', class: 'num' }));
  table.append(el('thead'), el('tbody'));
  table.tHead!.append(head);
  for (const t of r.top_routes) {
    const tr = el('tr');
    tr.append(el('td', t.route, { class: 'mono' }), el('td', String(t.requests), { class: 'num' }));
    table.tBodies[0]!.append(tr);
  }
  const box = el('div', '', { class: 'scroll' });
  box.append(table);
  return box;
}

/** One rule's part: the sentence, the anonymous share, its top routes and (report-only, may update) the promote button. */
function rulePart(rule: string, r: RuleReport | undefined, reportOnly: boolean | null): HTMLElement {
  const part = el('article', '', { id: `report-${rule}` });
  part.append(el('h3', `Rule “${rule}”`));
  if (r === undefined || r.requests === 0) {
    part.append(el('p', `Rule “${rule}” would not have challenged any request in the last ${HOURS} h.`));
  } else {
    part.append(
      el(
        'p',
        `Rule “${rule}” would have challenged ${count(r.requests, 'request')} ` +
          `from ${count(r.people, 'person', 'people')} in the last ${HOURS} h.`,
      ),
    );
    if (r.anonymous > 0)
      part.append(
        el('p', `${r.anonymous} of these requests named nobody: they would have been sent to sign in, not challenged.`, {
          class: 'note',
        }),
      );
    if (r.top_routes.length) part.append(routesTable(r));
  }
  if (reportOnly === false) part.append(el('p', 'It is no longer report-only in the active version.', { class: 'note' }));
  else if (page.mayUpdate) {
    const p = el('p');
    p.append(promoteButton(rule));
    part.append(p);
  }
  return part;
}

/**
 * Show the report of the last 24 hours. `reportOnly`: the rules of the active version that are report-only
 * (null: the active version could not be read, so nothing is offered to promote).
 */
export async function loadReport(reportOnly: readonly string[] | null): Promise<void> {
  const status = $('report-state');
  const r = await send<ReportAnswer>('GET', `${policyApi}/report?hours=${HOURS}`);
  if (!r.ok) {
    status.textContent = 'The report could not be read.';
    refused(r.problem, 'read the report');
    return;
  }
  const byRule = new Map(r.data.rules.map((x) => [x.rule, x]));
  const rules = [...new Set([...(reportOnly ?? []), ...byRule.keys()])];
  $('report-rules').replaceChildren(
    ...rules.map((rule) => rulePart(rule, byRule.get(rule), reportOnly === null ? null : reportOnly.includes(rule))),
  );
  status.textContent =
    rules.length === 0
      ? 'No rule of this policy is report-only, and none was in the last 24 h. ' +
        'Add "mode": "report" to a rule to try it on live traffic first.'
      : reportOnly === null
        ? 'What the report-only rules counted in the last 24 h:'
        : `${count(reportOnly.length, 'rule')} of the active version ${reportOnly.length === 1 ? 'is' : 'are'} report-only.`;
  if (r.data.dropped > 0)
    $('report-rules').append(
      el('p', `${count(r.data.dropped, 'request')} could not be counted per route: the hourly limit was reached.`, { class: 'note' }),
    );
}
