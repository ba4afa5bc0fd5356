/**
 * @module The console's policy page of one app (/.stepgate/admin/orgs/:org/apps/:app/policy): the
 * editor with live checking and the diff against the active version, saving (a new version, or a
 * proposal a second person approves when it weakens protection), the tester and replay, what the
 * report-only rules would have challenged, the canary and the version history. The server renders
 * the frame and the controls the viewer's roles allow; the page script (edge/browser/policy-editor.ts)
 * reads the data from the admin API and sends the actions there, where they are decided again.
 */
import { html } from 'hono/html';
import { type Content, type ConsoleFrame, consolePage } from './console-layout';
import { baselinePagePath, PAGE_INFO } from './console-nav';
import { editorPanel, testerPanel } from './policy-editor-page';
import { canaryPanel, historyPanel } from './policy-history-page';
import { reportPanel } from './policy-report-panel';

export interface PolicyPageData {
  orgId: string;
  appId: string;
  appName: string;
  /** The app bundled with the deployment: its first version is the deployment's policy.json. */
  bundled: boolean;
  /** The viewer, as the app names them (the history's authors are named the same way): never offered to approve their own proposal. */
  me: string;
  /**
   * `update`: save versions, approve, reject, roll back, promote, widen a canary. `enrolment`: also
   * change how people enrol (owners and admins). `baseline`: link to the organisation's baseline (owners and admins).
   */
  /** `approve`: a weakening proposal of someone else (owners and admins). */
  may: { update: boolean; enrolment: boolean; baseline: boolean; approve: boolean };
}

export const policyPageTitle = (appName: string): string => `Policy of ${appName}`;

const intro = (d: PolicyPageData) => html`<p>${
  d.bundled
    ? 'This is the app bundled with the deployment. Its policy is edited here: the deployment’s policy.json is its first version, ' +
      'and each save makes a new one. Its hosts, sign-in and origin stay the deployment’s.'
    : 'Each save makes a new version of this app’s policy. ' +
      'A change that weakens protection waits until a second owner or admin approves it.'
} Changes apply within seconds, without a deploy.</p>
<p class="row wrap"><a href="${PAGE_INFO.apps.path}">Back to the apps</a>${
  d.may.baseline
    ? html` <a id="baseline-link" href="${baselinePagePath(d.orgId)}">The organisation’s baseline (rules every app keeps)</a>`
    : ''
}</p>`;

export function policyPage(f: ConsoleFrame, d: PolicyPageData): Content {
  const [mayUpdate, mayApprove] = [d.may.update ? 'yes' : 'no', d.may.approve ? 'yes' : 'no'];
  const body = html`<div id="policy-page" data-app="${d.appId}" data-me="${d.me}"
data-may-update="${mayUpdate}" data-may-approve="${mayApprove}">
${intro(d)}
${canaryPanel(d)}
${editorPanel(d)}
${testerPanel()}
${reportPanel(d)}
${historyPanel(d)}
</div>`;
  return consolePage(f, { title: policyPageTitle(d.appName), body, script: 'policy-editor', state: 'ready' });
}
