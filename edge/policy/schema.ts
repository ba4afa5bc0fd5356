/** @module The policy file format: a zod schema (the source of truth) and the JSON Schema published from it. */
import * as z from '../http/zod';
import { displaySegments, HIDDEN_CLASS, showHiddenCharacters } from '../../shared/visible-text';

/** `recovery` lets a rule accept a recovery code; leave it out for rules that must be phishing-resistant. */
export const FACTORS = ['webauthn', 'totp', 'recovery'] as const;
export type Factor = (typeof FACTORS)[number];

const METHOD = /^[A-Z][A-Z-]*$/;
const DURATION = /^([1-9]\d*)(s|m|h)$/;
const HOST = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/**
 * Every character a path pattern may contain. Stepgate's only wildcards are `*` and `**`; glob
 * syntax it does not implement (`?`, `[0-9]`, `{a,b}`) would match literally and leave the route
 * it was meant for unprotected, so it is refused. So are what a canonical path never holds as
 * written (`#`, `;`, `\`, `%`: patterns are written decoded), whitespace, and every character a
 * person cannot see (controls such as NUL, zero-width, bidi and other invisible characters, as
 * shared/visible-text.ts marks them). Published as the JSON Schema `pattern` (ECMA-262, `u` flag).
 */
export const PATH_PATTERN_CHARS = new RegExp(`^[^?\\[\\]{}#;\\\\%\\s${HIDDEN_CLASS}]*$`, 'u');
const GLOB_HELP = 'Stepgate patterns know only "*" (one segment) and "**" (any depth); write each path out or use "*"';

/** How a hidden character is named: "invisible character U+200B ZERO WIDTH SPACE", or null for a visible one. */
const hiddenLabel = (s: string): string | null => {
  const seg = displaySegments(s).find((x) => x.hidden);
  return seg?.hidden ? seg.label : null;
};
const hiddenMessage = (label: string, what: 'path' | 'host') =>
  `contains ${label}, which a pattern may not contain: it would match only a ${what} with that same hidden character`;

/** Why a path pattern fails PATH_PATTERN_CHARS: the first thing in it Stepgate does not implement, named. */
export function pathCharProblem(p: string): string {
  const chars = [...p];
  const i = chars.findIndex((ch) => !PATH_PATTERN_CHARS.test(ch));
  const ch = chars[i];
  if (ch === undefined) return 'contains a character Stepgate patterns do not support';
  if ('[{?]}'.includes(ch)) {
    const construct = /^(\[[^\]/]*\]|\{[^}/]*\})/u.exec(chars.slice(i).join(''))?.[0] ?? ch;
    return `"${construct}" is not supported — ${GLOB_HELP}`;
  }
  if ('#;\\%'.includes(ch)) return `may not contain "${ch}" (write paths decoded, without "#", ";", "\\" or "%")`;
  const hidden = hiddenLabel(ch);
  if (hidden) return hiddenMessage(hidden, 'path');
  return `may not contain whitespace (U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;
}

/** Why a host pattern fails HOST, naming unsupported glob syntax or a hidden character. */
function hostProblem(h: string): string {
  const hidden = hiddenLabel(h);
  if (hidden) return hiddenMessage(hidden, 'host');
  const glob = /\[[^\]]*\]?|\{[^}]*\}?|[?\]}]/u.exec(h)?.[0] ?? (h.replace(/^\*\./, '').includes('*') ? '*' : undefined);
  if (glob) return `"${glob}" is not supported — host patterns know only "*." at the start (any subdomain); list each host instead`;
  return 'must be a lower-case host name, optionally starting with "*."';
}

/** A path pattern: `/literal/*` (one segment), `/**` (any number), `/files/*.pdf` (glob inside a segment). */
const PathPattern = z.string().check(
  z.refine((p) => p.startsWith('/'), { message: 'must start with "/"' }),
  z.regex(PATH_PATTERN_CHARS, { error: (iss) => pathCharProblem(String(iss.input)) }),
  z.refine(
    (p) =>
      !p
        .slice(1)
        .replace(/\/$/, '')
        .split('/')
        .some((s) => s === '' || s === '.' || s === '..'),
    {
      message: 'may not contain empty, "." or ".." segments',
    },
  ),
  z.refine((p) => !p.split('/').some((s) => s.includes('**') && s !== '**'), {
    message: '"**" must be a whole segment',
  }),
);

const HostPattern = z.string().check(z.regex(HOST, { error: (iss) => hostProblem(String(iss.input)) }));

const oneOrMany = <T extends z.ZodMiniType>(t: T) => z.union([t, z.array(t).check(z.minLength(1))]);

/** `enforce` challenges; `report` only counts the requests it would have challenged (docs/policy.md, "Report-only rules"). */
export const RULE_MODES = ['enforce', 'report'] as const;
export type RuleMode = (typeof RULE_MODES)[number];

/**
 * The roles an approver group may name (`"from": { "role": … }`): the same names as edge/admin's ROLES
 * (test/node/policy-approval-schema.test.ts keeps them equal; policy may not import edge/admin).
 */
export const APPROVER_ROLES = ['owner', 'admin', 'app-admin', 'auditor', 'helpdesk'] as const;
export type ApproverRole = (typeof APPROVER_ROLES)[number];

/**
 * How long a pending approval waits: minutes, hours or days, "1m" to "7d" (10080m, 168h). The bound
 * is in the pattern itself so the published JSON Schema refuses what the validator refuses.
 */
const APPROVAL_EXPIRES = /^(?:([1-9]\d{0,3}|100[0-7]\d|10080)m|([1-9]\d?|1[0-5]\d|16[0-8])h|([1-7])d)$/;
export const APPROVAL_EXPIRES_DEFAULT = '1h';
/** Caps on one rule's approval: groups, people per group, approvals per group. */
export const APPROVAL_LIMITS = { groups: 5, people: 50, count: 20, subjectChars: 256, groupChars: 128 } as const;

/** Seconds in an approval expiry such as "1h" or "2d" (pattern-checked by the schema). */
export const approvalExpiresSeconds = (d: string): number => {
  const m = APPROVAL_EXPIRES.exec(d);
  if (!m) throw new TypeError(`"${d}" is not an approval expiry`);
  return m[1] ? Number(m[1]) * 60 : m[2] ? Number(m[2]) * 3600 : Number(m[3]) * 86400;
};

/** Why an approver group's `from` matched none of its three shapes, naming the key at fault. */
function fromProblem(input: unknown): string {
  const keys = input && typeof input === 'object' && !Array.isArray(input) ? Object.keys(input) : null;
  if (keys?.length !== 1) return 'must be an object with exactly one of "role", "people" or "claimGroup"';
  const [key] = keys as [string];
  if (key === 'role') return `"role" must be one of ${APPROVER_ROLES.map((r) => `"${r}"`).join(', ')}`;
  if (key === 'people') return `"people" must be a list of 1 to ${APPROVAL_LIMITS.people} user ids (the app's subjects)`;
  if (key === 'claimGroup') return `"claimGroup" must be a group name of 1 to ${APPROVAL_LIMITS.groupChars} characters`;
  return `unknown field "${showHiddenCharacters(key)}": use "role", "people" or "claimGroup"`;
}

const ApproverFrom = z
  .union(
    [
      z.strictObject({ role: z.enum(APPROVER_ROLES).check(z.describe("A role in the app's organisation (app-admin: of this app).")) }),
      z.strictObject({
        people: z.array(z.string().check(z.minLength(1), z.maxLength(APPROVAL_LIMITS.subjectChars))).check(
          z.minLength(1),
          z.maxLength(APPROVAL_LIMITS.people),
          z.refine((a) => new Set(a).size === a.length, { message: 'must not name a person twice' }),
          z.meta({ uniqueItems: true }),
          z.describe("The app's own user ids (the identity's subject) of the people who may approve."),
        ),
      }),
      z.strictObject({
        claimGroup: z
          .string()
          .check(
            z.minLength(1),
            z.maxLength(APPROVAL_LIMITS.groupChars),
            z.describe("A value of the approver's identity groups claim (identity groupsClaim / groupsField)."),
          ),
      }),
    ],
    { error: (iss) => fromProblem(iss.input) },
  )
  .check(z.describe('Who may approve: exactly one of "role", "people" or "claimGroup".'));

/** The same key for groups naming the same approvers (people compared as a set). */
const sameApproversKey = (from: { role: string } | { people: readonly string[] } | { claimGroup: string }): string =>
  'people' in from ? `people:${JSON.stringify([...from.people].sort())}` : JSON.stringify(from);

const ApproverGroupSchema = z
  .strictObject({
    from: ApproverFrom,
    count: z
      .number()
      .check(z.int(), z.gte(1), z.lte(APPROVAL_LIMITS.count), z.describe('How many distinct people of this group must approve.')),
  })
  .check(
    z.refine((g) => !('people' in g.from) || g.count <= g.from.people.length, {
      message: 'count is larger than the number of people named: the request could never be approved',
      path: ['count'],
    }),
  );

export const ApprovalSchema = z
  .strictObject({
    approvers: z.array(ApproverGroupSchema).check(
      z.minLength(1),
      z.maxLength(APPROVAL_LIMITS.groups),
      // Two groups naming the same approvers would read as "2 of them" or "1 of them" depending on
      // how votes are counted; one group with the larger count says it once.
      z.refine((gs) => new Set(gs.map((g) => sameApproversKey(g.from))).size === gs.length, {
        message: 'two approver groups name the same approvers: use one group with the count you need',
      }),
      z.describe('Approver groups, all required (AND); within a group, `count` of its people (N of M).'),
    ),
    expires: z
      .optional(
        z
          .string()
          .check(
            z.regex(APPROVAL_EXPIRES, 'must be a duration from "1m" to "7d" (at most 10080m, 168h or 7d), such as "30m", "1h" or "2d"'),
          ),
      )
      .check(z.describe('How long the pending request waits for its approvals: "1m" to "7d". Default "1h".')),
    requesterStepUp: z
      .optional(z.boolean())
      .check(z.describe("Whether the requester steps up (this rule's factors) before the request waits. Default true.")),
  })
  .check(z.describe('Dual control: other people approve the exact request before it is forwarded (docs/policy.md).'));

export const RuleSchema = z.strictObject({
  id: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"')),
  description: z.optional(z.string().check(z.maxLength(500))),
  mode: z
    .optional(z.enum(RULE_MODES))
    .check(
      z.describe(
        '"enforce" (default): a match needs a step-up. "report": matched on live traffic but never challenges; ' +
          'the requests it would have challenged are counted. It never shadows an enforce rule below it.',
      ),
    ),
  match: z.strictObject({
    methods: z
      .optional(z.array(z.string().check(z.regex(METHOD, 'must be an upper-case HTTP method such as "DELETE"'))).check(z.minLength(1)))
      .check(z.describe('Methods this rule covers; all methods when absent. HEAD is matched as GET.')),
    path: oneOrMany(PathPattern).check(z.describe('Path pattern(s), matched against the canonical decoded path.')),
    host: z.optional(oneOrMany(HostPattern)).check(z.describe('Host name(s); any host when absent.')),
  }),
  require: z.strictObject({
    factors: z.array(z.enum(FACTORS)).check(z.minLength(1), z.describe('Factors that can satisfy this rule.')),
    bind: z
      .enum(['session', 'action'])
      .check(z.describe('"session": one step-up covers the rule for maxAge; "action": one grant per exact request.')),
    maxAge: z
      .optional(z.string().check(z.regex(DURATION, 'must be a duration such as "300s", "5m" or "1h"')))
      .check(z.describe('How long a step-up stays valid (session) or an approval may wait to be used (action). Default "5m".')),
    approval: z.optional(ApprovalSchema),
  }),
});

export const PolicySchema = z.strictObject({
  $schema: z.optional(z.string()),
  version: z.literal(1),
  hosts: z
    .optional(z.array(HostPattern).check(z.minLength(1)))
    .check(z.describe('Hosts this gateway serves. Requests for any other host are refused (421). Recommended when rules name hosts.')),
  caseSensitive: z
    .optional(z.boolean())
    .check(z.describe('Match paths case-sensitively. Default false (safe for case-insensitive origins).')),
  allowPathInfo: z
    .optional(z.boolean())
    .check(
      z.describe(
        'Allow a script name followed by more path (`/index.php/admin`). Default false: ' +
          'such requests get 400, because PHP, IIS and Tomcat route them by the part after the script.',
      ),
    ),
  maxInspectBytes: z
    .optional(z.number().check(z.int(), z.gte(1024), z.lte(16 * 1024 * 1024)))
    .check(z.describe('Largest body Stepgate reads to bind an action or find a `_method` override. Default 1 MiB.')),
  enrolment: z
    .optional(z.enum(['first-use', 'invite']))
    .check(
      z.describe(
        'How a person with no factor enrols the first: ' +
          '"first-use" (allowed, audited) or "invite" (an admin-issued one-time code). Default "first-use".',
      ),
    ),
  rules: z.array(RuleSchema),
});

export type Rule = z.infer<typeof RuleSchema>;
export type Policy = z.infer<typeof PolicySchema>;

/** The JSON Schema app owners point their editors at (`"$schema"`), generated from the zod schema. */
export const policyJsonSchema = (): object => ({
  ...z.toJSONSchema(PolicySchema, { target: 'draft-2020-12' }),
  $id: 'https://stepgate.invalid/schemas/policy-v1.json',
  title: 'Stepgate policy',
});

/** Seconds in a duration such as "5m". */
export const durationSeconds = (d: string): number => {
  const m = DURATION.exec(d);
  if (!m) throw new TypeError(`"${d}" is not a duration`);
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
};
