/**
 * @module The audit console (owners, admins and auditors): confirm it is you, then list, filter,
 * export and verify the audit log, and create a personal API token for the CLI. A person with no
 * role is offered the bootstrap claim (the first owner, BOOTSTRAP_OWNER); an owner or admin can
 * grant a role of the whole organisation.
 */
import { html } from 'hono/html';
import { AUDIT_TYPES, type AuditOutcome } from '../audit/events';
import { ASSET_PREFIX, layout } from './layout';

const TYPE_OPTIONS = AUDIT_TYPES.map((t) => html`<option>${t}</option>`);
const OUTCOMES: readonly AuditOutcome[] = ['success', 'failure', 'denied', 'info'];
const OUTCOME_OPTIONS = OUTCOMES.map((o) => html`<option>${o}</option>`);
const EXPORT_LINKS = html`<a id="x-ndjson" href="#">NDJSON</a> · <a id="x-csv" href="#">CSV</a> · <a id="x-ocsf" href="#">OCSF</a>`;
/** The roles of the whole organisation (app-admin is granted for an app: the admin API). */
const ROLE_OPTIONS = ['auditor', 'helpdesk', 'admin', 'owner'].map((r) => html`<option>${r}</option>`);
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
<section id="claim" hidden>
<p>You hold no role in this organisation. If <code>BOOTSTRAP_OWNER</code> names you and nobody owns it yet, claim it.</p>
<p><button id="claim-owner" type="button" class="wide">Claim ownership</button></p>
</section>
<details id="grant" class="factor" hidden><summary>Give someone a role</summary>
<form id="grant-form" novalidate>
<label for="grant-person">Person (their user id in your app)</label>
<input id="grant-person" maxlength="256" autocomplete="off" required>
<label for="grant-role">Role</label>
<div class="row"><select id="grant-role">${ROLE_OPTIONS}</select><button type="submit">Grant</button></div>
</form>
</details>
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
