/**
 * @module Browser side of the policy page's history and canary: the versions (GET …/policy/versions)
 * with the actions the viewer may take — approve a proposal someone else wrote, reject a proposal,
 * roll back to an earlier version — and the canary's state with widening it (POST …/policy/canary;
 * 100 gives it to everyone). Offering is for people only: the admin API decides each action again.
 * Each proposal shows, right under it, what approving it would change in the active version and
 * why it weakens protection (POST …/policy/check with its document, proposal-changes.ts): Approve
 * is offered only once that is shown, so nobody approves a change they have not seen.
 */
import { $ } from './api';
import { act, refused, send } from './console-common';
import { el, page, policyApi, STATE_WORDS, type VersionAnswer, versionDone } from './policy-dom';
import { showLocalTimes, timeNode } from './local-time';
import { type CheckAnswer, proposalChanges } from './proposal-changes';

interface Version {
  version: number;
  state: string;
  comment: string;
  author: string | null;
  approved_by: string | null;
  created_at: string;
  /** The version's document (GET …/versions answers it). */
  policy: unknown;
}
type Canary = { percent: number; base_version: number } | null;
type Action = 'approve' | 'reject' | 'rollback';

const ACTIONS: Record<Action, { label: string; path: string; what: string }> = {
  approve: { label: 'Approve', path: 'approve', what: 'approve the version' },
  reject: { label: 'Reject', path: 'reject', what: 'reject the version' },
  rollback: { label: 'Roll back to it', path: 'activate', what: 'roll back' },
};

/** What the viewer is offered on a version: never approving their own proposal (a second person must). */
function actionsFor(v: Version): Action[] {
  if (!page.mayUpdate) return [];
  if (v.state === 'proposed') return v.author === page.me || !page.mayApprove ? ['reject'] : ['approve', 'reject'];
  return v.state === 'superseded' ? ['rollback'] : [];
}

const done = (a: Action, n: number) => (d: VersionAnswer) =>
  a === 'reject' ? `Version ${n} was rejected: it will not apply.` : versionDone(d);

function button(a: Action, v: Version): HTMLButtonElement {
  const b = el('button', ACTIONS[a].label, {
    type: 'button',
    id: `version-${v.version}-${a}`,
    'data-version-action': a,
    'data-version': String(v.version),
  });
  if (a !== 'approve') b.className = a === 'reject' ? 'danger' : 'secondary';
  // Why: approving is only offered with its changes in view (showChanges enables it).
  if (a === 'approve') b.disabled = true;
  if (v.state === 'proposed') b.setAttribute('aria-describedby', `version-${v.version}-changes`);
  b.addEventListener('click', () => {
    void act<VersionAnswer>('POST', `${policyApi}/versions/${v.version}/${ACTIONS[a].path}`, {}, ACTIONS[a].what, done(a, v.version));
  });
  return b;
}

function row(v: Version): HTMLTableRowElement {
  const tr = el('tr', '', { id: `version-${v.version}` });
  if (v.state === 'superseded' || v.state === 'rejected') tr.className = 'muted';
  const mine = v.author !== null && v.author === page.me ? ' (you)' : '';
  const approved = v.approved_by ? `; approved by ${v.approved_by}` : '';
  const state = `${STATE_WORDS[v.state] ?? v.state}${v.state === 'proposed' && mine ? ': another person must approve it' : ''}`;
  const actions = el('td', '', { class: 'actions' });
  actions.append(...actionsFor(v).map((a) => button(a, v)));
  tr.append(el('th', String(v.version), { scope: 'row' }), el('td', state), el('td', `${v.author ?? 'not recorded'}${mine}${approved}`));
  // The bundled app's version 1 is the deployment's policy.json: it has no time of its own (stored as 0).
  const at = el('td', Date.parse(v.created_at) === 0 ? 'with the deployment' : '');
  if (Date.parse(v.created_at) !== 0) at.append(timeNode(v.created_at));
  tr.append(at, el('td', v.comment || 'no comment'), actions);
  return tr;
}

function showCanary(c: Canary, active: number | null): void {
  const panel = $('canary-panel');
  panel.hidden = c === null;
  if (c === null) return;
  const newest = active === null ? 'The newest version' : `Version ${active}`;
  $('canary-state').textContent =
    `${newest} applies to ${c.percent}% of people (always the same people); everyone else keeps version ${c.base_version}.`;
  const form = document.getElementById('canary-form') as HTMLFormElement | null;
  if (!form) return;
  const input = $<HTMLInputElement>('canary-percent');
  input.min = String(c.percent + 1);
  input.value = String(Math.min(100, Math.max(c.percent + 1, c.percent * 2)));
  const widen = (percent: number) =>
    void act('POST', `${policyApi}/canary`, { percent }, 'widen the canary', () =>
      percent === 100 ? 'Everyone has the newest version now.' : `The newest version applies to ${percent}% of people now.`,
    );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const raw = input.value.trim();
    if (!/^\d{1,3}$/.test(raw) || Number(raw) <= c.percent || Number(raw) > 100) {
      $('canary-state').textContent =
        `Widen to a whole number of percent above ${c.percent}, at most 100. To narrow it, roll back instead.`;
      return;
    }
    widen(Number(raw));
  });
  $('canary-complete').addEventListener('click', () => widen(100));
}

/** The row under a proposal that says what it changes; filled by showChanges. */
function changesRow(v: Version): HTMLTableRowElement {
  const tr = el('tr', '', { class: 'changes' });
  const td = el('td', '', { colspan: '6', id: `version-${v.version}-changes` });
  td.append(el('p', `Reading what version ${v.version} changes…`, { class: 'note' }));
  tr.append(td);
  return tr;
}

/** Checks at once: each is one POST …/check (the history lists at most 50 versions). */
const CHECKS_AT_ONCE = 4;

/** Fill a proposal's changes row from POST …/check with its document; only then offer Approve. */
async function showChanges(v: Version, active: number | null): Promise<void> {
  const cell = document.getElementById(`version-${v.version}-changes`);
  if (!cell) return;
  const r = await send<CheckAnswer>('POST', `${policyApi}/check`, { policy: v.policy });
  if (!r.ok) {
    // Fail closed: without its changes in view, Approve stays off.
    cell.replaceChildren(
      el('p', `What version ${v.version} changes could not be read, so it cannot be approved here: reload the page to try again.`, {
        class: 'warn',
      }),
    );
    return;
  }
  const c = proposalChanges(r.data, active);
  const lines = el('ul');
  lines.append(...c.lines.map((t) => el('li', t)));
  const parts: HTMLElement[] = [el('p', c.summary), lines, el('p', c.verdict, c.weakens.length ? { class: 'warn' } : {})];
  if (c.weakens.length) {
    const why = el('ul', '', { class: 'warn' });
    why.append(...c.weakens.map((t) => el('li', t)));
    parts.push(why);
  }
  if (c.refused.length) {
    parts.push(el('p', 'Approving it would be refused now:', { class: 'warn' }));
    const why = el('ul', '', { class: 'warn' });
    why.append(...c.refused.map((t) => el('li', t)));
    parts.push(why);
  }
  lines.hidden = c.lines.length === 0;
  cell.replaceChildren(...parts);
  const approve = document.getElementById(`version-${v.version}-approve`) as HTMLButtonElement | null;
  if (approve) approve.disabled = false;
}

/** Each proposal's changes, a few checks at a time. */
async function showAllChanges(proposals: Version[], active: number | null): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < proposals.length) await showChanges(proposals[next++]!, active);
  };
  await Promise.all(Array.from({ length: Math.min(CHECKS_AT_ONCE, proposals.length) }, worker));
}

/** Show the versions, and the canary when there is one. */
export async function loadHistory(canary: Canary): Promise<void> {
  const r = await send<{ versions: Version[] }>('GET', `${policyApi}/versions?limit=50`);
  const status = $('history-state');
  if (!r.ok) {
    status.textContent = 'The versions could not be read.';
    refused(r.problem, 'read the versions');
    showCanary(canary, null);
    return;
  }
  const versions = [...r.data.versions].sort((a, b) => b.version - a.version);
  $('versions-rows').replaceChildren(...versions.flatMap((v) => (v.state === 'proposed' ? [row(v), changesRow(v)] : [row(v)])));
  showLocalTimes($('versions-rows'));
  const waiting = versions.filter((v) => v.state === 'proposed').length;
  status.textContent = versions.length
    ? `The newest ${versions.length === 1 ? 'version' : `${versions.length} versions`}, newest first.` +
      (waiting ? ` ${waiting} waiting for approval.` : '')
    : 'No versions yet: the first save makes one.';
  const active = versions.find((v) => v.state === 'active')?.version ?? null;
  showCanary(canary, active);
  await showAllChanges(
    versions.filter((v) => v.state === 'proposed'),
    active,
  );
}
