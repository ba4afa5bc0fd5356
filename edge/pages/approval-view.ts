/**
 * @module One approval request as people read it (the approval pages, edge/pages/approval-page.ts and
 * approvals-page.ts): exactly what the extension's prompt shows — app, site, method and path, body
 * summary, who asked, where from and when, their reason, the rule and its description, who must
 * approve and who has, and the expiry — so an approver can tell precisely what they approve. Text
 * from the request goes through `shown` (hidden characters escaped and marked); everything is
 * escaped by `html`. Times are in words, with the exact time in their title (UTC; the page script
 * adds the person's local time, edge/browser/local-time.ts).
 */
import { methodOverrideNote, methodWords } from '../../shared/method-words';
import { html } from 'hono/html';
import {
  APPROVAL_STATE_WORDS,
  countdownWords,
  isClosed,
  readablePath,
  relativeTime,
  requirementWords,
  voteWords,
} from '../../shared/approval-words';
import { utcTime } from '../../shared/local-time';
import { displaySegments, HIDDEN_CHARACTERS_WARNING, hasHiddenCharacters } from '../../shared/visible-text';
import type { ApprovalJson, ApprovalState, BodySummary } from '../../shared/wire-shapes';

/** Text from the request, for a person: hidden characters become marked escapes; every piece is still escaped by `html`. */
export const shown = (text: string) =>
  displaySegments(text).map((s) => (s.hidden ? html`<mark class="hidden-char" title="${s.label}">${s.text}</mark>` : s.text));

/** A time in words ("5 minutes ago"), the exact time in its title; the page script keeps the words current. */
export const timeTag = (iso: string, now: number) =>
  html`<time datetime="${iso}" title="${utcTime(iso)}" data-relative>${relativeTime(iso, now)}</time>`;

/** The expiry, counting down while the request is open (the page script ticks it); once closed, when it closed. */
export const expiryTag = (a: ApprovalJson, now: number, id = '') =>
  isClosed(a.state)
    ? html`no longer open (closed ${timeTag(a.closed_at ?? a.expires_at, now)})`
    : html`<time${id ? html` id="${id}"` : ''} datetime="${a.expires_at}" title="${utcTime(a.expires_at)}" data-countdown>${countdownWords(
        a.expires_at,
        now,
      )}</time>`;

/** Denied, expired and cancelled requests read as warnings; the others plainly. */
export const stateBadge = (s: ApprovalState) =>
  s === 'denied' || s === 'expired' || s === 'cancelled'
    ? html`<strong class="warn" data-state-badge>${APPROVAL_STATE_WORDS[s]}</strong>`
    : html`<strong data-state-badge>${APPROVAL_STATE_WORDS[s]}</strong>`;

/**
 * What is asked, in words, as the step-up page says it: "Delete /api/projects/4". A method-override
 * form is described by what it asks for (the method the rule matched), which is what the app will do.
 */
export const actionLine = (a: ApprovalJson) => {
  const note = methodOverrideNote(a.action.method, a.matched_method);
  return html`<span class="method">${shown(methodWords(a.matched_method))}</span> ${shown(readablePath(a.action.path, a.action.query))}${
    note ? html`<br><small class="method-note">${note}</small>` : ''
  }`;
};

/** The fields sent, except a method-override field the Action line already says in words (`_method = DELETE`). */
const describeBody = (b: BodySummary | null, matchedMethod: string) => {
  if (!b) return html`<dt>Body</dt><dd>none</dd>`;
  if (b.fields.length === 0) return html`<dt>Body</dt><dd>${b.bytes} bytes of ${shown(b.kind)}</dd>`;
  const said = (f: { name: string; value: string }) => f.name === '_method' && f.value.toUpperCase() === matchedMethod.toUpperCase();
  const rest = b.fields.filter((f) => !said(f));
  if (rest.length === 0 && !b.truncated) return '';
  const fields = rest.map((f) => html`<li><span class="field">${shown(f.name)}</span> = ${shown(f.value)}</li>`);
  return html`<dt>Body</dt><dd><ul class="fields">${fields}${b.truncated ? html`<li>… and more fields</li>` : ''}</ul></dd>`;
};

/** After the hidden-characters warning. */
const IF_UNEXPECTED = 'If you did not expect them, do not approve it.';

/** Whether anything shown from the request has a hidden character. */
export const hasHidden = (a: ApprovalJson): boolean =>
  hasHiddenCharacters(
    a.action.host,
    a.action.method,
    a.matched_method,
    readablePath(a.action.path, a.action.query),
    a.body?.kind,
    ...(a.body?.fields.flatMap((f) => [f.name, f.value]) ?? []),
    a.requested_from?.page,
    a.justification,
  );

const where = (a: ApprovalJson) => {
  const f = a.requested_from;
  const parts = [f?.page ? `from the page ${f.page}` : '', f?.ip ? `at the address ${f.ip}` : ''].filter(Boolean).join(', ');
  return parts ? shown(parts) : 'from a page Stepgate could not tell';
};

/** The justification line: the requester's reason, or that they gave none (the page script replaces it when one is added). */
export const justificationText = (a: ApprovalJson) => (a.justification === null ? 'No reason given.' : shown(a.justification));

/** What is asked: the exact request and its context, as a definition list under a hidden-characters warning when needed. */
export const approvalFacts = (a: ApprovalJson, now: number) => html`${
  hasHidden(a) ? html`<p class="hidden-chars" id="hidden-chars" role="alert">${HIDDEN_CHARACTERS_WARNING} ${IF_UNEXPECTED}</p>` : ''
}
<section class="action" aria-label="What is asked">
<dl>
<dt>App</dt><dd>${a.app.name}</dd>
<dt>Site</dt><dd>${shown(a.action.host)}</dd>
<dt>Action</dt><dd>${actionLine(a)}</dd>
${describeBody(a.body, a.matched_method)}
<dt>Asked by</dt><dd>${shown(a.requester)}</dd>
<dt>Asked</dt><dd>${timeTag(a.created_at, now)}, ${where(a)}</dd>
<dt>Why</dt><dd id="justification">${justificationText(a)}</dd>
<dt>Rule</dt><dd>${a.rule}${a.rule_description ? html` — ${a.rule_description}` : ''}</dd>
<dt>Expires</dt><dd id="expiry">${expiryTag(a, now, 'expires')}</dd>
</dl>
</section>`;

/** Who must approve (every group is needed) and the decisions so far. */
export const approversSection = (a: ApprovalJson, now: number) => html`<section aria-labelledby="approvers-title">
<h2 id="approvers-title">Who must approve</h2>
<p class="note">${a.required.length > 1 ? 'Every line below is needed.' : 'This is needed.'} The person who asked never counts.</p>
<ul id="required">${a.required.map((r) => html`<li>${requirementWords(r)}</li>`)}</ul>
<h3>Decisions so far</h3>
<ul id="votes">${
  a.votes.length
    ? a.votes.map((v) => html`<li>${voteWords(v)}, ${timeTag(v.at, now)}</li>`)
    : html`<li class="note">Nobody has decided yet.</li>`
}</ul>
</section>`;
