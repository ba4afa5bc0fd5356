/**
 * The audit log's organisation column at the storage level (real D1 and the sequencer Durable
 * Object, each test in its own tenant): rows written before migration 0010 (no org or app id in the
 * column or the sealed event) read as the default organisation's, verify, and count on its
 * dashboard; folded denials are counted per organisation, so no summary mixes two of them; and an
 * app's audit log (auditOfApp) names its organisation unless an event names its own.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { type AuditRow, eventHash, GENESIS, sealedColumns } from '../../edge/audit/audit-chain';
import { auditOfApp, type AuditLog } from '../../edge/audit/audit-log';
import type { AuditSequencer } from '../../edge/audit/audit-sequencer';
import { listEvents, verifyTenant } from '../../edge/audit/audit-store';
import { dashboardData } from '../../edge/audit/dashboard';
import { DENIAL_CLIENTS, DENIAL_WINDOW_MS } from '../../edge/audit/denial-folding';
import type { AuditEvent, AuditInput } from '../../edge/audit/events';
import { ring } from './audit-orgs';

const sequencer = (t: string) => env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName(`tenant:${t}`));
const list = async (t: string, org?: string) =>
  (await listEvents(env.DB, ring, t, org === undefined ? {} : { org }, { limit: 500, order: 'asc' })).events.map((e) => e.event);

/** Store events as the code before migration 0010 did: no org or app id anywhere. */
async function writeLegacy(tenant: string, events: Omit<AuditEvent, 'v' | 'id' | 'tenant' | 'seq' | 'salt'>[]) {
  let prev = GENESIS;
  let seq = 0;
  for (const e of events) {
    seq++;
    const event = { v: 1, id: crypto.randomUUID(), tenant, seq, ...e, salt: 'legacy-salt-0123456789a' } as AuditEvent;
    const hash = await eventHash(prev, event);
    const c = await sealedColumns(ring, tenant, seq, event);
    await env.DB.prepare(
      'INSERT INTO audit_events (tenant, seq, ts, type, outcome, app, actor_ref, ip_ref, kid, sealed, prev_hash, hash) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
      .bind(tenant, seq, Date.parse(e.time), e.type, e.outcome, e.app ?? null, c.actor_ref, c.ip_ref, c.kid, c.sealed, prev, hash)
      .run();
    prev = hash;
  }
  return { seq, hash: prev };
}

describe('rows from before organisations', () => {
  it('read as the default organisation’s: listed, verified, and counted under the bundled app', async () => {
    const t = 'legacy-rows';
    const day = Date.UTC(2026, 2, 3);
    const base = { actor: 'lena', via: 'session' as const, app: 'app.test' };
    const head = await writeLegacy(t, [
      { ...base, time: new Date(day + 1000).toISOString(), type: 'grant.issued', outcome: 'success' },
      {
        ...base,
        time: new Date(day + 2000).toISOString(),
        type: 'request.denied',
        outcome: 'denied',
        request: { method: 'POST', path: '/admin/x', ip: null, user_agent: null },
      },
    ]);
    const rows = (await env.DB.prepare('SELECT * FROM audit_events WHERE tenant = ?').bind(t).all<AuditRow>()).results;
    expect(rows.map((r) => [r.org, r.app_id])).toEqual([
      [null, null],
      [null, null],
    ]);
    expect((await list(t, 'default')).map((e) => e.type)).toEqual(['grant.issued', 'request.denied']);
    expect(await list(t, 'xorg')).toEqual([]);
    expect(await verifyTenant(env.DB, ring, t, head, 1, 100)).toMatchObject({ ok: true, rows: 2, complete: true });
    const d = await dashboardData(env.DB, ring, t, 'default', { from: day, to: day + 86_400_000, now: day });
    expect(d.days).toEqual([{ day: '2026-03-03', app: 'bundled', stepUps: 1, failures: 0, denials: 1, lockouts: 0 }]);
    expect(d.topDeniedPeople).toEqual([{ person: 'lena', count: 1 }]);
    expect((await dashboardData(env.DB, ring, t, 'xorg', { from: day, to: day + 86_400_000, now: day })).days).toEqual([]);
    // A new event after them: the default organisation's own (column NULL), the chain continuing.
    await sequencer(t).append(t, [{ type: 'audit.read', outcome: 'success', actor: 'lena', via: 'session' }]);
    expect((await list(t, 'default')).at(-1)).toMatchObject({ type: 'audit.read', org: 'default', app_id: null });
    expect(await verifyTenant(env.DB, ring, t, await sequencer(t).currentHead(t), 1, 100)).toMatchObject({ ok: true, rows: 3 });
  });
});

describe('an app’s audit log', () => {
  it('fills the app’s organisation and id, unless the event names its own', async () => {
    const seen: AuditInput[] = [];
    const inner: AuditLog = { tenant: 't', record: async (...e) => void seen.push(...e), later: (_c, ...e) => void seen.push(...e) };
    const log = auditOfApp(auditOfApp(inner, { id: 'bundled', org: 'default' }), { id: 'app-x', org: 'xorg' });
    const e = { type: 'audit.read', outcome: 'success', actor: 'a' } as const;
    await log.record(e, { ...e, org: 'default', app_id: null });
    log.later(undefined, e);
    expect(seen.map((s) => [s.org, s.app_id])).toEqual([
      ['xorg', 'app-x'],
      ['default', null],
      ['xorg', 'app-x'],
    ]);
  });
});

describe('folded denials, per organisation', () => {
  const denial = (org: string, ip: string, appId = `${org}-app`): AuditInput => ({
    type: 'request.denied',
    outcome: 'denied',
    actor: null,
    via: 'anonymous',
    app: `${org}.test`,
    org,
    app_id: appId,
    rule: 'writes',
    reason: 'identity-missing',
    request: { method: 'POST', path: '/api/x', ip, user_agent: null },
  });

  it('one network denied in two organisations: each has its own first denial and its own summary', async () => {
    const t = 'fold-orgs';
    const s = sequencer(t);
    for (let i = 0; i < 3; i++) await s.appendLater(t, [denial('xorg', '203.0.113.5'), denial('yorg', '203.0.113.6')]);
    const full = await list(t);
    expect(full.map((e) => [e.type, e.org])).toEqual([
      ['request.denied', 'xorg'],
      ['request.denied', 'yorg'],
    ]);
    await runInDurableObject(s, (i) => {
      (i as AuditSequencer).now = () => Date.now() + DENIAL_WINDOW_MS + 1;
    });
    expect(await runDurableObjectAlarm(s)).toBe(true);
    const sums = (await list(t)).filter((e) => e.type === 'request.denied_summary');
    expect(sums.map((e) => [e.org, e.app_id, e.details?.denied, e.details?.folded])).toEqual([
      ['xorg', 'xorg-app', 3, 2],
      ['yorg', 'yorg-app', 3, 2],
    ]);
  });

  it('past the table, each organisation has its own overflow bucket: no summary counts another’s denials', async () => {
    const t = 'fold-overflow';
    const s = sequencer(t);
    // xorg fills the table (one client per network), then both overflow from new networks.
    for (let i = 0; i < DENIAL_CLIENTS; i++) await s.appendLater(t, [denial('xorg', `10.1.${i}.1`)]);
    for (let i = 0; i < 4; i++) await s.appendLater(t, [denial('xorg', `10.2.${i}.1`), denial('yorg', `10.3.${i}.1`)]);
    await s.appendLater(t, [denial('yorg', '10.3.99.1')]);
    await runInDurableObject(s, (i) => {
      (i as AuditSequencer).now = () => Date.now() + DENIAL_WINDOW_MS + 1;
    });
    await runDurableObjectAlarm(s);
    const events = await list(t);
    // The first overflow denial of each organisation is written in full.
    const written = events.filter((e) => e.type === 'request.denied');
    expect(written.filter((e) => e.org === 'xorg')).toHaveLength(DENIAL_CLIENTS + 1);
    expect(written.filter((e) => e.org === 'yorg')).toHaveLength(1);
    const other = events.filter((e) => e.type === 'request.denied_summary' && e.details?.other_clients);
    expect(other.map((e) => [e.org, e.app_id, e.details?.denied, e.details?.recorded, e.details?.clients])).toEqual([
      ['xorg', null, 4, 1, 4],
      ['yorg', null, 5, 1, 5],
    ]);
    for (const e of other) {
      const nets = JSON.stringify(e.details?.networks ?? []);
      expect(nets).toContain(e.org === 'xorg' ? '10.2.' : '10.3.');
      expect(nets).not.toContain(e.org === 'xorg' ? '10.3.' : '10.2.');
    }
  });
});
