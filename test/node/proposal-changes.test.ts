/**
 * The words the console's history shows under a proposed policy version (edge/browser/proposal-changes.ts):
 * what approving it changes in the active version, whether and why it weakens protection, and what
 * would refuse it now — from the answer of POST …/policy/check with the proposal's document.
 */
import { describe, expect, it } from 'vitest';
import { type CheckAnswer, MAX_LINES, proposalChanges } from '../../edge/browser/proposal-changes';

const answer = (o: Partial<CheckAnswer> = {}): CheckAnswer => ({
  valid: true,
  problems: [],
  diff: [],
  change: { weakening: false, reasons: [] },
  baseline: [],
  ...o,
});
const removed = { kind: 'removed' as const, rule: 'delete-project', text: 'rule "delete-project" removed: DELETE /api/projects/*' };

describe('proposalChanges', () => {
  it('a weakening proposal: each change as a sentence, and why it needs a second person', () => {
    const c = proposalChanges(
      answer({
        diff: [removed],
        change: { weakening: true, reasons: ['rule "delete-project" removed: DELETE /api/projects/* is no longer protected'] },
      }),
      4,
    );
    expect(c).toEqual({
      summary: 'What approving it changes in the active version (4):',
      lines: ['Rule "delete-project" removed: DELETE /api/projects/*'],
      verdict: 'It weakens protection, which is why a second person must approve it:',
      weakens: ['rule "delete-project" removed: DELETE /api/projects/* is no longer protected'],
      refused: [],
    });
  });

  it('a proposal that does not weaken says so, and reasons are never shown for it', () => {
    const c = proposalChanges(answer({ diff: [removed], change: { weakening: false, reasons: ['stale'] } }), null);
    expect(c.summary).toBe('What approving it changes in the active version:');
    expect(c.verdict).toBe('It does not weaken protection.');
    expect(c.weakens).toEqual([]);
  });

  it('a proposal equal to the active version changes nothing', () => {
    expect(proposalChanges(answer(), 2).summary).toBe('It changes nothing against the active version (2).');
  });

  it('what would refuse it now: problems by rule and field, then the baseline', () => {
    const c = proposalChanges(
      answer({
        valid: false,
        problems: [
          { rule: 'r1', field: 'match.host', message: 'no longer one of the app’s hosts' },
          { rule: null, field: null, message: 'x' },
        ],
        baseline: ['It removes the baseline rule “mfa”.'],
      }),
      1,
    );
    expect(c.refused).toEqual([
      'rule “r1”, field match.host: no longer one of the app’s hosts',
      'x',
      'It removes the baseline rule “mfa”.',
    ]);
  });

  it(`shows at most ${MAX_LINES} changes and counts the rest`, () => {
    const diff = Array.from({ length: MAX_LINES + 3 }, (_, i) => ({ kind: 'added' as const, rule: `r${i}`, text: `rule "r${i}" added` }));
    const c = proposalChanges(answer({ diff }), 1);
    expect(c.lines).toHaveLength(MAX_LINES + 1);
    expect(c.lines.at(-1)).toBe('… and 3 more changes.');
  });
});
