/**
 * @module The policy page's report panel (policy-page.ts): what each report-only rule would have
 * challenged in the last 24 hours (requests, people, top routes), and for those who may change the
 * policy a button that makes the rule enforce. The page script fills it from GET …/policy/report.
 */
import { html } from 'hono/html';
import type { PolicyPageData } from './policy-page';

export const reportPanel = (d: PolicyPageData) => html`<section class="panel" id="report-panel">
<h2>Report-only rules</h2>
<p class="note">A rule with “mode”: “report” is matched on live traffic but never asks for a step-up:
Stepgate counts the requests it would have challenged.${d.may.update ? ' When it looks right, make it enforce with one click.' : ''}</p>
<p id="report-state" role="status" aria-live="polite">Loading the last 24 hours…</p>
<div id="report-rules"></div>
</section>`;
