/**
 * @module The policy page's canary and version history (policy-page.ts): the share of people the
 * newest version applies to while it is tried out, with widening it; and every version with its
 * state, author, time and comment, and the actions the viewer may take (approve someone else's
 * proposal, reject one, roll back to an earlier one); under each proposal, what approving it would
 * change in the active version and why it weakens protection. The page script
 * (edge/browser/policy-history.ts) fills them from the admin API.
 */
import { html } from 'hono/html';
import type { PolicyPageData } from './policy-page';

export const canaryPanel = (d: PolicyPageData) => html`<section class="panel" id="canary-panel" hidden>
<h2>Canary: the newest version is being tried out</h2>
<p id="canary-state"></p>
${
  d.may.update
    ? html`<form id="canary-form" class="filters" novalidate>
<div><label for="canary-percent">Widen to, in percent of people</label>
<input id="canary-percent" type="number" min="2" max="100" step="1" inputmode="numeric"></div>
<div><button type="submit" id="canary-widen">Widen</button></div>
<div><button type="button" id="canary-complete" class="secondary">Give it to everyone</button></div>
</form>
<p class="note">A canary only widens. To take it back, roll back to the earlier version in the history below.</p>`
    : ''
}
</section>`;

export const historyPanel = (d: PolicyPageData) => html`<section class="panel" id="history-panel">
<h2>Versions</h2>
<p class="note">${
  d.may.update
    ? 'A proposal waits for a second owner or admin (not its author) to approve it. Under each proposal: what approving it ' +
      'would change in the active version, and why it weakens protection. Approve is offered once that is shown. ' +
      'Rolling back makes an earlier version active again; if that weakens protection, it waits for approval too.'
    : 'The newest versions of this policy, with who wrote them and why; under each proposal, what it would change.'
}</p>
<p id="history-state" role="status" aria-live="polite">Loading the versions…</p>
<div class="scroll" tabindex="0" role="region" aria-label="Versions">
<table class="data" id="versions">
<thead><tr><th scope="col">Version</th><th scope="col">State</th><th scope="col">Written by</th><th scope="col">When</th>
<th scope="col">Comment</th><th scope="col">Actions</th></tr></thead>
<tbody id="versions-rows"></tbody>
</table>
</div>
</section>`;
