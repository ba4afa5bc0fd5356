/**
 * @module The approval queue (/.stepgate/approvals, docs/approvals.md "Pages"): the requests waiting
 * for the viewer's decision, and the viewer's own requests with where each stands. Each row links to
 * the request's page (approval-page.ts), where it is shown in full and decided. The page script
 * (edge/browser/approvals.ts) asks the approval API for news and shows the queue again when it changes.
 */
import { html } from 'hono/html';
import { queueSignature, requirementWords } from '../../shared/approval-words';
import type { ApprovalJson, ApprovalList } from '../../shared/wire-shapes';
import { actionLine, expiryTag, shown, stateBadge, timeTag } from './approval-view';
import { type Content, type ConsoleFrame, consolePage, count, headRow, tableBox } from './console-layout';

export interface ApprovalsPageData {
  /** The queue, as GET /.stepgate/api/approvals answers the viewer. */
  list: ApprovalList;
  /** The time the page is rendered at (ms since the epoch; tests fix it). */
  now?: number;
}

/** A request's page on this host (its id in the path: the API's `page_url` may name the app's own host). */
const itemPath = (a: ApprovalJson): string => `/.stepgate/approvals/${encodeURIComponent(a.id)}`;

// Each cell names its column (data-label): on a narrow screen the rows are cards (CSS `table.cards`).
const awaitingRow = (a: ApprovalJson, now: number) => html`<tr data-approval="${a.id}">
<td data-label="App">${a.app.name}</td>
<td data-label="Action" class="mono">${actionLine(a)}</td>
<td data-label="Asked by">${shown(a.requester)}</td>
<td data-label="Asked">${timeTag(a.created_at, now)}</td>
<td data-label="Expires">${expiryTag(a, now)}</td>
<td class="actions"><a href="${itemPath(a)}">Review</a></td>
</tr>`;

/** "1 of 2 approvals", over every group. */
const progress = (a: ApprovalJson): string => {
  const need = a.required.reduce((n, r) => n + r.count, 0);
  const have = a.required.reduce((n, r) => n + Math.min(r.have, r.count), 0);
  return `${have} of ${count(need, 'approval')}`;
};

const yoursRow = (a: ApprovalJson, now: number) => html`<tr data-approval="${a.id}">
<td data-label="Action" class="mono">${actionLine(a)}</td>
<td data-label="App">${a.app.name}</td>
<td data-label="State">${stateBadge(a.state)}</td>
<td data-label="Asked">${timeTag(a.created_at, now)}</td>
<td data-label="Approvals" title="${a.required.map(requirementWords).join('; ')}">${progress(a)}</td>
<td class="actions"><a href="${itemPath(a)}">${a.state === 'approved' ? 'Carry it out' : 'Open'}</a></td>
</tr>`;

const awaitingSection = (list: readonly ApprovalJson[], now: number) => html`<section id="awaiting" aria-labelledby="awaiting-title">
<h2 id="awaiting-title">Waiting for you (${list.length})</h2>
${
  list.length
    ? tableBox(
        'Waiting for you',
        html`<table class="data cards">${headRow('App', 'Action', 'Asked by', 'Asked', 'Expires', '')}<tbody>${list.map((a) =>
          awaitingRow(a, now),
        )}</tbody></table>`,
      )
    : html`<p class="note" id="awaiting-empty">Nothing is waiting for you. When someone asks for an action that a rule says you
may approve, it appears here (and in the Stepgate extension’s badge) until it is decided or expires.</p>`
}
</section>`;

const yoursSection = (list: readonly ApprovalJson[], now: number) => html`<section id="yours" aria-labelledby="yours-title">
<h2 id="yours-title">Your requests</h2>
${
  list.length
    ? tableBox(
        'Your requests',
        html`<table class="data cards">${headRow('Action', 'App', 'State', 'Asked', 'Approvals', '')}<tbody>${list.map((a) =>
          yoursRow(a, now),
        )}</tbody></table>`,
      )
    : html`<p class="note" id="yours-empty">You have no requests here yet. When an action you take needs another
person’s approval, it waits here: you see who must approve, and carry it out once they have.</p>`
}
</section>`;

/** The approval queue of the viewer the `list` was answered to. */
export function approvalsPage(f: ConsoleFrame, d: ApprovalsPageData): Content {
  const now = d.now ?? Date.now();
  const body = html`<div id="approvals-page" data-signature="${queueSignature(d.list)}">
<p>Some actions need a second person: the rule names who must approve, and the request waits, exactly as it was made, until
they have. Nobody approves their own request.</p>
${awaitingSection(d.list.awaiting_you, now)}
${yoursSection(d.list.yours, now)}
</div>`;
  return consolePage(f, { title: 'Approvals', body, script: 'approvals', state: 'ready' });
}
