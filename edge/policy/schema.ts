/** @module The policy file format: a zod schema (the source of truth) and the JSON Schema published from it. */
import { z } from 'zod';

/** `recovery` lets a rule accept a recovery code; leave it out for rules that must be phishing-resistant. */
export const FACTORS = ['webauthn', 'totp', 'recovery'] as const;
export type Factor = (typeof FACTORS)[number];

const METHOD = /^[A-Z][A-Z-]*$/;
const DURATION = /^([1-9]\d*)(s|m|h)$/;
const HOST = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** A path pattern: `/literal/*` (one segment), `/**` (any number), `/files/*.pdf` (glob inside a segment). */
const PathPattern = z
  .string()
  .refine((p) => p.startsWith('/'), { message: 'must start with "/"' })
  .refine((p) => !/[?#;\\%\s]/.test(p), { message: 'may not contain "?", "#", ";", "\\", "%" or whitespace (write paths decoded)' })
  .refine((p) => !p.slice(1).replace(/\/$/, '').split('/').some((s) => s === '' || s === '.' || s === '..'), {
    message: 'may not contain empty, "." or ".." segments',
  })
  .refine((p) => !p.split('/').some((s) => s.includes('**') && s !== '**'), {
    message: '"**" must be a whole segment',
  });

const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t).min(1)]);

export const RuleSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"'),
  description: z.string().max(500).optional(),
  match: z.strictObject({
    methods: z
      .array(z.string().regex(METHOD, 'must be an upper-case HTTP method such as "DELETE"'))
      .min(1)
      .optional()
      .describe('Methods this rule covers; all methods when absent. HEAD is matched as GET.'),
    path: oneOrMany(PathPattern).describe('Path pattern(s), matched against the canonical decoded path.'),
    host: oneOrMany(z.string().regex(HOST, 'must be a lower-case host name, optionally starting with "*."'))
      .optional()
      .describe('Host name(s); any host when absent.'),
  }),
  require: z.strictObject({
    factors: z.array(z.enum(FACTORS)).min(1).describe('Factors that can satisfy this rule.'),
    bind: z.enum(['session', 'action']).describe('"session": one step-up covers the rule for maxAge; "action": one grant per exact request.'),
    maxAge: z
      .string()
      .regex(DURATION, 'must be a duration such as "300s", "5m" or "1h"')
      .optional()
      .describe('How long a step-up stays valid (session) or an approval may wait to be used (action). Default "5m".'),
  }),
});

export const PolicySchema = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1),
  hosts: z
    .array(z.string().regex(HOST, 'must be a lower-case host name, optionally starting with "*."'))
    .min(1)
    .optional()
    .describe('Hosts this gateway serves. Requests for any other host are refused (421). Recommended when rules name hosts.'),
  caseSensitive: z.boolean().optional().describe('Match paths case-sensitively. Default false (safe for case-insensitive origins).'),
  allowPathInfo: z
    .boolean()
    .optional()
    .describe('Allow a script name followed by more path (`/index.php/admin`). Default false: such requests get 400, because PHP, IIS and Tomcat route them by the part after the script.'),
  maxInspectBytes: z
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .optional()
    .describe('Largest body Stepgate reads to bind an action or find a `_method` override. Default 1 MiB.'),
  enrolment: z
    .enum(['first-use', 'invite'])
    .optional()
    .describe('How a person with no factor enrols the first: "first-use" (allowed, audited) or "invite" (an admin-issued one-time code). Default "first-use".'),
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
