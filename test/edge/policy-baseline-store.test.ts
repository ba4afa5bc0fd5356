/**
 * The organisation baseline's store (edge/admin/policy-baseline.ts, baseline-writes.ts) on real D1:
 * `baselineProblems` refuses app policies that weaken it, `loadBaselines` reads every baseline in one
 * go, a weakening change waits for a second person (never its author), racing writes leave one winner,
 * and a stored baseline that cannot be read refuses every app policy (fail closed).
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppInputError } from '../../edge/admin/app-input';
import { approveBaseline, rejectBaseline, saveBaseline } from '../../edge/admin/baseline-writes';
import { createOrg } from '../../edge/admin/org-store';
import { baselineProblems, getBaseline, loadBaselines } from '../../edge/admin/policy-baseline';
import { parseKeyring } from '../../edge/crypto/keyring';

const ring = parseKeyring(env.STEPGATE_KEYS);
const ORG = 'bstore';
const OTHER = 'bstore-other';
const adminRule = { id: 'admin', match: { path: '/admin/**' }, require: { factors: ['webauthn'], bind: 'session', maxAge: '5m' } };
const deleteRule = {
  id: 'delete',
  match: { methods: ['DELETE'], path: '/api/**' },
  require: { factors: ['webauthn', 'totp'], bind: 'action' },
};
const strong = { version: 1, rules: [adminRule, deleteRule] };
const save = (document: unknown, by = 'olga') => saveBaseline(env.DB, ring, { orgId: ORG, document, by, now: Date.now() });

beforeAll(async () => {
  for (const id of [ORG, OTHER]) expect((await createOrg(env.DB, { id, name: id, now: Date.now() })).ok).toBe(true);
});

describe('organisation baseline store', () => {
  it('no baseline: no problems, nothing loaded for the organisation', async () => {
    expect(await baselineProblems(env.DB, ORG, 'app1', { version: 1, caseSensitive: true, rules: [] })).toEqual([]);
    expect((await loadBaselines(env.DB)).has(ORG)).toBe(false);
  });

  it('the first baseline is in force at once; invalid ones change nothing', async () => {
    await expect(save({ version: 1, hosts: ['a.example'], rules: [] })).rejects.toBeInstanceOf(AppInputError);
    await expect(save({ version: 1, rules: [{ id: 'x' }] })).rejects.toThrow(/rule "x"/);
    expect(await getBaseline(env.DB, ring, ORG)).toBeNull();
    const r = await save({ version: 1, rules: [adminRule] });
    expect(r).toMatchObject({ ok: true, state: 'active', from: null });
    const b = await getBaseline(env.DB, ring, ORG);
    expect(b).toMatchObject({ document: { rules: [adminRule] }, updatedBy: 'olga', proposal: null });
    expect(JSON.parse((await loadBaselines(env.DB)).get(ORG)!)).toEqual({ version: 1, rules: [adminRule] });
    expect((await loadBaselines(env.DB)).has(OTHER)).toBe(false);
  });

  it('baselineProblems: an app may add rules, not loosen matching or take a baseline id', async () => {
    expect(await baselineProblems(env.DB, ORG, 'app1', { version: 1, rules: [deleteRule] })).toEqual([]);
    const loose = await baselineProblems(env.DB, ORG, 'app1', { version: 1, caseSensitive: true, allowPathInfo: true, rules: [] });
    expect(loose).toHaveLength(2);
    expect(loose.join('\n')).toMatch(/weakens the organisation baseline: caseSensitive/);
    const taken = await baselineProblems(env.DB, ORG, 'app1', { version: 1, rules: [{ ...adminRule, id: 'baseline.admin' }] });
    expect(taken[0]).toMatch(/reserved for the organisation baseline/);
    // A weaker app rule after a baseline rule for every method takes none of its requests: the baseline
    // rule comes first over a path and its extension-less variant alike. (It used to take `/admin.json`,
    // which it matched directly, from `/admin/**`, reached only without the extension.)
    const wide = { ...deleteRule, id: 'wide', match: { methods: ['DELETE'], path: '/**' } };
    expect(await baselineProblems(env.DB, ORG, 'app1', { version: 1, rules: [wide] })).toEqual([]);
    // Another organisation's apps are not held to it.
    expect(await baselineProblems(env.DB, OTHER, 'app1', { version: 1, caseSensitive: true, rules: [] })).toEqual([]);
  });

  it('a strengthening change applies at once', async () => {
    const r = await save(strong, 'adam');
    expect(r).toMatchObject({ ok: true, state: 'active', change: { weakens: false } });
    expect((await getBaseline(env.DB, ring, ORG))?.document).toEqual(strong);
  });

  it('a weakening change waits; its author cannot approve it; another person can', async () => {
    const weaker = { version: 1, rules: [adminRule] };
    const p = await save(weaker, 'olga');
    expect(p).toMatchObject({ ok: true, state: 'proposed', change: { weakens: true } });
    expect((await getBaseline(env.DB, ring, ORG))?.document).toEqual(strong);
    // One proposal at a time.
    expect(await save({ version: 1, rules: [] }, 'adam')).toMatchObject({ ok: false, code: 'pending' });
    expect(await approveBaseline(env.DB, ring, { orgId: ORG, by: 'olga', now: Date.now() })).toMatchObject({
      ok: false,
      code: 'same-person',
    });
    expect(await approveBaseline(env.DB, ring, { orgId: ORG, by: 'adam', now: Date.now(), expected: 'other' })).toMatchObject({
      ok: false,
      code: 'conflict',
    });
    expect((await getBaseline(env.DB, ring, ORG))?.document).toEqual(strong);
    const a = await approveBaseline(env.DB, ring, { orgId: ORG, by: 'adam', now: Date.now(), expected: p.ok ? p.hash : '' });
    expect(a).toMatchObject({ ok: true, state: 'active' });
    const b = await getBaseline(env.DB, ring, ORG);
    expect(b).toMatchObject({ document: weaker, updatedBy: 'olga', proposal: null });
    expect(await approveBaseline(env.DB, ring, { orgId: ORG, by: 'adam', now: Date.now() })).toMatchObject({ code: 'no-proposal' });
  });

  it('a rejected proposal leaves the baseline as it was', async () => {
    const before = await getBaseline(env.DB, ring, ORG);
    expect(await save({ version: 1, rules: [] }, 'olga')).toMatchObject({ state: 'proposed' });
    expect(await rejectBaseline(env.DB, { orgId: ORG })).toMatchObject({ ok: true, state: 'rejected' });
    expect(await getBaseline(env.DB, ring, ORG)).toMatchObject({ document: before?.document, hash: before?.hash, proposal: null });
    expect(await rejectBaseline(env.DB, { orgId: ORG })).toMatchObject({ ok: false, code: 'no-proposal' });
  });

  it('racing changes: exactly one of several concurrent saves wins, and racing approvals approve once', async () => {
    const tries = await Promise.all(
      [1, 2, 3, 4].map((i) => save({ version: 1, rules: [adminRule, { ...deleteRule, id: `d${i}` }] }, `p${i}`)),
    );
    expect(tries.filter((t) => t.ok)).toHaveLength(1);
    expect(tries.filter((t) => !t.ok).every((t) => !t.ok && t.code === 'conflict')).toBe(true);
    expect(await save({ version: 1, rules: [] }, 'olga')).toMatchObject({ state: 'proposed' });
    const approvals = await Promise.all(
      ['adam', 'anna', 'abel'].map((by) => approveBaseline(env.DB, ring, { orgId: ORG, by, now: Date.now() })),
    );
    expect(approvals.filter((a) => a.ok)).toHaveLength(1);
    expect((await getBaseline(env.DB, ring, ORG))?.document).toEqual({ version: 1, rules: [] });
  });

  it('a stored baseline that no longer validates refuses every app policy (fail closed)', async () => {
    await env.DB.prepare('UPDATE org_policy_baselines SET document_json = ? WHERE org_id = ?').bind('{"version":2}', ORG).run();
    expect((await baselineProblems(env.DB, ORG, 'app1', { version: 1, rules: [deleteRule] }))[0]).toMatch(/could not be read/);
    // A change from it counts as weakening.
    expect(await save(strong, 'olga')).toMatchObject({ state: 'proposed' });
  });
});
