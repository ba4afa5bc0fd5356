/**
 * Pending authenticator-app enrolments are bounded and swept (review, the storage-bounds class of
 * finding 4): under `first-use`, any signed-in account without a factor could start as many as it
 * liked — each a D1 row with a sealed secret, deleted only when the person's first factor was
 * enrolled (the 10-minute expiry applied only on read). Now a person has at most one pending
 * enrolment (a new start replaces the old one, in one D1 batch), and maintenance (the cron) deletes
 * pending rows older than PENDING_TOTP_TTL_MS.
 */
import { env } from 'cloudflare:test';
import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import type { AuditLog } from '../../edge/audit/audit-log';
import { runMaintenance, type MaintenanceDeps } from '../../edge/audit/maintenance';
import { blindIndex } from '../../edge/crypto/blind-index';
import { parseKeyring } from '../../edge/crypto/keyring';
import { activateTotp, createPendingTotp, PENDING_TOTP_TTL_MS, totpFactors } from '../../edge/factors/totp/totp-store';
import { post } from '../support/edge-flow';
import { sessionCookie } from '../support/session';

const ring = parseKeyring(env.STEPGATE_KEYS);
const pendingRows = async (user: string) => {
  const ref = await blindIndex(ring, 'user', user);
  return (
    await env.DB.prepare("SELECT id, created_at FROM totp_factors WHERE status = 'pending' AND user_ref = ?")
      .bind(ref)
      .all<{ id: string; created_at: number }>()
  ).results;
};
const start = async (cookie: string) => {
  const r = await post('/.stepgate/api/factors/totp', cookie);
  expect(r.status).toBe(201);
  return (await r.json()) as { id: string; secret: string };
};

/** Maintenance at `now`, with an audit sequencer of its own tenant. */
const maintenanceAt = (now: number): MaintenanceDeps => {
  const tenant = 'pending-sweep';
  const seq = env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName(`tenant:${tenant}`));
  const audit: AuditLog = { tenant, record: async (...e) => void (await seq.append(tenant, e)), later: () => undefined };
  return { db: env.DB, keys: ring, audit, auditSequencer: () => seq as never, auditRetentionDays: 0, now: () => now };
};

describe('pending authenticator-app enrolments', () => {
  it('40 starts from one factor-less session leave one pending row, the newest; a replaced one cannot be confirmed', async () => {
    const cookie = await sessionCookie('pending-grower', 'pending-grower-session');
    const started: { id: string; secret: string }[] = [];
    for (let i = 0; i < 40; i++) started.push(await start(cookie));
    const rows = await pendingRows('pending-grower');
    expect(rows.map((r) => r.id)).toEqual([started[39]!.id]);

    const code = (f: { secret: string }) => generate({ secret: f.secret, epoch: Math.floor(Date.now() / 1000) });
    const replaced = await post(`/.stepgate/api/factors/totp/${started[38]!.id}/confirm`, cookie, { code: await code(started[38]!) });
    expect(replaced.status).toBe(404);
    const newest = await post(`/.stepgate/api/factors/totp/${started[39]!.id}/confirm`, cookie, { code: await code(started[39]!) });
    expect(newest.status).toBe(200);
    expect(await pendingRows('pending-grower')).toEqual([]);
  }, 60_000);

  it('20 concurrent starts: one pending row', async () => {
    const cookie = await sessionCookie('pending-racer', 'pending-racer-session');
    const started = await Promise.all(Array.from({ length: 20 }, () => start(cookie)));
    const rows = await pendingRows('pending-racer');
    expect(rows).toHaveLength(1);
    expect(started.map((s) => s.id)).toContain(rows[0]!.id);
  });

  const ttlMinutes = PENDING_TOTP_TTL_MS / 60_000;
  it(`maintenance deletes pending enrolments older than ${ttlMinutes} minutes, of everyone, and nothing else`, async () => {
    const t0 = Date.now();
    await createPendingTotp(env.DB, ring, 'pending-old', t0 - PENDING_TOTP_TTL_MS - 1, 'first-use');
    const fresh = await createPendingTotp(env.DB, ring, 'pending-fresh', t0, 'first-use');
    const active = await createPendingTotp(env.DB, ring, 'pending-active', t0 - 2 * PENDING_TOTP_TTL_MS, 'first-use');
    expect(await activateTotp(env.DB, ring, 'pending-active', active.id, t0)).toBe(true);
    expect(await pendingRows('pending-old')).toHaveLength(1);

    const report = await runMaintenance(maintenanceAt(t0));
    expect(report.expired.totp_pending).toBeGreaterThanOrEqual(1);
    expect(await pendingRows('pending-old')).toEqual([]);
    expect((await pendingRows('pending-fresh')).map((r) => r.id)).toEqual([fresh.id]);
    expect((await totpFactors(env.DB, ring, 'pending-active', 'active')).map((f) => f.id)).toEqual([active.id]);

    // Once its ten minutes are over, the fresh one goes too.
    await runMaintenance(maintenanceAt(t0 + PENDING_TOTP_TTL_MS));
    expect(await pendingRows('pending-fresh')).toEqual([]);
    expect((await totpFactors(env.DB, ring, 'pending-active', 'active')).map((f) => f.id)).toEqual([active.id]);
  });
});
