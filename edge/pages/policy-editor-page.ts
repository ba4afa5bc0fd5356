/**
 * @module The policy page's editor and tester (policy-page.ts): the document in a text area, checked
 * as it is typed (problems by rule and field, the changes against the active version, a warning when
 * it weakens protection), saving it with a comment and optionally as a canary; and the tester (which
 * rule matches a request, and what would happen) with the replay of the last hour's routes. Filled
 * and driven by the page script (edge/browser/policy-editor.ts).
 */
import { html } from 'hono/html';
import type { PolicyPageData } from './policy-page';

/** The methods the tester offers (HEAD is matched as GET). */
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

const saveForm = (d: PolicyPageData) => html`<form id="save-form" class="stack" novalidate>
<h3>Save</h3>
${d.may.enrolment ? '' : html`<p class="note">Keep its “enrolment” as it is: only an owner or admin changes how people enrol.</p>`}
<label for="save-comment">Why this change (shown in the history)</label>
<input id="save-comment" maxlength="500" autocomplete="off">
<label class="check"><input type="checkbox" id="canary-start"> Try it on some people first (a canary)</label>
<div id="canary-start-box" hidden>
<label for="canary-start-percent">Share of people who get the new version first, in percent (1 to 99)</label>
<input id="canary-start-percent" type="number" min="1" max="99" step="1" value="10" inputmode="numeric">
<p class="note">Only a change that does not weaken protection can start as a canary.
Everyone else keeps the version active now until you widen it.</p>
</div>
<p class="row wrap"><button type="submit" id="save">Save the policy</button>
<button type="button" id="revert" class="secondary">Start again from the active version</button></p>
<p id="save-result" class="status" role="status" aria-live="polite"></p>
</form>`;

export const editorPanel = (d: PolicyPageData) => html`<section class="panel" id="editor-panel">
<h2>${d.may.update ? 'Edit the policy' : 'The policy'}</h2>
<p class="note">${
  d.may.update
    ? 'Change the document below: it is checked as you type, the same way as “stepgate policy check”.'
    : 'You may read this policy, check a draft and try it out, but not save it: that needs an owner, an admin or an admin of this app.'
} The format is described in the policy guide.</p>
<label for="policy-text">The policy document</label>
<textarea id="policy-text" rows="18" spellcheck="false" autocomplete="off" aria-describedby="check-state" disabled></textarea>
<p id="check-state" class="status" aria-live="polite">Loading the active version…</p>
<ul id="check-problems" hidden></ul>
<div id="weakens" hidden>
<p id="weakens-text" class="warn"></p>
<ul id="weakens-reasons" class="warn"></ul>
</div>
<div id="baseline-box" hidden>
<h3>Refused by the organisation’s baseline</h3>
<ul id="baseline-problems" class="warn"></ul>
</div>
<h3>Changes against the active version</h3>
<ul id="diff"></ul>
<p id="diff-none" class="note">None: the draft is the active version.</p>
${d.may.update ? saveForm(d) : ''}
</section>`;

export const testerPanel = () => html`<section class="panel" id="tester-panel">
<h2>Try it out</h2>
<p class="note">Which rule matches a request, and what would happen to it under the draft above
(the active version when the draft is unchanged).</p>
<form id="test-form" class="filters" novalidate>
<div><label for="test-method">Method</label>
<select id="test-method">${METHODS.map((m) => html`<option value="${m}">${m}</option>`)}</select></div>
<div><label for="test-url">Address</label>
<input id="test-url" type="url" placeholder="https://app.example.com/api/projects" autocomplete="off" spellcheck="false"></div>
<div><button type="submit" id="test-run">Test</button></div>
</form>
<p id="test-result" class="result" role="status" aria-live="polite" hidden></p>
<h3>Replay the last hour</h3>
<p class="note">Runs the routes people used in the last hour (method, host and path; nothing else is kept) through the draft
and lists those whose outcome would change.</p>
<p><button type="button" id="replay" class="secondary">Replay the last hour</button></p>
<p id="replay-summary" role="status" aria-live="polite"></p>
<div class="scroll" id="replay-box" tabindex="0" role="region" aria-label="Routes whose outcome would change" hidden>
<table class="data" id="replay-table">
<caption>Routes whose outcome would change, most used first</caption>
<thead><tr><th scope="col">Method</th><th scope="col">Host</th><th scope="col">Path</th><th scope="col" class="num">Requests</th>
<th scope="col">Now</th><th scope="col">With the draft</th></tr></thead>
<tbody id="replay-rows"></tbody>
</table>
</div>
</section>`;
