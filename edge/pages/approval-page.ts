/**
 * @module The page of one approval request (/.stepgate/approvals/:id, docs/approvals.md "Pages"):
 * what is asked, exactly as the extension's prompt shows it (approval-view.ts), where it stands, and
 * what the viewer may do. An approver approves (a step-up of their own, answered on the page with a
 * passkey or a code) or denies with a reason; the person who asked adds a reason, cancels, and once it
 * is approved carries it out (a plain form POST: no script needed). The page script
 * (edge/browser/approval.ts) keeps the state live and sends the actions to the approval API, where
 * they are decided again: what the page offers is for people, not for security.
 */
import { html } from 'hono/html';
import { isClosed, stateSentence } from '../../shared/approval-words';
import type { ApprovalJson } from '../../shared/wire-shapes';
import { approversSection, approvalFacts, stateBadge } from './approval-view';
import { type Content, type ConsoleFrame, consolePage } from './console-layout';
import { PAGE_INFO } from './console-nav';

export interface ApprovalPageData {
  /** The request, as GET /.stepgate/api/approvals/:id answers the viewer. */
  approval: ApprovalJson;
  /** The time the page is rendered at (ms since the epoch; tests fix it). */
  now?: number;
}

/** The longest reason, for a denial or a justification (the API refuses more). */
export const APPROVAL_REASON_MAX = 500;

/** The carry-out form's action: the held request is sent from there, once. */
export const carryOutPath = (id: string): string => `/.stepgate/approvals/${encodeURIComponent(id)}/carry-out`;

/** The approver's controls: Approve (then the step-up's passkey or code), and Deny with an optional reason. */
const decideSection = () => html`<section id="decide" class="panel" aria-labelledby="decide-title">
<h2 id="decide-title">Your decision</h2>
<p>Approving needs you to confirm it is you (with your passkey if you have one); it is recorded with your name.
Denying ends the request for everyone.</p>
<p class="row wrap"><button id="approve" type="button">Approve</button>
<button id="deny-open" type="button" class="secondary">Deny…</button></p>
<div id="answer" hidden>
<p id="answer-why">Confirm it is you to approve this exact request.</p>
<p id="answer-passkey-box" hidden><button id="answer-passkey" type="button" class="wide">Approve with a passkey</button></p>
<form id="answer-code-form" novalidate hidden>
<label id="answer-code-label" for="answer-code">Or a code from your authenticator app</label>
<div class="row"><input id="answer-code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required>
<button type="submit">Approve</button></div>
</form>
</div>
<form id="deny-form" class="stack" novalidate hidden>
<label for="deny-reason">Why do you deny it? (optional, shown to the person who asked)</label>
<textarea id="deny-reason" rows="3" maxlength="${APPROVAL_REASON_MAX}"></textarea>
<p class="row wrap"><button type="submit" class="danger">Deny the request</button>
<button id="deny-close" type="button" class="secondary">Keep it open</button></p>
</form>
</section>`;

/** The requester's controls, each shown while it applies (the page script shows and hides them as the state changes). */
const requesterSection = (a: ApprovalJson) => {
  const mayExplain = a.state === 'pending' && a.votes.length === 0 && a.justification === null;
  return html`<section id="your-request" class="panel" aria-label="Your request">
<form id="reason-form" class="stack" novalidate${mayExplain ? '' : html` hidden`}>
<label for="reason-text">Add a reason for the approvers (once, before anyone decides)</label>
<textarea id="reason-text" rows="2" maxlength="${APPROVAL_REASON_MAX}" required></textarea>
<p><button type="submit">Add the reason</button></p>
</form>
<form id="carry-out" method="post" action="${carryOutPath(a.id)}"${a.state === 'approved' ? '' : html` hidden`}>
<p>It is approved: carrying it out sends your request to ${a.app.name} once, exactly as it was approved.</p>
<p><button type="submit" class="wide">Carry it out</button></p>
</form>
<p${isClosed(a.state) ? html` hidden` : ''} id="cancel-box">
<button id="cancel" type="button" class="secondary">Cancel the request</button></p>
</section>`;
};

/** Why the viewer cannot decide (not for the person who asked: their own controls say enough). */
const whyNot = (a: ApprovalJson) =>
  !a.you.requester && !a.you.can_approve && a.you.why_not && !isClosed(a.state)
    ? html`<p class="note" id="why-not">${a.you.why_not}</p>`
    : '';

/** The page of one approval request, for the viewer the `approval` was answered to. */
export function approvalPage(f: ConsoleFrame, d: ApprovalPageData): Content {
  const a = d.approval;
  const now = d.now ?? Date.now();
  const decides = a.state === 'pending' && a.you.can_approve && a.you.voted === null && !a.you.requester;
  const body = html`<div id="approval-page" data-id="${a.id}" data-status-url="${a.status_url}" data-state="${a.state}"
data-requester="${a.you.requester ? 'yes' : 'no'}">
<p id="approval-state" role="status" aria-live="polite">${stateBadge(a.state)} <span id="state-sentence">${stateSentence(a)}</span></p>
${approvalFacts(a, now)}
${approversSection(a, now)}
${decides ? decideSection() : ''}
${whyNot(a)}
${a.you.requester ? requesterSection(a) : ''}
<p class="row wrap"><a href="${PAGE_INFO.approvals.path}">All approval requests</a> <a href="/">Back to the app</a></p>
</div>`;
  return consolePage(f, { title: 'Approval request', body, script: 'approval', state: 'ready' });
}
