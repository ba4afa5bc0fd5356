/**
 * The organisation baseline is classified against every app of the organisation, not only against the
 * previous baseline (edge/admin/baseline-impact.ts): a baseline rule that shadows a stricter app rule
 * is a proposal naming the app (a first baseline too), a baseline that would leave an app's policy
 * invalid is refused, and an app policy saved while the baseline change was classified makes the
 * write fail. Real D1.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { AppInputError } from '../../edge/admin/app-input';
import { approveBaseline, saveBaseline } from '../../edge/admin/baseline-writes';
import { createOrg } from '../../edge/admin/org-store';
import { getBaseline } from '../../edge/admin/policy-baseline';
import { parseKeyring } from '../../edge/crypto/keyring';
import { seedApp } from './seed-apps';

const ring = parseKeyring(env.STEPGATE_KEYS);
const ORG = 'bimpact';
const deleteRule = {
  id: 'delete-project',
  match: { methods: ['DELETE'], path: '/api/projects/*' },
  require: { factors: ['webauthn'], bind: 'action' },
};
/** Anything under /api with any factor, one step-up a day: shadows deleteRule when it runs first. */
const lax = {
  id: 'everything',
  match: { path: '/api/**' },
  require: { factors: ['webauthn', 'totp', 'recovery'], bind: 'session', maxAge: '24h' },
};
const admin = { id: 'admin', match: { path: '/admin/**' }, require: { factors: ['webauthn'], bind: 'action' } };
let appId: string;

const save = (document: unknown, by = 'olga', db: D1Database = env.DB) =>
  saveBaseline(db, ring, { orgId: ORG, document, by, now: Date.now() });
const stored = async () => (await getBaseline(env.DB, ring, ORG))?.document ?? null;

/** `db`, but the first batch (the read of the apps' policies) is followed by `meanwhile`: a write racing the classification. */
function racing(db: D1Database, meanwhile: () => Promise<unknown>): D1Database {
  let done = false;
  return new Proxy(db, {
    get(target, key) {
      if (key === 'batch')
        return async (statements: D1PreparedStatement[]) => {
          const r = await target.batch(statements);
          if (!done) {
            done = true;
            await meanwhile();
          }
          return r;
        };
      const v = Reflect.get(target, key);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

beforeAll(async () => {
  expect((await createOrg(env.DB, { id: ORG, name: 'Bimpact', now: Date.now() })).ok).toBe(true);
  appId = (
    await seedApp({
      org: ORG,
      name: 'projects',
      hosts: ['baseline-impact.test'],
      originUrl: inject('originUrl'),
      policy: { version: 1, rules: [deleteRule] },
    })
  ).id;
});

describe('a baseline change is classified against every app of the organisation', () => {
  it('a first baseline whose rule shadows a stricter app rule is a proposal naming the app; an empty one is in force', async () => {
    const r = await save({ version: 1, rules: [lax] });
    expect(r).toMatchObject({ ok: true, state: 'proposed', change: { weakens: true } });
    const reasons = r.ok ? r.change.changes.filter((c) => c.kind === 'weakens').map((c) => c.message) : [];
    expect(reasons.join('\n')).toContain(`In app "projects" (${appId}):`);
    expect(reasons.join('\n')).toMatch(/delete-project/);
    expect(await stored()).toEqual({ version: 1, rules: [] });
    // Its author cannot approve it; a second person can, and then it is in force.
    expect(await approveBaseline(env.DB, ring, { orgId: ORG, by: 'olga', now: Date.now() })).toMatchObject({ code: 'same-person' });
    expect(await approveBaseline(env.DB, ring, { orgId: ORG, by: 'adam', now: Date.now() })).toMatchObject({ ok: true, state: 'active' });
    expect(await stored()).toEqual({ version: 1, rules: [lax] });
  });

  it('adding a rule that shadows nothing applies at once; one that shadows an app rule waits', async () => {
    expect(await save({ version: 1, rules: [admin] })).toMatchObject({ ok: true, state: 'proposed' }); // drops "everything"
    expect(await approveBaseline(env.DB, ring, { orgId: ORG, by: 'adam', now: Date.now() })).toMatchObject({ ok: true });
    expect(await save({ version: 1, rules: [admin, { ...admin, id: 'billing', match: { path: '/billing/**' } }] })).toMatchObject({
      ok: true,
      state: 'active',
      change: { weakens: false },
    });
    const r = await save({ version: 1, rules: [admin, lax] }, 'adam');
    expect(r).toMatchObject({ ok: true, state: 'proposed', change: { weakens: true } });
    expect((await stored())?.rules.map((x) => x.id)).toEqual(['admin', 'billing']);
  });

  it('a save in force withdraws the waiting proposal, so approving it can no longer undo that save', async () => {
    const waiting = await getBaseline(env.DB, ring, ORG);
    expect(waiting?.proposal).not.toBeNull();
    const r = await save({
      version: 1,
      rules: [admin, { ...admin, id: 'billing', match: { path: '/billing/**' } }, { ...admin, id: 'hr', match: { path: '/hr/**' } }],
    });
    expect(r).toMatchObject({ ok: true, state: 'active', withdrawn: waiting?.proposal?.hash });
    expect((await getBaseline(env.DB, ring, ORG))?.proposal).toBeNull();
    expect(
      await approveBaseline(env.DB, ring, { orgId: ORG, by: 'olga', now: Date.now(), expected: waiting?.proposal?.hash }),
    ).toMatchObject({
      ok: false,
      code: 'no-proposal',
    });
    expect((await stored())?.rules.map((x) => x.id)).toEqual(['admin', 'billing', 'hr']);
  });

  it('dropping the baseline maxInspectBytes cap weakens it (apps could read bodies of any size they ask for)', async () => {
    const rules = (await stored())!.rules;
    expect(await save({ version: 1, maxInspectBytes: 65536, rules })).toMatchObject({ ok: true, state: 'active' });
    const r = await save({ version: 1, rules });
    expect(r).toMatchObject({ ok: true, state: 'proposed', change: { weakens: true } });
    expect(JSON.stringify(r.ok && r.change.changes)).toMatch(/maxInspectBytes goes from 65536 to \(not set: no cap\)/);
    expect(await approveBaseline(env.DB, ring, { orgId: ORG, by: 'adam', now: Date.now() })).toMatchObject({ ok: true });
  });

  it('a baseline that would leave an app policy invalid is refused naming the app; nothing changes', async () => {
    const before = await getBaseline(env.DB, ring, ORG);
    // An app rule id "baseline.audit" (saved before the prefix was reserved, or edited in D1) meets the baseline rule "audit".
    const legacy = JSON.stringify({ version: 1, rules: [deleteRule, { ...admin, id: 'baseline.audit', match: { path: '/audit' } }] });
    await env.DB.prepare('UPDATE app_policies SET document_json = ? WHERE app_id = ?').bind(legacy, appId).run();
    const next = { version: 1, rules: [...before!.document!.rules, { ...admin, id: 'audit', match: { path: '/audit/**' } }] };
    const e = await save(next).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppInputError);
    expect((e as AppInputError).problems.join('\n')).toMatch(new RegExp(`app "projects" \\(${appId}\\).*baseline\\.audit`));
    expect(await getBaseline(env.DB, ring, ORG)).toMatchObject({ hash: before!.hash, proposal: null });
    await env.DB.prepare('UPDATE app_policies SET document_json = ? WHERE app_id = ?')
      .bind(JSON.stringify({ version: 1, rules: [deleteRule] }), appId)
      .run();
  });

  it('approval checks the apps again: a proposal an app could no longer run behind is refused naming it', async () => {
    const before = await getBaseline(env.DB, ring, ORG);
    const p = await save({ version: 1, rules: before!.document!.rules.slice(1) }, 'olga'); // drops a rule: waits
    expect(p).toMatchObject({ ok: true, state: 'proposed' });
    const legacy = JSON.stringify({ version: 1, rules: [deleteRule, { ...admin, id: 'baseline.billing', match: { path: '/x' } }] });
    await env.DB.prepare('UPDATE app_policies SET document_json = ? WHERE app_id = ?').bind(legacy, appId).run();
    const e = await approveBaseline(env.DB, ring, { orgId: ORG, by: 'adam', now: Date.now() }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppInputError);
    expect((e as AppInputError).problems.join('\n')).toMatch(/app "projects"/);
    expect(await getBaseline(env.DB, ring, ORG)).toMatchObject({ hash: before!.hash, proposal: { hash: p.ok ? p.hash : '' } });
    await env.DB.prepare('UPDATE app_policies SET document_json = ? WHERE app_id = ?')
      .bind(JSON.stringify({ version: 1, rules: [deleteRule] }), appId)
      .run();
    expect(await approveBaseline(env.DB, ring, { orgId: ORG, by: 'adam', now: Date.now() })).toMatchObject({ ok: true });
  });

  it('an app policy saved while the baseline change is being classified makes the baseline write fail, not land unchecked', async () => {
    const before = await getBaseline(env.DB, ring, ORG);
    const next = { version: 1, rules: [...before!.document!.rules, { ...admin, id: 'ops', match: { path: '/ops/**' } }] };
    const meanwhile = () => env.DB.prepare('UPDATE app_policies SET hash = ? WHERE app_id = ?').bind(`raced-${Date.now()}`, appId).run();
    expect(await save(next, 'olga', racing(env.DB, meanwhile))).toMatchObject({ ok: false, code: 'conflict' });
    expect((await getBaseline(env.DB, ring, ORG))?.hash).toBe(before!.hash);
    // Concurrent saves of the same change: exactly one lands.
    const tries = await Promise.all(['a', 'b', 'c'].map((by) => save(next, by)));
    expect(tries.filter((t) => t.ok)).toHaveLength(1);
  });
});
