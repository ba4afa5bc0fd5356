/**
 * @module What a proposed policy version changes, in plain words, for the history next to its
 * Approve and Reject buttons (policy-history.ts): the answer of POST …/policy/check with the
 * proposal's document — its differences from the active version (what approving it would apply),
 * whether and why it weakens protection, and what would refuse it now. Pure (no DOM), so it is
 * tested in Node (test/node/proposal-changes.test.ts).
 */

/** The answer of POST BASE/policy/check (edge/endpoints/policy-tool-routes.ts). */
export interface CheckAnswer {
  valid: boolean;
  problems: { rule: string | null; field: string | null; message: string }[];
  diff: { kind: 'added' | 'removed' | 'changed'; rule: string | null; text: string }[];
  change: { weakening: boolean; reasons: string[] };
  baseline: string[];
}

/** A proposal's changes as the history shows them. */
export interface ProposalChanges {
  /** One sentence introducing the lines. */
  summary: string;
  /** One line per difference from the active version. */
  lines: string[];
  /** Whether it weakens protection, in a sentence. */
  verdict: string;
  /** Why it weakens protection (empty when it does not). */
  weakens: string[];
  /** Why approving it would be refused now (problems, the organisation's baseline); empty when it would not. */
  refused: string[];
}

/** Lines shown per proposal; the rest are counted (a proposal may rewrite a long policy). */
export const MAX_LINES = 20;

/** One difference in words, as the gateway wrote it (`rule "x" removed: …`), starting with a capital. */
export const diffLine = (d: CheckAnswer['diff'][number]): string => d.text.charAt(0).toUpperCase() + d.text.slice(1);

const problemLine = (p: CheckAnswer['problems'][number]): string => {
  const where = [p.rule === null ? '' : `rule “${p.rule}”`, p.field === null ? '' : `field ${p.field}`].filter(Boolean).join(', ');
  return where ? `${where}: ${p.message}` : p.message;
};

/** What a proposal changes against the active version (`active`: its number, or null when unknown). */
export function proposalChanges(d: CheckAnswer, active: number | null): ProposalChanges {
  const against = active === null ? 'the active version' : `the active version (${active})`;
  const all = d.diff.map(diffLine);
  const lines = all.length > MAX_LINES ? [...all.slice(0, MAX_LINES), `… and ${all.length - MAX_LINES} more changes.`] : all;
  const weakens = d.change.weakening ? d.change.reasons : [];
  const refused = [...d.problems.map(problemLine), ...d.baseline];
  const summary = all.length === 0 ? `It changes nothing against ${against}.` : `What approving it changes in ${against}:`;
  const verdict = weakens.length
    ? 'It weakens protection, which is why a second person must approve it:'
    : d.change.weakening
      ? 'It weakens protection, which is why a second person must approve it.'
      : 'It does not weaken protection.';
  return { summary, lines, verdict, weakens, refused };
}
