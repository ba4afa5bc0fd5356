/**
 * @module The audit console (administrators and auditors): confirm it is you, then list, filter,
 * export and verify the audit log, and create a personal API token for the CLI.
 */
import { html } from 'hono/html';
import { AUDIT_TYPES, type AuditOutcome } from '../audit/events';
import { ASSET_PREFIX, layout } from './layout';

const TYPE_OPTIONS = AUDIT_TYPES.map((t) => html`<option>${t}</option>`);
const OUTCOMES: readonly AuditOutcome[] = ['success', 'failure', 'denied', 'info'];
const OUTCOME_OPTIONS = OUTCOMES.map((o) => html`<option>${o}</option>`);
const EXPORT_LINKS = html`<a id="x-ndjson" href="#">NDJSON</a> · <a id="x-csv" href="#">CSV</a> · <a id="x-ocsf" href="#">OCSF</a>`;
const COLUMNS = ['#', 'Time (UTC)', 'Event', 'Outcome', 'Who', 'Where', 'How'].map((c) => html`<th>${c}</th>`);

export const auditPage = () =>
  layout(
    'Audit log',
    html`<div id="audit">
<h1>Audit log</h1>
<section id="confirm" hidden>
<p>Reading the audit log needs a fresh confirmation that it is you.</p>
<p><button id="confirm-passkey" type="button" class="wide">Confirm with a passkey</button></p>
<form id="confirm-form" novalidate>
<label for="confirm-code">Or a code from your authenticator app (or a recovery code)</label>
<div class="row"><input id="confirm-code" autocomplete="one-time-code" maxlength="32" required><button type="submit">Confirm</button></div>
</form>
</section>
<form id="filters" class="filters" novalidate>
<label>From <input id="f-from" name="from" type="datetime-local"></label>
<label>To <input id="f-to" name="to" type="datetime-local"></label>
<label>User <input id="f-user" name="user" autocomplete="off"></label>
<label>App <input id="f-app" name="app" autocomplete="off"></label>
<label>Type <select id="f-type" name="type"><option value="">any</option>${TYPE_OPTIONS}</select></label>
<label>Outcome <select id="f-outcome" name="outcome"><option value="">any</option>${OUTCOME_OPTIONS}</select></label>
<p class="row"><button type="submit">Search</button>
<button id="verify" type="button" class="secondary">Verify chain</button></p>
</form>
<p class="note">Export these results: ${EXPORT_LINKS}</p>
<p id="status" class="status" role="status" aria-live="polite"></p>
<table id="events" class="events"><thead><tr>${COLUMNS}</tr></thead><tbody></tbody></table>
<p><button id="more" type="button" class="secondary" hidden>More</button></p>
<details class="factor"><summary>Personal API token for the CLI</summary>
<form id="token-form" novalidate>
<label for="token-label">Label</label>
<div class="row"><input id="token-label" maxlength="64" value="stepgate CLI"><button type="submit">Create (7 days)</button></div>
</form>
<p class="note">Shown once: <code id="token"></code></p>
</details>
</div>
<script type="module" src="${ASSET_PREFIX}audit.js"></script>`,
  );
