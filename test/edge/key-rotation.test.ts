/**
 * Key rotation end to end, and retention: a new primary key is deployed in the middle of a stream
 * of audit writes; background re-encryption runs while writes continue; afterwards the old key is
 * retired and everything — the chain, filters by person, checkpoints, TOTP secrets, passkey
 * nicknames, recovery codes, API tokens — still opens. Retention prunes only what verifies, behind
 * a signed checkpoint.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { enrolTotp, factorsStepUp, gw } from '../support/edge-flow';
import { verifyExported } from '../../edge/audit/audit-chain';
import type { ChainedEvent } from '../../edge/audit/events';
import { AuditSequencer } from '../../edge/audit/audit-sequencer';
import { listCheckpoints, listEvents, verifyTenant } from '../../edge/audit/audit-store';
import { checkpointJwks, verifyCheckpoint } from '../../edge/audit/checkpoint';
import type { AuditLog } from '../../edge/audit/audit-log';
import type { AuditInput } from '../../edge/audit/events';
import { keyStatus, runMaintenance, type MaintenanceDeps } from '../../edge/audit/maintenance';
import { authenticateToken, createToken } from '../../edge/admin/api-tokens';
import { parseKeyring, type Keyring } from '../../edge/crypto/keyring';
import { activateTotp, addWebauthnCredential, createPendingTotp, issueRecoveryCodes, totpFactors, useRecoveryCode, webauthnCredentials } from '../../edge/factors/factor-store';

const OLD = JSON.parse(env.STEPGATE_KEYS!) as { primary: string; keys: Record<string, string> };
const NEW_KEY = btoa(String.fromCharCode(...new Uint8Array(32).map((_, i) => (i * 7 + 3) & 255)));
const ringOld = parseKeyring(env.STEPGATE_KEYS);
const ringBoth = parseKeyring(JSON.stringify({ primary: 'k2', keys: { ...OLD.keys, k2: NEW_KEY } }));
const ringNew = parseKeyring(JSON.stringify({ primary: 'k2', keys: { k2: NEW_KEY } }));

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
function deps(tenant: string, seq: Pick<AuditSequencer, 'append' | 'checkpoint' | 'currentHead'>, keys: Keyring, retentionDays = 0): MaintenanceDeps {
  const audit: AuditLog = {
    tenant,
    record: async (...e) => void (await seq.append(tenant, e)),
    later: () => undefined,
  };
  return { db: env.DB, keys, audit, auditSequencer: () => seq as never, auditRetentionDays: retentionDays, now: Date.now };
}

describe('key rotation', () => {
  it('mid-stream: a new primary is deployed while writes continue; re-encryption runs alongside; the old key is then retired and nothing is lost', async () => {
    const t = 'rot';
    // Before: factors, recovery codes, a passkey and a token under the old key.
    const totp = await createPendingTotp(env.DB, ringOld, 'rot-user', Date.now(), 'first-use');
    await activateTotp(env.DB, ringOld, 'rot-user', totp.id, Date.now());
    const codes = await issueRecoveryCodes(env.DB, ringOld, 'rot-user', Date.now());
    await addWebauthnCredential(env.DB, ringOld, 'rot-user', { id: 'cred-rot', publicKey: new Uint8Array([1, 2, 3]), counter: 0, transports: [], deviceType: 'singleDevice', backedUp: false, nickname: 'Work laptop' }, Date.now());
    const { token } = await createToken(env.DB, ringOld, 'rot-user', { scopes: ['audit:read'], ttlDays: 1, label: 'rotation test', now: Date.now() });

    // A stream of 300 concurrent writes under the old deployment...
    await Promise.all(Array.from({ length: 300 }, (_, i) => stub(t).append(t, [ev(i)])));
    await stub(t).checkpoint(t, 'periodic');

    await runInDurableObject(stub(t), async (_old, state) => {
      // ...then the new deployment (same object and storage, new secret): writes continue under k2
      // while background re-encryption moves the old rows, concurrently.
      const next = new AuditSequencer(state, { ...env, STEPGATE_KEYS: JSON.stringify({ primary: 'k2', keys: { ...OLD.keys, k2: NEW_KEY } }) });
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

    const { results: kids } = await env.DB.prepare('SELECT DISTINCT kid FROM audit_events WHERE tenant = ?').bind(t).all<{ kid: string }>();
    expect(kids).toEqual([{ kid: 'k2' }]);
    expect((await totpFactors(env.DB, ringNew, 'rot-user', 'active')).map((f) => f.secret)).toEqual([totp.secret]);
    expect((await webauthnCredentials(env.DB, ringNew, 'rot-user'))[0]).toMatchObject({ id: 'cred-rot', nickname: 'Work laptop' });
    expect(await useRecoveryCode(env.DB, ringNew, 'rot-user', codes[0]!, Date.now())).toBe(true);
    expect(await authenticateToken(env.DB, ringNew, token, Date.now())).toMatchObject({ sub: 'rot-user' });
    // And the re-encryption itself is on the record.
    const re = await listEvents(env.DB, ringNew, t, { types: ['keys.reencrypted'] }, { limit: 50, order: 'asc' });
    expect(re.events.length).toBeGreaterThan(0);
    expect(re.events[0]!.event.details).toMatchObject({ to: 'k2' });
  });
});

describe('retention', () => {
  const DAY = 86_400_000;
  const seed = async (t: string) => {
    const old = Date.now() - 40 * DAY;
    await stub(t).append(t, Array.from({ length: 20 }, (_, i) => ({ ...ev(i), ts: old + i })));
    await stub(t).append(t, Array.from({ length: 5 }, (_, i) => ev(100 + i)));
  };

  it('verifies, checkpoints, then prunes what is older than the retention period; the rest still verifies from the checkpoint', async () => {
    const t = 'ret';
    await seed(t);
    const r = await runMaintenance(deps(t, stub(t), ringOld, 30));
    expect(r.pruned).toEqual({ through_seq: 20, rows: 20 });
    const { results } = await env.DB.prepare('SELECT MIN(seq) AS lo, COUNT(*) AS n FROM audit_events WHERE tenant = ?').bind(t).all<{ lo: number; n: number }>();
    expect(results[0]).toEqual({ lo: 21, n: 6 }); // 5 recent + the audit.pruned event
    const cps = await listCheckpoints(env.DB, t);
    expect(cps[0]).toMatchObject({ seq: 20, kind: 'retention' });
    expect(await verifyTenant(env.DB, ringOld, t, await stub(t).currentHead(t), 1, 5000)).toMatchObject({ ok: true, from: 21, rows: 6 });
    // Deleting the first kept row is still caught.
    await env.DB.prepare('DELETE FROM audit_events WHERE tenant = ? AND seq = 21').bind(t).run();
    expect(await verifyTenant(env.DB, ringOld, t, await stub(t).currentHead(t), 1, 5000)).toMatchObject({ ok: false, seq: 21, problem: 'deleted' });
  });

  it('refuses to prune events that do not verify, and says so', async () => {
    const t = 'ret-tampered';
    await seed(t);
    await env.DB.prepare("UPDATE audit_events SET outcome = 'failure' WHERE tenant = ? AND seq = 3").bind(t).run();
    const r = await runMaintenance(deps(t, stub(t), ringOld, 30));
    expect(r.pruned).toBeNull();
    expect(r.retention_refused).toMatch(/sequence 3: modified/);
    const { results } = await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE tenant = ? AND seq <= 20').bind(t).all<{ n: number }>();
    expect(results[0]!.n).toBe(20);
  });
});

describe('an export after retention', () => {
  it('opens with the signed retention checkpoint, so it verifies from its first event', async () => {
    const t = 'default'; // the gateway's tenant
    const DAY = 86_400_000;
    await stub(t).append(t, Array.from({ length: 10 }, (_, i) => ({ ...ev(i), ts: Date.now() - 40 * DAY + i })));
    await stub(t).append(t, [ev(50)]);
    expect((await runMaintenance(deps(t, stub(t), ringOld, 30))).pruned).toMatchObject({ through_seq: 10 });
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
