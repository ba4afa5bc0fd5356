/**
 * @module The console's organisation baseline page (/.stepgate/admin/orgs/:org/baseline): the rules
 * every app of the organisation runs before its own, in words; a weakening change waiting for a
 * second owner or admin, with why it weakens and Approve / Reject; and, for owners and admins, the
 * editor (the JSON document, saved through the admin API by edge/browser/baseline.ts). App-admins and
 * auditors read it, so they know why an app policy that weakens it is refused.
 */
import { html } from 'hono/html';
import type { Baseline } from '../policy/baseline-merge';
import { ruleSummary } from '../policy/policy-diff';
import type { Rule } from '../policy/schema';
import { type Content, type ConsoleFrame, consolePage, count, headRow, tableBox, when } from './console-layout';

export interface BaselinePageData {
  /** The baseline in force: null when the organisation has none; `document` null when it no longer validates. */
  baseline: { document: Baseline | null; hash: string; updatedAt: number; updatedBy: string | null } | null;
  /** A weakening change waiting for a second owner or admin. */
  proposal: { json: string; hash: string; by: string | null; at: number; mine: boolean; reasons: readonly string[] } | null;
  /** Owners and admins change it; others read it. */
  mayUpdate: boolean;
}

/** What a rule asks for, in words. */
const requires = (r: Rule): string => {
  const bind = r.require.bind === 'action' ? 'for each request' : 'once per session';
  const mode = r.mode === 'report' ? ' (report-only: counted, never challenged)' : '';
  return `${r.require.factors.join(' or ')}, ${bind}, valid ${r.require.maxAge ?? '5m'}${mode}`;
};

/** The document settings it holds apps to, in words. */
function settings(b: Baseline): string[] {
  const out = [
    b.caseSensitive ? 'apps may match paths case-sensitively' : 'apps match paths in any case (caseSensitive stays off)',
    b.allowPathInfo ? 'apps may allow path info' : 'apps refuse a script name followed by more path (allowPathInfo stays off)',
  ];
  if (b.maxInspectBytes !== undefined) out.push(`apps read at most ${b.maxInspectBytes} bytes of a body`);
  if (b.enrolment === 'invite') out.push('a person with no factor enrols only with an invitation');
  return out;
}

const rulesTable = (b: Baseline) =>
  b.rules.length === 0
    ? html`<p class="note">No rules: apps are held only to the settings below.</p>`
    : tableBox(
        'Baseline rules',
        html`<table class="data">${headRow('Rule (in apps)', 'Requests', 'Needs')}<tbody>${b.rules.map(
          (r) => html`<tr><th scope="row">baseline.${r.id}</th><td>${ruleSummary(r)}</td><td>${requires(r)}</td></tr>`,
        )}</tbody></table>`,
      );

function current(d: BaselinePageData): Content {
  const b = d.baseline;
  if (!b) return html`<p>This organisation has no baseline: each app's policy is its own.</p>`;
  if (!b.document)
    return html`<p class="warn">The stored baseline could not be read. Until an owner or admin saves a valid one,
every change of an app's policy is refused.</p>`;
  return html`<p>${count(b.document.rules.length, 'rule')}, saved ${when(b.updatedAt)}${b.updatedBy ? html` by ${b.updatedBy}` : ''}.
They come first in every app of the organisation: no app rule can remove, replace or weaken them.</p>
${rulesTable(b.document)}
<ul>${settings(b.document).map((s) => html`<li>${s}</li>`)}</ul>`;
}

function proposal(d: BaselinePageData): Content {
  const p = d.proposal;
  if (!p) return html``;
  const who = p.mine ? 'you' : (p.by ?? 'someone whose name cannot be read');
  const buttons = d.mayUpdate
    ? html`<p class="row wrap">${
        p.mine
          ? html`<span class="note">Another owner or admin must approve it.</span>`
          : html`<button type="button" id="approve" data-hash="${p.hash}">Approve this change</button>`
      }
<button type="button" id="reject" class="secondary" data-hash="${p.hash}">${p.mine ? 'Withdraw it' : 'Reject it'}</button></p>`
    : html``;
  return html`<section class="panel" id="proposal">
<h2>Waiting for approval</h2>
<p>Proposed by ${who}, ${when(p.at)}. It weakens the baseline or an app of the organisation,
so a second owner or admin must approve it before it applies:</p>
<ul class="warn">${p.reasons.map((r) => html`<li>${r}</li>`)}</ul>
<details><summary>The proposed document</summary>
<textarea rows="12" readonly spellcheck="false" aria-label="The proposed baseline">${p.json}</textarea></details>
${buttons}
</section>`;
}

const editor = (d: BaselinePageData) =>
  d.mayUpdate
    ? html`<section class="panel" id="editor-panel">
<h2>Change the baseline</h2>
<p class="note">A policy document without "hosts": its rules apply on each app's own hosts.
A change that removes or weakens a rule, or loosens a setting, waits for a second owner or admin; so does a rule that would
apply before a stricter rule of some app (the first matching rule applies, and baseline rules come first). A stricter one applies at once;
one that some app's policy could not run behind is refused, naming the app.</p>
<form id="baseline-form" class="stack" novalidate>
<label for="baseline-text">The baseline (JSON)</label>
<textarea id="baseline-text" rows="16" spellcheck="false" autocomplete="off">${JSON.stringify(
        d.baseline?.document ?? { version: 1, rules: [] },
        null,
        2,
      )}</textarea>
<p class="row wrap"><button type="submit">Save the baseline</button></p>
<ul id="baseline-problems" class="warn"></ul>
</form>
</section>`
    : html`<p class="note">Only owners and admins change the baseline.
If your app's policy is refused because it weakens it, ask one of them.</p>`;

export function baselinePage(f: ConsoleFrame, d: BaselinePageData): Content {
  const body = html`<p>Rules every app of ${f.orgName} enforces before its own, which app-admins cannot remove or weaken.</p>
${current(d)}
${proposal(d)}
${editor(d)}`;
  return consolePage(f, { title: 'Organisation baseline', body, script: 'baseline', state: 'ready' });
}
