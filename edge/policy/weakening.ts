/**
 * @module classifyChange: whether going from one policy version to another weakens protection, and
 * why, rule by rule. A weakening version needs a second admin's approval; so every change this file
 * cannot show to be harmless counts as weakening (fail closed), including fields it does not know.
 * The list of rules is docs/policy.md "What counts as weakening".
 */
import { compareApprovals, readApproval, UNREADABLE } from './approval-change';
import { asList, caseFold, exact, hostsCover, methodSet, methodsCover, type Norm, pathListCovers } from './pattern-coverage';
import { type ChangeKind, ruleMode, PHISHING_RESISTANT, type PolicyChange } from './policy-change';
import { diffPolicies, type PolicyDiffEntry, ruleSummary } from './policy-diff';
import { shadowingChanges } from './rule-shadowing';
import { durationSeconds, type Policy, type Rule } from './schema';

export type { ChangeKind, PolicyChange } from './policy-change';

export interface ChangeClassification {
  /** Some change lowers protection (or cannot be shown not to): the version needs a second admin. */
  weakens: boolean;
  /** Nothing weakens and at least one change raises protection. */
  strengthens: boolean;
  changes: PolicyChange[];
}

type Verdict = { kind: ChangeKind; message: string };
const weakens = (message: string): Verdict => ({ kind: 'weakens', message });
const strengthens = (message: string): Verdict => ({ kind: 'strengthens', message });
const neutral = (message: string): Verdict => ({ kind: 'neutral', message });
const show = (v: unknown): string => (v === undefined ? '(not set)' : JSON.stringify(v));
const unknownChange = (what: string, e: PolicyDiffEntry): Verdict =>
  weakens(`${what}${e.field} changed from ${show(e.before)} to ${show(e.after)}; Stepgate cannot tell that this keeps protection.`);

/** Ordered choices: a move to a lower rank weakens. */
function ranked(what: string, ranks: Record<string, number>, dflt: string, e: PolicyDiffEntry, why: string): Verdict {
  const [b, a] = [String(e.before ?? dflt), String(e.after ?? dflt)];
  const [rb, ra] = [ranks[b], ranks[a]];
  if (rb === undefined || ra === undefined) return unknownChange(what, e);
  const text = `${what}${e.field} goes from "${b}" to "${a}"`;
  return ra < rb ? weakens(`${text}: ${why}.`) : ra > rb ? strengthens(`${text}.`) : neutral(`${text} (the same meaning).`);
}

/** Wider-or-equal (`wider(a, b)`: a covers b) is fine; anything not provably so is narrowing. */
function coverage(what: string, e: PolicyDiffEntry, wider: (x: unknown, y: unknown) => boolean, lost: string): Verdict {
  const [up, down] = [wider(e.after, e.before), wider(e.before, e.after)];
  const text = `${what}${e.field} goes from ${show(e.before)} to ${show(e.after)}`;
  if (!up) return weakens(`${text}: ${lost}.`);
  return down ? neutral(`${text} (the same requests).`) : strengthens(`${text}: it now covers more.`);
}

function classifyRuleField(e: PolicyDiffEntry, norm: Norm): Verdict {
  const what = `Rule "${e.rule}": `;
  switch (e.field) {
    case 'description':
      return neutral(`${what}the description changed.`);
    case 'mode':
      return ranked(
        what,
        { report: 0, enforce: 1 },
        'enforce',
        e,
        'it will only count the requests it would challenge, never challenge them',
      );
    case 'match.methods':
      return coverage(what, e, (x, y) => methodsCover(x as string[] | undefined, y as string[] | undefined), lostMethods(e));
    case 'match.path':
      // Containment of glob patterns is proved segment by segment (pattern-coverage.ts); a change that
      // is a superset in ways that proof does not see (a union of patterns) still reads as narrowing.
      return coverage(
        what,
        e,
        (x, y) => pathListCovers(asList(x as string | string[])!, asList(y as string | string[])!, norm),
        'some paths it covered may no longer be covered (any pattern change not provably wider counts as narrowing)',
      );
    case 'match.host':
      return coverage(
        what,
        e,
        (x, y) => hostsCover(asList(x as string | string[] | undefined), asList(y as string | string[] | undefined)),
        'some hosts it covered are no longer covered',
      );
    case 'require.factors':
      return factorsVerdict(what, e.before as string[], e.after as string[]);
    case 'require.bind':
      return ranked(
        what,
        { session: 0, action: 1 },
        'session',
        e,
        'one step-up now covers every matching request for maxAge, not one approval per request',
      );
    case 'require.maxAge': {
      const [b, a] = [durationSeconds(String(e.before ?? '5m')), durationSeconds(String(e.after ?? '5m'))];
      const text = `${what}maxAge goes from ${show(e.before ?? '5m')} to ${show(e.after ?? '5m')}`;
      return a > b
        ? weakens(`${text}: a step-up or approval stays usable longer.`)
        : a < b
          ? strengthens(`${text}.`)
          : neutral(`${text} (the same time).`);
    }
    case 'require.approval':
      return approvalVerdict(what, e);
    default:
      return unknownChange(what, e);
  }
}

/** A change of `require.approval`: any part that asks less weakens the whole change (approval-change.ts). */
function approvalVerdict(what: string, e: PolicyDiffEntry): Verdict {
  const [b, a] = [readApproval(e.before), readApproval(e.after)];
  if (b === UNREADABLE || a === UNREADABLE) return unknownChange(what, e);
  const { weaker, stricter } = compareApprovals(b, a);
  if (weaker.length) return weakens(`${what}approval: ${weaker.join('; ')}.`);
  if (stricter.length) return strengthens(`${what}approval: ${stricter.join('; ')}.`);
  return neutral(`${what}the approval was rewritten with the same meaning.`);
}

function lostMethods(e: PolicyDiffEntry): string {
  const [b, a] = [methodSet(e.before as string[] | undefined), methodSet(e.after as string[] | undefined)];
  if (a === null) return 'it covers fewer methods';
  const lost = b === null ? null : [...b].filter((m) => !a.has(m));
  return lost === null ? `it covered every method and now covers only ${[...a].join(', ')}` : `it no longer covers ${lost.join(', ')}`;
}

function factorsVerdict(what: string, before: string[], after: string[]): Verdict {
  const added = after.filter((f) => !before.includes(f));
  const removed = before.filter((f) => !after.includes(f));
  if (added.length) {
    const resistant = (fs: string[]) => fs.every((f) => PHISHING_RESISTANT.includes(f));
    const phish = resistant(before) && !resistant(after) ? ', so it is no longer phishing-resistant' : '';
    return weakens(`${what}it now also accepts ${added.join(', ')}${phish}.`);
  }
  if (removed.length) return strengthens(`${what}it no longer accepts ${removed.join(', ')}.`);
  return neutral(`${what}the factors were reordered.`);
}

function classifyDocumentField(e: PolicyDiffEntry, unset: number): Verdict {
  switch (e.field) {
    case '$schema':
      return neutral('The "$schema" reference changed (editors only).');
    case 'hosts':
      return hostsVerdict(e.before as string[] | undefined, e.after as string[] | undefined);
    case 'caseSensitive':
      return ranked('', { true: 0, false: 1 }, 'false', e, 'a pattern no longer matches the same path in another case');
    case 'allowPathInfo':
      return ranked('', { true: 0, false: 1 }, 'false', e, 'a script name followed by more path now reaches the origin');
    case 'enrolment':
      return ranked('', { 'first-use': 0, invite: 1 }, 'first-use', e, 'a person with no factor may now enrol one without an invitation');
    case 'maxInspectBytes': {
      const [b, a] = [Number(e.before ?? unset), Number(e.after ?? unset)];
      const shown = (v: unknown, n: number) => (v === undefined && n === Number.POSITIVE_INFINITY ? '(not set: no cap)' : String(n));
      const text = `maxInspectBytes goes from ${shown(e.before, b)} to ${shown(e.after, a)}`;
      return a > b
        ? weakens(`${text}: larger bodies are now read instead of refused.`)
        : a < b
          ? strengthens(`${text}.`)
          : neutral(`${text}.`);
    }
    default:
      return unknownChange('', e);
  }
}

/** Any change to the served hosts counts: a dropped host may be claimed by another app, an added one reaches the origin. */
function hostsVerdict(before: string[] | undefined, after: string[] | undefined): Verdict {
  const parts: string[] = [];
  if (before === undefined) parts.push(`it now serves only ${after!.join(', ')} instead of every host`);
  else if (after === undefined) parts.push('it now serves every host');
  else {
    const dropped = before.filter((h) => !after.includes(h));
    const added = after.filter((h) => !before.includes(h));
    if (dropped.length) parts.push(`it no longer serves ${dropped.join(', ')}`);
    if (added.length) parts.push(`it now also serves ${added.join(', ')}, where rules that name hosts do not apply`);
  }
  if (!parts.length) return neutral('"hosts" was reordered.');
  return weakens(`"hosts" changed: ${parts.join('; ')}. A change of the hosts a policy covers always needs a second admin.`);
}

function classifyEntry(e: PolicyDiffEntry, norm: Norm, unset: number): PolicyChange {
  const base = { rule: e.rule, field: e.field, before: e.before, after: e.after };
  if (e.op === 'removed') {
    return { ...base, kind: 'weakens', message: `Rule "${e.rule}" was removed: ${ruleSummary(e.before as Rule)} is no longer held to it.` };
  }
  if (e.op === 'added') {
    const mode = ruleMode(e.after as Rule);
    const summary = ruleSummary(e.after as Rule);
    return mode === 'enforce'
      ? { ...base, kind: 'strengthens', message: `Rule "${e.rule}" was added: ${summary} now needs a step-up.` }
      : { ...base, kind: 'neutral', message: `Rule "${e.rule}" was added in ${mode} mode: ${summary} is counted, not challenged.` };
  }
  if (e.op === 'moved') {
    const message =
      `Rule "${e.rule}" moved from position ${e.before} to ${e.after} ` +
      '(where this lets another rule apply first, it is listed separately).';
    return { ...base, kind: 'neutral', message };
  }
  return { ...base, ...(e.rule === null ? classifyDocumentField(e, unset) : classifyRuleField(e, norm)) };
}

/** How a document is read where it leaves a field out. */
export interface ClassifyOptions {
  /**
   * What an absent `maxInspectBytes` means: 1 MiB in an app policy (the default, compile-policy.ts);
   * no cap at all in an organisation baseline, where dropping it lets every app read up to its own
   * setting (pass `Number.POSITIVE_INFINITY`).
   */
  unsetMaxInspectBytes?: number;
}

/**
 * Classify the change from `before` to `after` (both validated). Every change is listed with its
 * effect and a sentence; `weakens` is true when any one weakens. Pure: no I/O.
 */
export function classifyChange(before: Policy, after: Policy, options: ClassifyOptions = {}): ChangeClassification {
  // Patterns are compared under the new version's case rule; a change of caseSensitive itself is classified on its own.
  const norm = after.caseSensitive ? exact : caseFold;
  const unset = options.unsetMaxInspectBytes ?? 1048576;
  const changes = [...diffPolicies(before, after).map((e) => classifyEntry(e, norm, unset)), ...shadowingChanges(before, after)];
  const weak = changes.some((c) => c.kind === 'weakens');
  return { weakens: weak, strengthens: !weak && changes.some((c) => c.kind === 'strengthens'), changes };
}
