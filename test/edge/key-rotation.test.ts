/**
 * Key rotation end to end, and retention: a new primary key is deployed in the middle of a stream
 * of audit writes; background re-encryption runs while writes continue; afterwards the old key is
 * retired and everything — the chain, filters by person, checkpoints, TOTP secrets, passkey
 * nicknames, recovery codes, API tokens — still opens. `keys status` counts every keyed column. A
 * retired key's public keys stay published, so an export taken before still verifies. Retention
 * prunes only what verifies, behind a signed checkpoint.
 */
import { createExecutionContext, env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import type { JWK } from 'jose';
import { fromBase64url } from '../../edge/crypto/base64';
import { enrolTotp, factorsStepUp, gw, ORIGIN } from '../support/edge-flow';
import { seedRole } from './seed-roles';
import { verifyExported } from '../../edge/audit/audit-chain';
import type { ChainedEvent } from '../../edge/audit/events';
import { AuditSequencer } from '../../edge/audit/audit-sequencer';
import { listEvents, verifyTenant } from '../../edge/audit/audit-store';
import { listCheckpoints } from '../../edge/audit/checkpoint-store';
import { checkpointJwks, signCheckpoint, verifyCheckpoint } from '../../edge/audit/checkpoint';
import type { AuditLog } from '../../edge/audit/audit-log';
import type { AuditInput } from '../../edge/audit/events';
import { KEYED_COLUMNS, keyStatus } from '../../edge/audit/key-status';
import { runMaintenance, type MaintenanceDeps } from '../../edge/audit/maintenance';
import { authenticateToken, createToken } from '../../edge/admin/api-tokens';
import { createApp } from '../../edge/admin/app-store';
import { createOrg } from '../../edge/admin/org-store';
import { saveBaseline } from '../../edge/admin/baseline-writes';
import { approveVersion, proposeVersion } from '../../edge/admin/policy-versions';
import { approveRecovery, startRecovery } from '../../edge/admin/recovery-store';
import { grantRole } from '../../edge/admin/role-store';
import { parseKeyring, type Keyring, type KeyringDoc } from '../../edge/crypto/keyring';
import { retireKey } from '../../edge/crypto/retire-key';
import { activateTotp, createPendingTotp, totpFactors } from '../../edge/factors/totp/totp-store';
import { issueInvite, useInvite } from '../../edge/factors/invites/invite-store';
import { issueRecoveryCodes, useRecoveryCode } from '../../edge/factors/recovery/recovery-code-store';
import { addWebauthnCredential, webauthnCredentials } from '../../edge/factors/webauthn/passkey-store';
import { loadGateway } from '../../edge/gateway';
import type { Env } from '../../edge/env';
import { putWebhook } from '../../edge/notifications/webhook-store';
import { approvalRows } from './approval-rows';

const OLD = JSON.parse(env.STEPGATE_KEYS!) as { primary: string; keys: Record<string, string> };
const NEW_KEY = btoa(String.fromCharCode(...new Uint8Array(32).map((_, i) => (i * 7 + 3) & 255)));
const ringOld = parseKeyring(env.STEPGATE_KEYS);
const ringBoth = parseKeyring(JSON.stringify({ primary: 'k2', keys: { ...OLD.keys, k2: NEW_KEY } }));
const ringNew = parseKeyring(JSON.stringify({ primary: 'k2', keys: { k2: NEW_KEY } }));

type ExportLine = { checkpoint?: string; seq?: number; anchor?: boolean } & Partial<ChainedEvent>;
const header = (jws: string): unknown => JSON.parse(new TextDecoder().decode(fromBase64url(jws.split('.')[0]!)));

const stub = (tenant: string) => env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName(`tenant:${tenant}`));
const ev = (i: number): AuditInput => ({
  type: 'grant.used',
  outcome: 'success',
  actor: `user-${i % 5}`,
  via: 'session',
  app: 'app.test',
  request: { method: 'DELETE', path: `/api/projects/${i}`, ip: `203.0.113.${i % 250}`, user_agent: 'rotation-test' },
  details: { i },
});

/** What maintenance needs, around one sequencer instance (a deployment with one keyring). */
function deps(
  tenant: string,
  seq: Pick<AuditSequencer, 'append' | 'checkpoint' | 'currentHead'>,
  keys: Keyring,
  retentionDays = 0,
): MaintenanceDeps {
  const audit: AuditLog = {
    tenant,
    record: async (...e) => void (await seq.append(tenant, e)),
    later: () => undefined,
  };
  return { db: env.DB, keys, audit, auditSequencer: () => seq as never, auditRetentionDays: retentionDays, now: Date.now };
}

// Hundreds of concurrent writes and re-encryption rounds per test: slow on a busy 2-core machine.
vi.setConfig({ testTimeout: 60_000 });

describe('key rotation', () => {
  it(
    'mid-stream: a new primary is deployed while writes continue; ' +
      're-encryption runs alongside; the old key is then retired and nothing is lost',
    async () => {
      const t = 'rot';
      // Before: factors, recovery codes, a passkey and a token under the old key.
      const totp = await createPendingTotp(env.DB, ringOld, 'rot-user', Date.now(), 'first-use');
      await activateTotp(env.DB, ringOld, 'rot-user', totp.id, Date.now());
      const codes = await issueRecoveryCodes(env.DB, ringOld, 'rot-user', Date.now());
      await addWebauthnCredential(
        env.DB,
        ringOld,
        'rot-user',
        {
          id: 'cred-rot',
          publicKey: new Uint8Array([1, 2, 3]),
          counter: 0,
          transports: [],
          deviceType: 'singleDevice',
          backedUp: false,
          nickname: 'Work laptop',
        },
        Date.now(),
      );
      const { token } = await createToken(env.DB, ringOld, 'rot-user', {
        scopes: ['audit:read'],
        ttlDays: 1,
        label: 'rotation test',
        now: Date.now(),
      });

      // A stream of 300 concurrent writes under the old deployment...
      await Promise.all(Array.from({ length: 300 }, (_, i) => stub(t).append(t, [ev(i)])));
      await stub(t).checkpoint(t, 'periodic');

      await runInDurableObject(stub(t), async (_old, state) => {
        // ...then the new deployment (same object and storage, new secret): writes continue under k2
        // while background re-encryption moves the old rows, concurrently.
        const next = new AuditSequencer(state, {
          ...env,
          STEPGATE_KEYS: JSON.stringify({ primary: 'k2', keys: { ...OLD.keys, k2: NEW_KEY } }),
        });
        const d = deps(t, next, ringBoth);
        const writes = Promise.all(Array.from({ length: 300 }, (_, i) => next.append(t, [ev(300 + i)])));
        let moved = 0;
        for (let round = 0; round < 20; round++) {
          const r = await runMaintenance(d);
          moved += r.reencrypted.audit_events ?? 0;
          if (round > 2 && (r.reencrypted.audit_events ?? 0) === 0) break;
        }
        await writes;
        for (let round = 0; round < 5; round++) await runMaintenance(d);
        expect(moved).toBeGreaterThanOrEqual(300);

        const status = await keyStatus({ db: env.DB, keys: ringBoth, now: Date.now });
        expect(status.retirable).toEqual({ [OLD.primary]: true });

        // Retire the old key: only k2 is left, and everything still opens.
        const head = await next.currentHead(t);
        const v = await verifyTenant(env.DB, ringNew, t, head, 1, 5000);
        expect(v).toMatchObject({ ok: true, complete: true });
        if (v.ok) expect(v.rows).toBeGreaterThanOrEqual(600);
        const byUser = await listEvents(env.DB, ringNew, t, { user: 'user-3', types: ['grant.used'] }, { limit: 500, order: 'asc' });
        expect(byUser.events).toHaveLength(120);
        expect(byUser.events.every((e) => e.event.actor === 'user-3')).toBe(true);
        const byIp = await listEvents(env.DB, ringNew, t, { ip: '203.0.113.7' }, { limit: 500, order: 'asc' });
        expect(byIp.events.map((e) => e.event.details!.i)).toEqual([7, 257, 507]);
        const cps = await listCheckpoints(env.DB, t);
        expect(cps.length).toBeGreaterThan(0);
        for (const c of cps) await expect(verifyCheckpoint(c.jws, await checkpointJwks(ringNew))).resolves.toMatchObject({ tenant: t });
      });

      const { results: kids } = await env.DB.prepare('SELECT DISTINCT kid FROM audit_events WHERE tenant = ?')
        .bind(t)
        .all<{ kid: string }>();
      expect(kids).toEqual([{ kid: 'k2' }]);
      expect((await totpFactors(env.DB, ringNew, 'rot-user', 'active')).map((f) => f.secret)).toEqual([totp.secret]);
      expect((await webauthnCredentials(env.DB, ringNew, 'rot-user'))[0]).toMatchObject({ id: 'cred-rot', nickname: 'Work laptop' });
      expect(await useRecoveryCode(env.DB, ringNew, 'rot-user', codes[0]!, Date.now())).toBe(true);
      expect(await authenticateToken(env.DB, ringNew, token, Date.now())).toMatchObject({ sub: 'rot-user' });
      // And the re-encryption itself is on the record.
      const re = await listEvents(env.DB, ringNew, t, { types: ['keys.reencrypted'] }, { limit: 50, order: 'asc' });
      expect(re.events.length).toBeGreaterThan(0);
      expect(re.events[0]!.event.details).toMatchObject({ to: 'k2' });
    },
  );
});

describe('keys status', () => {
  it(
    'counts every keyed column per key id (sealed values, sealed owners, ' + 'labels, blind indexes, signatures), so "unused" means unused',
    async () => {
      const t = 'status';
      const user = 'status-user';
      // One of everything Stepgate stores under a key id, under the old key.
      const totp = await createPendingTotp(env.DB, ringOld, user, Date.now(), 'first-use');
      await activateTotp(env.DB, ringOld, user, totp.id, Date.now());
      await issueRecoveryCodes(env.DB, ringOld, user, Date.now());
      await addWebauthnCredential(
        env.DB,
        ringOld,
        user,
        {
          id: 'cred-status',
          publicKey: new Uint8Array([1]),
          counter: 0,
          transports: [],
          deviceType: 'singleDevice',
          backedUp: false,
          nickname: 'Phone',
        },
        Date.now(),
      );
      await createToken(env.DB, ringOld, user, { scopes: ['audit:read'], ttlDays: 1, label: 'status test', now: Date.now() });
      const invite = await issueInvite(env.DB, ringOld, 'status-invitee', 'alice', Date.now());
      // A role grant (and who granted it) and an app policy (and who saved it).
      await createOrg(env.DB, { id: 'status-org', name: 'Status', now: Date.now() });
      await grantRole(env.DB, ringOld, { orgId: 'status-org', sub: user, role: 'admin', grantedBy: 'alice', now: Date.now() });
      const statusApp = await createApp(env.DB, ringOld, {
        orgId: 'status-org',
        name: 'Status app',
        hosts: ['status.example'],
        originUrl: null,
        identity: { source: 'cloudflareAccess', teamDomain: 'https://status.cloudflareaccess.com', audience: 'status' },
        policy: { version: 1, rules: [] },
        createdBy: 'alice',
        now: Date.now(),
      });
      // Policy versions: one active at once, one weakening (a proposal) approved by a second person.
      if (!statusApp.ok) throw new Error('app');
      const versionOf = { orgId: 'status-org', appId: statusApp.app.id, by: user, comment: '', now: Date.now() };
      const rule = { id: 'r', match: { methods: ['POST'], path: '/x' }, require: { factors: ['totp'], bind: 'session' } };
      expect(await proposeVersion(env.DB, ringOld, { ...versionOf, policy: { version: 1, rules: [rule] } })).toMatchObject({
        state: 'active',
      });
      const proposal = await proposeVersion(env.DB, ringOld, { ...versionOf, policy: { version: 1, rules: [] } });
      if (!proposal.ok || proposal.state !== 'proposed') throw new Error('proposal');
      expect((await approveVersion(env.DB, ringOld, { ...versionOf, version: proposal.version, by: 'alice' })).ok).toBe(true);
      // An organisation baseline: saved, then a weakening change waiting (who saved it; who proposed, an index and sealed).
      const baselineOf = { orgId: 'status-org', by: user, now: Date.now() };
      expect(await saveBaseline(env.DB, ringOld, { ...baselineOf, document: { version: 1, rules: [rule] } })).toMatchObject({
        state: 'active',
      });
      expect(await saveBaseline(env.DB, ringOld, { ...baselineOf, document: { version: 1, rules: [] } })).toMatchObject({
        state: 'proposed',
      });
      // A factor recovery, started and approved (the person, who started and who approved it).
      const rec = await startRecovery(env.DB, ringOld, {
        orgId: 'status-org',
        person: 'status-org/lost',
        startedBy: user,
        now: Date.now(),
      });
      if (!rec.ok) throw new Error('recovery');
      const approved = await approveRecovery(env.DB, ringOld, {
        orgId: 'status-org',
        id: rec.recovery.id,
        approvedBy: 'alice',
        now: Date.now(),
        waitMs: 3_600_000,
      });
      expect(approved.ok).toBe(true);
      // An organisation's webhook (issue 14): its URL, secret and who set it, sealed.
      await putWebhook(env.DB, ringOld, {
        org: 'status-org',
        url: 'https://hooks.example.com/k',
        format: 'json',
        by: user,
        now: Date.now(),
      });
      // A dual-control request (issue 14): the requester and an approver as indexes, the request, view, reason and vote sealed.
      await approvalRows('status-org', 'status.example').seedApproval(ringOld);
      await stub(t).append(t, [ev(1), ev(2)]);
      await stub(t).checkpoint(t, 'periodic');

      const before = await keyStatus({ db: env.DB, keys: ringBoth, now: Date.now });
      expect(Object.keys(before.usage[OLD.primary]!).sort()).toEqual(KEYED_COLUMNS.map((c) => c.name).sort());
      expect(before.retirable[OLD.primary]).toBe(false);
      expect(before.notes[0]).toMatch(
        /^Not counted, because they expire by themselves: held requests \(sealed in each person's Durable Object/,
      );

      // Every value in D1 that names a key id is in a column keyStatus counts: scan every text column of every table.
      const keyed = new Set<string>();
      const { results: tables } = await env.DB.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' " +
          "AND name NOT LIKE '_cf_%' AND name != 'd1_migrations'",
      ).all<{ name: string }>();
      for (const { name } of tables) {
        const { results: cols } = await env.DB.prepare(`PRAGMA table_info(${name})`).all<{ name: string; type: string }>();
        for (const col of cols.filter((c) => c.type === 'TEXT')) {
          for (const kid of [OLD.primary, 'k2']) {
            const hit = await env.DB.prepare(
              `SELECT COUNT(*) AS n FROM ${name} WHERE ${col.name} = ?1 ` +
                `OR ${col.name} LIKE ?2 OR (${col.name} LIKE ?3 AND length(${col.name}) = ?4)`,
            )
              .bind(kid, `v1.${kid}.%`, `${kid}.%`, kid.length + 23)
              .first<{ n: number }>();
            if (hit!.n > 0) keyed.add(`${name}.${col.name}`);
          }
        }
      }
      const counted = KEYED_COLUMNS.flatMap((c) => [`${c.table}.${c.column}`, ...(c.names ? [`${c.table}.${c.names}`] : [])]);
      expect([...keyed].sort()).toEqual([...new Set(counted)].sort());

      // Re-encryption moves everything but live invitations, which are waited out.
      await runInDurableObject(stub(t), async (_old, state) => {
        const next = new AuditSequencer(state, {
          ...env,
          STEPGATE_KEYS: JSON.stringify({ primary: 'k2', keys: { ...OLD.keys, k2: NEW_KEY } }),
        });
        for (let round = 0; round < 4; round++) await runMaintenance(deps(t, next, ringBoth));
      });
      const after = await keyStatus({ db: env.DB, keys: ringBoth, now: Date.now });
      expect(after.usage[OLD.primary]).toEqual({ 'enrolment_invites.user_ref': 1, 'enrolment_invites.issued_by': 1 });
      expect(after.retirable[OLD.primary]).toBe(false);
      expect(await useInvite(env.DB, ringOld, 'status-invitee', invite, Date.now())).toBe(true);
      expect((await keyStatus({ db: env.DB, keys: ringBoth, now: Date.now })).retirable).toEqual({ [OLD.primary]: true });
    },
  );
});

describe('retention', () => {
  const DAY = 86_400_000;
  const seed = async (t: string) => {
    const old = Date.now() - 40 * DAY;
    await stub(t).append(
      t,
      Array.from({ length: 20 }, (_, i) => ({ ...ev(i), ts: old + i })),
    );
    await stub(t).append(
      t,
      Array.from({ length: 5 }, (_, i) => ev(100 + i)),
    );
  };

  it(
    'verifies, checkpoints, then prunes what is older than the retention period; ' + 'the rest still verifies from the checkpoint',
    async () => {
      const t = 'ret';
      await seed(t);
      const r = await runMaintenance(deps(t, stub(t), ringOld, 30));
      expect(r.pruned).toEqual({ through_seq: 20, rows: 20 });
      const { results } = await env.DB.prepare('SELECT MIN(seq) AS lo, COUNT(*) AS n FROM audit_events WHERE tenant = ?')
        .bind(t)
        .all<{ lo: number; n: number }>();
      expect(results[0]).toEqual({ lo: 21, n: 6 }); // 5 recent + the audit.pruned event
      const cps = await listCheckpoints(env.DB, t);
      expect(cps[0]).toMatchObject({ seq: 20, kind: 'retention' });
      expect(await verifyTenant(env.DB, ringOld, t, await stub(t).currentHead(t), 1, 5000)).toMatchObject({ ok: true, from: 21, rows: 6 });
      // Deleting the first kept row is still caught.
      await env.DB.prepare('DELETE FROM audit_events WHERE tenant = ? AND seq = 21').bind(t).run();
      expect(await verifyTenant(env.DB, ringOld, t, await stub(t).currentHead(t), 1, 5000)).toMatchObject({
        ok: false,
        seq: 21,
        problem: 'deleted',
      });
    },
  );

  it('refuses to prune events that do not verify, and says so', async () => {
    const t = 'ret-tampered';
    await seed(t);
    await env.DB.prepare("UPDATE audit_events SET outcome = 'failure' WHERE tenant = ? AND seq = 3").bind(t).run();
    const r = await runMaintenance(deps(t, stub(t), ringOld, 30));
    expect(r.pruned).toBeNull();
    expect(r.retention_refused).toMatch(/sequence 3: modified/);
    const { results } = await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE tenant = ? AND seq <= 20')
      .bind(t)
      .all<{ n: number }>();
    expect(results[0]!.n).toBe(20);
  });
});

describe('an export after retention', () => {
  it('opens with the signed retention checkpoint, so it verifies from its first event', async () => {
    const t = 'default'; // the gateway's tenant
    const DAY = 86_400_000;
    await stub(t).append(
      t,
      Array.from({ length: 10 }, (_, i) => ({ ...ev(i), ts: Date.now() - 40 * DAY + i })),
    );
    await stub(t).append(t, [ev(50)]);
    expect((await runMaintenance(deps(t, stub(t), ringOld, 30))).pruned).toMatchObject({ through_seq: 10 });
    await seedRole('dave', 'auditor');
    const dave = await enrolTotp('dave', 'dave-retention');
    const reader = await factorsStepUp(dave);
    const lines = (await (await gw('/.stepgate/api/admin/audit/export?format=ndjson', { headers: { cookie: reader } })).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { checkpoint?: string; seq?: number; anchor?: boolean } & Partial<ChainedEvent>);
    expect(lines[0]).toMatchObject({ seq: 10, anchor: true });
    const cp = await verifyCheckpoint(lines[0]!.checkpoint!, await checkpointJwks(ringOld));
    expect(cp).toMatchObject({ seq: 10, kind: 'retention' });
    const events = lines.filter((l): l is ChainedEvent & typeof l => l.event !== undefined) as ChainedEvent[];
    expect(events[0]!.event.seq).toBe(11);
    expect(await verifyExported(events, { seq: cp.seq, hash: cp.hash })).toMatchObject({ ok: true });
  });
});

describe('a retired key', () => {
  const gatewayWith = (keys: KeyringDoc) => {
    const e = { ...env, STEPGATE_KEYS: JSON.stringify(keys) } as unknown as Env;
    const g = loadGateway(e);
    return async (path: string) => (await g.fetch(new Request(`${ORIGIN}${path}`), e, createExecutionContext())).json();
  };
  /**
   * What `stepgate audit verify --file --jwks` checks: the chain (from the retention anchor), and
   * every checkpoint's signature and hash.
   */
  const verifyExport = async (lines: ExportLine[], jwks: { keys: JWK[] }) => {
    const events = lines.filter((l) => l.event !== undefined) as ChainedEvent[];
    const cps = lines.filter((l) => l.checkpoint !== undefined);
    const anchor = cps.find((c) => c.anchor);
    const hashes = new Map(events.map((e) => [e.event.seq, e.hash]));
    const out = [];
    for (const c of cps) {
      const cp = await verifyCheckpoint(c.checkpoint!, jwks);
      if (c.anchor) hashes.set(cp.seq, cp.hash);
      expect(hashes.get(cp.seq)).toBe(cp.hash);
      out.push(cp);
    }
    const from = anchor ? out[cps.indexOf(anchor)]! : undefined;
    expect(await verifyExported(events, from ? { seq: from.seq, hash: from.hash } : undefined)).toMatchObject({ ok: true });
    return out;
  };

  it(
    'keeps publishing its public keys (verify-only), ' + 'so an export taken under it still verifies after rotate → re-encrypt → retire',
    async () => {
      const t = 'default'; // the gateway's tenant; its keyring is OLD
      await seedRole('alice', 'admin');
      const alice = await enrolTotp('alice', 'alice-rotation'); // an administrator may export
      const reader = await factorsStepUp(alice);
      await stub(t).append(t, [ev(900), ev(901)]);
      await stub(t).checkpoint(t, 'periodic');
      const text = await (await gw('/.stepgate/api/admin/audit/export?format=ndjson', { headers: { cookie: reader } })).text();
      const exported = text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as ExportLine);
      const signed = exported.filter((l) => l.checkpoint !== undefined);
      expect(signed.length).toBeGreaterThanOrEqual(2); // the retention anchor and the periodic checkpoint
      for (const c of signed) expect(header(c.checkpoint!)).toMatchObject({ kid: `sg-audit-${OLD.primary}` });
      await verifyExport(exported, (await (await gw('/.well-known/stepgate/audit-jwks.json')).json()) as { keys: JWK[] });

      // Rotate, deploy, re-encrypt: D1's checkpoints are re-signed under k2.
      const both: KeyringDoc = { primary: 'k2', keys: { ...OLD.keys, k2: NEW_KEY } };
      await runInDurableObject(stub(t), async (_old, state) => {
        const next = new AuditSequencer(state, { ...env, STEPGATE_KEYS: JSON.stringify(both) });
        for (let round = 0; round < 4; round++) await runMaintenance(deps(t, next, ringBoth));
      });
      expect((await keyStatus({ db: env.DB, keys: ringBoth, now: Date.now })).usage[OLD.primary]?.audit_checkpoints).toBeUndefined();

      // Retire: the master key leaves the secret; its public keys stay in it, verify-only.
      const final = await retireKey(both, OLD.primary, new Date('2026-12-01T00:00:00Z'));
      expect(final.keys).toEqual({ k2: NEW_KEY });
      expect(final.retired![OLD.primary]).toEqual({
        retired_at: '2026-12-01T00:00:00.000Z',
        'audit-checkpoint': { kty: 'OKP', crv: 'Ed25519', x: expect.any(String) },
        // Approval statements in the audit log keep verifying too (docs/approvals.md).
        'approval-signing': { kty: 'OKP', crv: 'Ed25519', x: expect.any(String) },
      });
      expect(JSON.stringify(final)).not.toContain(OLD.keys[OLD.primary]!);
      const ring = parseKeyring(JSON.stringify(final));
      expect(ring.kids).toEqual(['k2']);
      expect((await keyStatus({ db: env.DB, keys: ring, now: Date.now })).retired).toEqual({
        [OLD.primary]: { retired_at: '2026-12-01T00:00:00.000Z', public_keys: ['audit-checkpoint', 'approval-signing'] },
      });

      // The live edge, with the final keyring, publishes live and retired keys; the earlier export verifies against them.
      const edge = gatewayWith(final);
      const auditJwks = (await edge('/.well-known/stepgate/audit-jwks.json')) as { keys: (JWK & { retired_at?: string })[] };
      expect(auditJwks.keys.map((k) => [k.kid, k.retired_at ?? null])).toEqual([
        ['sg-audit-k2', null],
        [`sg-audit-${OLD.primary}`, '2026-12-01T00:00:00.000Z'],
      ]);
      expect(auditJwks.keys.every((k) => k.d === undefined)).toBe(true);
      expect(auditJwks.keys[1]).toMatchObject((await checkpointJwks(ringOld)).keys[0]!);
      await verifyExport(exported, auditJwks);
      const assertionJwks = (await edge('/.well-known/stepgate/jwks.json')) as { keys: JWK[] };
      // Assertion keys of a retired key id are not published: no assertion signed under it is still valid.
      expect(assertionJwks.keys.map((k) => k.kid)).toEqual(['sg-k2']);
      // The edge's own check of D1 needs no retired key: everything there was moved to k2.
      const head = await stub(t).currentHead(t);
      expect(await verifyTenant(env.DB, ring, t, head, 1, 5000)).toMatchObject({ ok: true, complete: true });

      // Nothing signs under the retired key id.
      const fresh = await signCheckpoint(ring, { tenant: t, seq: 1, hash: 'h', time: new Date().toISOString(), kind: 'periodic' });
      expect(header(fresh)).toMatchObject({ kid: 'sg-audit-k2' });
      await expect(Promise.resolve().then(() => ring.bytes('audit-checkpoint', OLD.primary))).rejects.toThrow(/unknown key id/);

      // A checkpoint forged with a key the keyring never had fails, under a new key id or the retired one.
      const real = signed.at(-1)!;
      const payload = await verifyCheckpoint(real.checkpoint!, auditJwks);
      const attacker = (kid: string) => parseKeyring(JSON.stringify({ primary: kid, keys: { [kid]: btoa('x'.repeat(32)) } }));
      const forged = await signCheckpoint(attacker('k9'), { ...payload, hash: 'forged' });
      await expect(verifyCheckpoint(forged, auditJwks)).rejects.toThrow('key sg-audit-k9 is not in the key set');
      const impostor = await signCheckpoint(attacker(OLD.primary), payload);
      await expect(verifyCheckpoint(impostor, auditJwks)).rejects.toThrow(/signature verification failed/);
    },
  );

  it('is refused in the keyring with a private key, an unknown field or member, or a key id that is also live', () => {
    const base = { primary: 'k2', keys: { k2: NEW_KEY } };
    const pub = { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) }; // 32 bytes
    const ring = (retired: unknown) => () => parseKeyring(JSON.stringify({ ...base, retired }));
    const secretD = 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A';
    expect(ring({ k1: { retired_at: '2026-12-01T00:00:00Z', 'audit-checkpoint': { ...pub, d: secretD } } })).toThrow(
      'STEPGATE_KEYS: retired key "k1": "audit-checkpoint" carries a private key ("d"); keep only its public key (kty, crv, x)',
    );
    try {
      ring({ k1: { retired_at: '2026-12-01T00:00:00Z', 'audit-checkpoint': { ...pub, d: secretD } } })();
    } catch (e) {
      expect((e as Error).message).not.toContain(secretD); // never echoed
    }
    expect(ring({ k1: { retired_at: '2026-12-01T00:00:00Z', 'audit-checkpoint': { ...pub, kid: 'x' } } })).toThrow(/member "kid"/);
    expect(ring({ k1: { retired_at: '2026-12-01T00:00:00Z', 'prompt-signing': pub } })).toThrow(/unknown field "prompt-signing"/);
    expect(ring({ k1: { retired_at: '2026-12-01T00:00:00Z', 'audit-checkpoint': { ...pub, x: 'AAAA' } } })).toThrow(
      /must be an Ed25519 public key/,
    );
    expect(ring({ k1: { 'audit-checkpoint': pub } })).toThrow(/"retired_at" must be a date/);
    expect(ring({ k1: { retired_at: '2026-12-01T00:00:00Z' } })).toThrow(/no public key/);
    expect(ring({ k2: { retired_at: '2026-12-01T00:00:00Z', 'audit-checkpoint': pub } })).toThrow(/is also in "keys"/);
    expect(ring(['k1'])).toThrow(/"retired" must be an object/);
    // Keyrings without the section, and with a valid one, work.
    expect(parseKeyring(env.STEPGATE_KEYS).retired).toEqual({});
    expect(
      parseKeyring(JSON.stringify({ ...base, retired: { k1: { retired_at: '2026-12-01T00:00:00Z', 'audit-checkpoint': pub } } })).retired,
    ).toEqual({
      k1: { retiredAt: '2026-12-01T00:00:00Z', publicKeys: { 'audit-checkpoint': pub } },
    });
  });
});
