/**
 * @module The console's audit log (/.stepgate/admin/audit), for owners, admins and auditors: search
 * by time, person, app, event and outcome; export (to those allowed) as NDJSON, CSV or OCSF, each
 * downloaded under its own file name; verify the chain. The events are listed by the page script
 * (edge/browser/audit.ts) from the audit API, one line per event: cells never wrap, the table
 * scrolls sideways instead, and a long cell shows its whole text on hover.
 */
import { html } from 'hono/html';
import { AUDIT_TYPES, type AuditOutcome } from '../audit/events';
import { type Content, type ConsoleFrame, consolePage } from './console-layout';

const TYPE_OPTIONS = AUDIT_TYPES.map((t) => html`<option>${t}</option>`);
const OUTCOMES: readonly AuditOutcome[] = ['success', 'failure', 'denied', 'info'];
const OUTCOME_OPTIONS = OUTCOMES.map((o) => html`<option>${o}</option>`);
const COLUMNS = ['#', 'Time', 'Event', 'Outcome', 'Who', 'App', 'Request', 'From', 'Rule or factor'].map(
  (c) => html`<th scope="col">${c}</th>`,
);

/** What each export format is for, in words. */
const FORMATS = [
  { id: 'ndjson', label: 'NDJSON', words: 'with signed checkpoints: verifies offline' },
  { id: 'csv', label: 'CSV', words: 'for a spreadsheet' },
  { id: 'ocsf', label: 'OCSF', words: 'for a SIEM' },
] as const;

export interface AuditPageOptions {
  /** May export (audit.export). */
  mayExport: boolean;
  /** May verify the chain. */
  mayVerify: boolean;
}

export function auditPage(f: ConsoleFrame, o: AuditPageOptions): Content {
  const exports = FORMATS.map(
    (x) =>
      html`<li><a id="x-${x.id}" href="/.stepgate/api/admin/audit/export?format=${x.id}" download>${x.label}</a>
<span class="note">${x.words}</span></li>`,
  );
  const body = html`<div id="audit">
<form id="filters" class="filters" novalidate>
<label>From (your time) <input id="f-from" name="from" type="datetime-local"></label>
<label>To (your time) <input id="f-to" name="to" type="datetime-local"></label>
<label>Person <input id="f-user" name="user" autocomplete="off" spellcheck="false"></label>
<label>App host <input id="f-app" name="app" autocomplete="off" spellcheck="false"></label>
<label>Event <select id="f-type" name="type"><option value="">any</option>${TYPE_OPTIONS}</select></label>
<label>Outcome <select id="f-outcome" name="outcome"><option value="">any</option>${OUTCOME_OPTIONS}</select></label>
<p class="row"><button type="submit">Search</button>${
    o.mayVerify ? html` <button id="verify" type="button" class="secondary">Verify the chain</button>` : ''
  }</p>
</form>
${o.mayExport ? html`<details class="exports"><summary>Export these results</summary><ul>${exports}</ul></details>` : ''}
<div class="scroll" tabindex="0" role="region" aria-label="Audit events">
<table id="events" class="events"><thead><tr>${COLUMNS}</tr></thead><tbody></tbody></table>
</div>
<p><button id="more" type="button" class="secondary" hidden>Show older events</button></p>
<p>${f.allowed.has('dashboard') ? html`<a href="/.stepgate/admin/dashboard">Open the dashboard</a> · ` : ''}
<a href="/.stepgate/admin">Back to the console overview</a></p>
</div>`;
  return consolePage(f, { title: 'Audit log', body, script: 'audit', state: 'ready' });
}
