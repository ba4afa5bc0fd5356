/** @module validatePolicy: check a policy document and report every problem by file, rule id and field. */
import type { core } from 'zod/mini';
import { showHiddenCharacters } from '../../shared/visible-text';
import { PolicySchema, type Policy } from './schema';

/** One problem in a policy file. */
export interface PolicyProblem {
  file: string;
  /** The rule's id, or its index when the id itself is missing or invalid; absent for top-level fields. */
  rule?: string;
  /** Dotted field path inside the rule (or the document), e.g. `require.maxAge`. */
  field: string;
  message: string;
}

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(readonly problems: PolicyProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

export const formatProblem = (p: PolicyProblem): string =>
  `${p.file}: ${p.rule ? `rule ${p.rule}: ` : ''}${p.field || '(document)'}: ${p.message}`;

const describe = (issue: core.$ZodIssue, input: unknown): string => {
  if (issue.code === 'unrecognized_keys') return `unknown field(s) ${issue.keys.map((k) => `"${showHiddenCharacters(k)}"`).join(', ')}`;
  const got = issue.path.reduce<unknown>(
    (v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined),
    input,
  );
  // Hidden characters (zero-width, bidi) are shown escaped, so the message reads as what the file holds.
  const shown = got === undefined ? 'nothing' : showHiddenCharacters(JSON.stringify(got)?.slice(0, 80) ?? '');
  return `${issue.message} (got ${shown})`;
};

/**
 * Validate a parsed policy document.
 *
 * @returns the typed policy
 * @throws {PolicyError} listing every problem, each naming file, rule id and field
 */
export function validatePolicy(input: unknown, file = 'policy.json'): Policy {
  const parsed = PolicySchema.safeParse(input);
  const rawRules = (input as { rules?: unknown } | null)?.rules;
  const ruleName = (i: number): string => {
    const id = Array.isArray(rawRules) ? (rawRules[i] as { id?: unknown } | undefined)?.id : undefined;
    return typeof id === 'string' && id !== '' ? `"${id}"` : `#${i + 1}`;
  };
  const problems: PolicyProblem[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const [top, idx, ...rest] = issue.path;
      if (top === 'rules' && typeof idx === 'number') {
        problems.push({ file, rule: ruleName(idx), field: rest.join('.') || '(rule)', message: describe(issue, input) });
      } else {
        problems.push({ file, field: issue.path.join('.'), message: describe(issue, input) });
      }
    }
    throw new PolicyError(problems);
  }
  const policy = parsed.data;
  const seen = new Set<string>();
  policy.rules.forEach((r, i) => {
    if (seen.has(r.id)) problems.push({ file, rule: ruleName(i), field: 'id', message: 'duplicate rule id' });
    if (r.id.toLowerCase().startsWith('stepgate-'))
      problems.push({ file, rule: ruleName(i), field: 'id', message: 'ids starting with "stepgate-" are reserved' });
    seen.add(r.id);
  });
  if (problems.length) throw new PolicyError(problems);
  return policy;
}

/** Parse JSON text and validate it; JSON syntax errors are reported as a problem too. */
export function parsePolicy(text: string, file = 'policy.json'): Policy {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new PolicyError([{ file, field: '', message: `not valid JSON: ${(e as Error).message}` }]);
  }
  return validatePolicy(doc, file);
}
