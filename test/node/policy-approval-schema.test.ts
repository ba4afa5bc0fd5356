/**
 * `require.approval` in the policy file (edge/policy/schema.ts, validate-policy.ts, compile-policy.ts):
 * what is accepted and how it compiles (defaults included), every refusal naming the field, the
 * published JSON Schema refusing exactly what the validator refuses where a pattern can say it, the
 * role names equal to the admin roles, and report-only rules carrying approval without holding.
 */
import { describe, expect, it } from 'vitest';
import { ROLES } from '../../edge/admin/authorization';
import { compilePolicy } from '../../edge/policy/compile-policy';
import publishedSchema from '../../edge/policy/policy.schema.json';
import { describeDiffEntry, diffPolicies } from '../../edge/policy/policy-diff';
import { testRequest } from '../../edge/policy/policy-tester';
import { APPROVER_ROLES, approvalExpiresSeconds, type Policy } from '../../edge/policy/schema';
import { PolicyError, validatePolicy } from '../../edge/policy/validate-policy';

const withApproval = (approval: unknown, extra: Record<string, unknown> = {}) => ({
  version: 1,
  rules: [
    {
      id: 'delete-project',
      ...extra,
      match: { methods: ['DELETE'], path: '/api/projects/*' },
      require: { factors: ['webauthn'], bind: 'action', approval },
    },
  ],
});
const problems = (approval: unknown): string[] => {
  try {
    validatePolicy(withApproval(approval));
  } catch (e) {
    if (e instanceof PolicyError) return e.problems.map((p) => `${p.field}: ${p.message}`);
    throw e;
  }
  return [];
};
const admin1 = { from: { role: 'admin' }, count: 1 };

describe('require.approval: accepted and compiled', () => {
  it('compiles the design example, keeping every group in order (AND of N-of-M)', () => {
    const p = validatePolicy(
      withApproval({
        approvers: [admin1, { from: { people: ['bob', 'carol'] }, count: 2 }, { from: { claimGroup: 'finance' }, count: 1 }],
        expires: '2d',
        requesterStepUp: false,
      }),
    );
    expect(compilePolicy(p).rules[0]!.approval).toEqual({
      approvers: [
        { from: { role: 'admin' }, count: 1 },
        { from: { people: ['bob', 'carol'] }, count: 2 },
        { from: { claimGroup: 'finance' }, count: 1 },
      ],
      expiresSeconds: 2 * 86400,
      requesterStepUp: false,
    });
  });

  it('defaults: expires 1h, requesterStepUp true; no approval compiles to null', () => {
    expect(compilePolicy(validatePolicy(withApproval({ approvers: [admin1] }))).rules[0]!.approval).toEqual({
      approvers: [admin1],
      expiresSeconds: 3600,
      requesterStepUp: true,
    });
    const none = { version: 1, rules: [{ id: 'r', match: { path: '/x' }, require: { factors: ['webauthn'], bind: 'action' } }] };
    expect(compilePolicy(validatePolicy(none)).rules[0]!.approval).toBeNull();
  });

  it('accepts every role name the admin roles have, and only those', () => {
    expect([...APPROVER_ROLES].sort()).toEqual([...ROLES].sort());
    for (const role of ROLES) expect(problems({ approvers: [{ from: { role }, count: 1 }] })).toEqual([]);
  });

  it('expires runs from 1m to 7d in minutes, hours or days', () => {
    for (const [d, s] of [
      ['1m', 60],
      ['10080m', 604800],
      ['168h', 604800],
      ['7d', 604800],
      ['90m', 5400],
    ] as const)
      expect(approvalExpiresSeconds(d)).toBe(s);
  });
});

describe('require.approval: refused, naming the field', () => {
  const at = 'require.approval.';
  it.each([
    ['no approvers', { approvers: [] }, `${at}approvers: Too small`],
    [
      'six groups',
      {
        approvers: ['owner', 'admin', 'app-admin', 'auditor', 'helpdesk']
          .map((role) => ({ from: { role }, count: 1 }))
          .concat([{ from: { claimGroup: 'x' } as never, count: 1 }]),
      },
      `${at}approvers: Too big`,
    ],
    [
      'an unknown role',
      { approvers: [{ from: { role: 'admins' }, count: 1 }] },
      `${at}approvers.0.from: "role" must be one of "owner", "admin"`,
    ],
    [
      'two keys in from',
      { approvers: [{ from: { role: 'admin', claimGroup: 'x' }, count: 1 }] },
      `${at}approvers.0.from: must be an object with exactly one of`,
    ],
    ['an empty from', { approvers: [{ from: {}, count: 1 }] }, `${at}approvers.0.from: must be an object with exactly one of`],
    ['from as a string', { approvers: [{ from: 'admin', count: 1 }] }, `${at}approvers.0.from: must be an object with exactly one of`],
    ['an unknown from key', { approvers: [{ from: { group: 'finance' }, count: 1 }] }, `${at}approvers.0.from: unknown field "group"`],
    ['no people', { approvers: [{ from: { people: [] }, count: 1 }] }, `${at}approvers.0.from`],
    ['51 people', { approvers: [{ from: { people: Array.from({ length: 51 }, (_, i) => `p${i}`) }, count: 1 }] }, `${at}approvers.0.from`],
    [
      'a person twice',
      { approvers: [{ from: { people: ['bob', 'bob'] }, count: 1 }] },
      `${at}approvers.0.from.people: must not name a person twice`,
    ],
    [
      'count above the people named',
      { approvers: [{ from: { people: ['bob', 'carol'] }, count: 3 }] },
      `${at}approvers.0.count: count is larger than the number of people named`,
    ],
    ['count 0', { approvers: [{ from: { role: 'admin' }, count: 0 }] }, `${at}approvers.0.count: Too small`],
    ['count 21', { approvers: [{ from: { role: 'admin' }, count: 21 }] }, `${at}approvers.0.count: Too big`],
    ['count 1.5', { approvers: [{ from: { role: 'admin' }, count: 1.5 }] }, `${at}approvers.0.count`],
    ['a claim group too long', { approvers: [{ from: { claimGroup: 'g'.repeat(129) }, count: 1 }] }, `${at}approvers.0.from`],
    [
      'the same approvers twice',
      { approvers: [admin1, { ...admin1, count: 2 }] },
      `${at}approvers: two approver groups name the same approvers`,
    ],
    [
      'the same people twice, reordered',
      {
        approvers: [
          { from: { people: ['a', 'b'] }, count: 1 },
          { from: { people: ['b', 'a'] }, count: 1 },
        ],
      },
      `${at}approvers: two approver groups`,
    ],
    ['expires 8d', { approvers: [admin1], expires: '8d' }, `${at}expires: must be a duration from "1m" to "7d"`],
    ['expires 169h', { approvers: [admin1], expires: '169h' }, `${at}expires: must be a duration`],
    ['expires 10081m', { approvers: [admin1], expires: '10081m' }, `${at}expires: must be a duration`],
    ['expires in seconds', { approvers: [admin1], expires: '3600s' }, `${at}expires: must be a duration`],
    ['expires 0m', { approvers: [admin1], expires: '0m' }, `${at}expires: must be a duration`],
    ['requesterStepUp as a string', { approvers: [admin1], requesterStepUp: 'no' }, `${at}requesterStepUp`],
    ['an unknown field', { approvers: [admin1], quorum: 'any' }, `require.approval: unknown field(s) "quorum"`],
    ['an unknown group field', { approvers: [{ ...admin1, weight: 2 }] }, `${at}approvers.0: unknown field(s) "weight"`],
  ])('%s', (_n, approval, expected) => {
    const got = problems(approval);
    expect(got.length).toBeGreaterThan(0);
    expect(got).toContainEqual(expect.stringContaining(expected));
  });

  it('the error names the file and the rule', () => {
    expect(() => validatePolicy(withApproval({ approvers: [{ from: { role: 'root' }, count: 1 }] }), 'app.json')).toThrow(
      /^app\.json: rule "delete-project": require\.approval\.approvers\.0\.from: "role" must be one of/,
    );
  });
});

describe('the published JSON Schema agrees with the validator', () => {
  const approvalSchema = (
    publishedSchema as never as {
      properties: { rules: { items: { properties: { require: { properties: { approval: Record<string, never> } } } } } };
    }
  ).properties.rules.items.properties.require.properties.approval as unknown as {
    properties: {
      expires: { pattern: string };
      approvers: { items: { properties: { from: { anyOf: { properties: Record<string, unknown> }[] } } } };
    };
  };

  it('its expires pattern accepts exactly what the validator accepts (1m to 7d)', () => {
    const pattern = new RegExp(approvalSchema.properties.expires.pattern, 'u');
    const mismatches: string[] = [];
    for (const unit of ['m', 'h', 'd', 's']) {
      for (let n = 0; n <= 10_100; n++) {
        const d = `${n}${unit}`;
        if (pattern.test(d) !== (problems({ approvers: [admin1], expires: d }).length === 0)) mismatches.push(d);
      }
    }
    expect(mismatches).toEqual([]);
    expect(pattern.test('07d')).toBe(false);
  });

  it('names the three kinds of approvers, each alone', () => {
    const kinds = approvalSchema.properties.approvers.items.properties.from.anyOf.map((b) => Object.keys(b.properties));
    expect(kinds).toEqual([['role'], ['people'], ['claimGroup']]);
  });
});

describe('report-only rules with approval', () => {
  const p = validatePolicy(withApproval({ approvers: [admin1] }, { mode: 'report' }));
  const compiled = compilePolicy(p);

  it('are valid, are counted (reportMatches) and never hold a request (match)', () => {
    expect(compiled.rules[0]!.approval).not.toBeNull();
    expect(compiled.match('app.test', ['DELETE'], ['api', 'projects', '7'])).toBeNull();
    expect(compiled.reportMatches('app.test', ['DELETE'], ['api', 'projects', '7']).map((m) => m.rule.id)).toEqual(['delete-project']);
  });

  it('the tester says the report rule would have held it for approval', () => {
    expect(testRequest(compiled, 'DELETE', 'https://app.test/api/projects/7').text).toMatch(/would have challenged and held for approval/);
  });
});

describe('approval in words', () => {
  const enforce = validatePolicy(withApproval({ approvers: [admin1, { from: { people: ['bob', 'carol'] }, count: 1 }], expires: '30m' }));

  it('the tester says who must approve, for how long the request waits', () => {
    const r = testRequest(compilePolicy(enforce), 'DELETE', 'https://app.test/api/projects/7');
    expect(r.outcome).toBe('approve-action');
    expect(r.text).toMatch(/After that step-up, the request waits \(up to 30 min\) until 1 of admins and 1 of bob or carol approve it/);
  });

  it('the diff line says the approval in words, not JSON', () => {
    const none = structuredClone(enforce) as Policy;
    delete none.rules[0]!.require.approval;
    const lines = diffPolicies(none, enforce).map(describeDiffEntry);
    expect(lines).toEqual([
      'rule "delete-project": approval: (none) → ' +
        'approval by 1 of admins and 1 of bob or carol (waits up to 30m; the requester steps up first)',
    ]);
  });
});
