/**
 * @module Browser side of the console's policy page: what its parts share — the page's app and the
 * admin API paths of its policy, building elements with text only (never markup from data), and
 * the outcomes and states of the policy tools in words.
 */
import { $ } from './api';
import { orgApi } from './console-common';

const root = document.getElementById('policy-page');
/** The page's app, the viewer as the history names authors, and whether they may change the policy. */
export const page = {
  present: root !== null,
  app: root?.dataset.app ?? '',
  me: root?.dataset.me ?? '',
  mayUpdate: root?.dataset.mayUpdate === 'yes',
  mayApprove: root?.dataset.mayApprove === 'yes',
};
/** BASE/policy of the admin API for this app. */
export const policyApi = `${orgApi}/apps/${encodeURIComponent(page.app)}/policy`;

/** An element with text (set with textContent, so nothing people wrote is read as markup). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text = '', attrs: Record<string, string> = {}): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** Replace a list's items with `items` (one `<li>` each); hide it when empty. */
export function fillList(id: string, items: readonly string[]): void {
  const list = $(id);
  list.replaceChildren(...items.map((t) => el('li', t)));
  list.hidden = items.length === 0;
}

/** The tester's outcomes, short, for the replay table. */
export const OUTCOME_WORDS: Record<string, string> = {
  pass: 'No step-up',
  'step-up': 'Step-up',
  'approve-action': 'Each action approved',
  'report-only': 'Counted only (report-only)',
  refused: 'Refused',
};
export const outcomeWords = (o: string): string => OUTCOME_WORDS[o] ?? o;

/** A version's state in words. */
export const STATE_WORDS: Record<string, string> = {
  active: 'Active',
  superseded: 'Earlier version',
  proposed: 'Waiting for approval',
  rejected: 'Rejected',
};

/** "1 request", "3 requests". */
export const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The usual answer to a version write (PUT …/policy, approve, roll back, promote). */
export interface VersionAnswer {
  version: number;
  state: 'active' | 'proposed';
  weakens: boolean;
  changes: { kind: string; rule: string | null; field: string | null; message: string }[];
}

/** What a version write did, in words. */
export function versionDone(d: VersionAnswer): string {
  if (d.state === 'active') return `Active as version ${d.version}. Stepgate applies it within seconds.`;
  const why = d.changes
    .filter((c) => c.kind === 'weakens')
    .map((c) => c.message)
    .slice(0, 5);
  return (
    `Saved as version ${d.version}, waiting for a second owner or admin to approve it` +
    `${why.length ? ` (it weakens protection: ${why.join('; ')})` : ''}. Until then the active version stays in force.`
  );
}

/** The draft in the editor, parsed; or why it cannot be used yet. */
export function draft(): { ok: true; policy: unknown } | { ok: false; why: string } {
  const text = (document.getElementById('policy-text') as HTMLTextAreaElement | null)?.value ?? '';
  try {
    return { ok: true, policy: JSON.parse(text) };
  } catch (e) {
    return { ok: false, why: `The draft is not valid JSON yet: ${(e as Error).message}.` };
  }
}
