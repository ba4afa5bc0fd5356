/**
 * The audit chain: the single sequencer never forks under 1,000 concurrent writers, events are
 * sealed and people appear only as blind indexes, and verify names the exact sequence at which a row
 * was modified, deleted, inserted, reordered — or cut off the end — by tampering directly in D1.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { eventHash, openRow, verifyExported, verifyRows, type AuditRow } from '../../edge/audit/audit-chain';
import { CHECKPOINT_EVERY } from '../../edge/audit/audit-sequencer';
import { listEvents, verifyTenant } from '../../edge/audit/audit-store';
import { listCheckpoints } from '../../edge/audit/checkpoint-store';
import { checkpointJwks, verifyCheckpoint } from '../../edge/audit/checkpoint';
import type { AuditInput } from '../../edge/audit/events';
import { parseKeyring } from '../../edge/crypto/keyring';

const ring = parseKeyring(env.STEPGATE_KEYS);
const sequencer = (tenant: string) => env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName(`tenant:${tenant}`));
const rowsOf = async (tenant: string) =>
  (await env.DB.prepare('SELECT * FROM audit_events WHERE tenant = ? ORDER BY seq').bind(tenant).all<AuditRow>()).results;
const event = (i: number, user = 'alice@example.com'): AuditInput => ({
  type: 'factor.verified',
  outcome: 'success',
  actor: user,
  via: 'session',
  app: 'app.test',
  factor: 'totp',
  request: { method: 'POST', path: '/.stepgate/api/challenges/x/verify', ip: '203.0.113.7', user_agent: 'test' },
  details: { n: i },
});
const verify = async (tenant: string) => verifyTenant(env.DB, ring, tenant, await sequencer(tenant).currentHead(tenant), 1, 5000);

describe('audit sequencer', () => {
  it('appends in order, seals each event, and keeps people and IPs only as blind indexes', async () => {
    const seqs = await sequencer('t-basic').append('t-basic', [event(1), event(2), event(3)]);
    expect(seqs).toEqual([1, 2, 3]);
    const rows = await rowsOf('t-basic');
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain('alice');
    expect(dump).not.toContain('203.0.113.7');
    expect(dump).not.toContain('/.stepgate/api');
    const e = await openRow(ring, rows[1]!);
    expect(e).toMatchObject({ v: 1, tenant: 't-basic', seq: 2, type: 'factor.verified', actor: 'alice@example.com', details: { n: 2 } });
    expect(e.salt).toMatch(/^[\w-]{22}$/);
    expect(await verifyRows(ring, rows)).toMatchObject({ ok: true, rows: 3 });
    // A sealed event does not open as another sequence (AAD binds it to its row).
    await expect(openRow(ring, { ...rows[1]!, seq: 3 })).rejects.toThrow();
  });

  it('1,000 concurrent appends: 1,000 rows, sequences 1..1000, one intact chain with a signed count checkpoint', async () => {
    const s = sequencer('t-many');
    const seqs = await Promise.all(Array.from({ length: 1000 }, (_, i) => s.append('t-many', [event(i, `user-${i % 7}`)])));
    expect(new Set(seqs.flat()).size).toBe(1000);
    const rows = await rowsOf('t-many');
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(await verifyRows(ring, rows)).toMatchObject({ ok: true, rows: 1000 });
    const cps = await listCheckpoints(env.DB, 't-many');
    expect(cps.map((c) => c.seq)).toEqual([CHECKPOINT_EVERY]);
    const cp = await verifyCheckpoint(cps[0]!.jws, await checkpointJwks(ring));
    expect(cp).toMatchObject({ tenant: 't-many', seq: 1000, hash: rows[999]!.hash, kind: 'count' });
    expect(await verify('t-many')).toMatchObject({ ok: true, rows: 1000, checkpoints: 1, complete: true });
  }, 60_000);

  it('an append larger than one D1 batch is queued in order as several, with one result', async () => {
    const t = 't-large';
    const seqs = await sequencer(t).append(
      t,
      Array.from({ length: 250 }, (_, i) => event(i)),
    );
    expect(seqs).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    const rows = await rowsOf(t);
    expect((await openRow(ring, rows[249]!)).details).toEqual({ n: 249 });
    expect(await verifyRows(ring, rows)).toMatchObject({ ok: true, rows: 250 });
  });

  it('the chain can be recomputed from the exported events alone (no keys)', async () => {
    const t = 't-export';
    await sequencer(t).append(t, [event(1), event(2), event(3), event(4)]);
    const page = await listEvents(env.DB, ring, t, {}, { limit: 10, order: 'asc' });
    expect(await verifyExported(page.events)).toMatchObject({ ok: true, rows: 4 });
    const edited = structuredClone(page.events);
    edited[2]!.event.outcome = 'failure';
    expect(await verifyExported(edited)).toMatchObject({ ok: false, seq: 3, problem: 'modified' });
    const dropped = page.events.filter((e) => e.event.seq !== 2);
    expect(await verifyExported(dropped)).toMatchObject({ ok: false, seq: 2, problem: 'deleted' });
    expect(await eventHash(page.events[0]!.prev_hash, page.events[0]!.event)).toBe(page.events[0]!.hash);
  });
});

describe('time along the chain', () => {
  it('never goes backwards (a clock step back is absorbed), so a time range is exact and a sequence range', async () => {
    const t = 't-time';
    const base = Date.parse('2026-11-01T00:00:00Z');
    await sequencer(t).append(
      t,
      [10, 20, 20, 30].map((m) => ({ ...event(m), ts: base + m })),
    );
    await sequencer(t).append(t, [
      { ...event(25), ts: base + 25 },
      { ...event(40), ts: base + 40 },
    ]); // 25: the clock stepped back
    const times = (await rowsOf(t)).map((r) => r.ts - base);
    expect(times).toEqual([10, 20, 20, 30, 30, 40]);
    const range = async (from: number, to: number) =>
      (await listEvents(env.DB, ring, t, { from: base + from, to: base + to }, { limit: 50, order: 'asc' })).events.map((e) => e.event.seq);
    expect(await range(20, 30)).toEqual([2, 3]);
    expect(await range(20, 41)).toEqual([2, 3, 4, 5, 6]);
    expect(await range(11, 19)).toEqual([]);
    expect(await range(0, 11)).toEqual([1]);
    expect(
      (await listEvents(env.DB, ring, t, { from: base + 30, types: ['factor.verified'] }, { limit: 1, order: 'desc' })).events.map(
        (e) => e.event.seq,
      ),
    ).toEqual([6]);
    expect(await verifyRows(ring, await rowsOf(t))).toMatchObject({ ok: true, rows: 6 });
  });
});

describe('verify names the exact sequence of tampering done directly in D1', () => {
  const fresh = async (tenant: string) => {
    await sequencer(tenant).append(
      tenant,
      Array.from({ length: 10 }, (_, i) => event(i)),
    );
    expect(await verify(tenant)).toMatchObject({ ok: true, rows: 10 });
    return tenant;
  };

  it('a modified column (outcome)', async () => {
    const t = await fresh('t-mod');
    await env.DB.prepare("UPDATE audit_events SET outcome = 'failure' WHERE tenant = ? AND seq = 4").bind(t).run();
    expect(await verify(t)).toMatchObject({ ok: false, seq: 4, problem: 'modified' });
  });

  it('a modified sealed event (one character changed)', async () => {
    const t = await fresh('t-mod-sealed');
    await env.DB.prepare(
      'UPDATE audit_events SET sealed = substr(sealed, 1, length(sealed) - 2) || CASE ' +
        "WHEN substr(sealed, -2, 1) = 'A' THEN 'B' ELSE 'A' END || substr(sealed, -1) WHERE tenant = ? AND seq = 7",
    )
      .bind(t)
      .run();
    expect(await verify(t)).toMatchObject({ ok: false, seq: 7, problem: 'modified' });
  });

  it('an actor swapped for someone else (blind index of another person)', async () => {
    const t = await fresh('t-actor');
    await sequencer(t).append(t, [event(99, 'mallory')]);
    await env.DB.prepare(
      'UPDATE audit_events SET actor_ref = (SELECT actor_ref FROM audit_events ' +
        'WHERE tenant = ?1 AND seq = 11) WHERE tenant = ?1 AND seq = 3',
    )
      .bind(t)
      .run();
    expect(await verify(t)).toMatchObject({ ok: false, seq: 3, problem: 'modified' });
  });

  it('a kid column that does not name the key the event is sealed under (it would mislead key rotation)', async () => {
    const t = await fresh('t-kid');
    const two = parseKeyring(
      JSON.stringify({
        primary: 'test1',
        keys: { test1: JSON.parse(env.STEPGATE_KEYS!).keys.test1, other: 'b3RoZXIta2V5LW9ubHktZm9yLXRoaXMtdGVzdC0wMDAwMDA=' },
      }),
    );
    await env.DB.prepare("UPDATE audit_events SET kid = 'other' WHERE tenant = ? AND seq = 2").bind(t).run();
    expect(await verifyTenant(env.DB, two, t, await sequencer(t).currentHead(t), 1, 5000)).toMatchObject({
      ok: false,
      seq: 2,
      problem: 'modified',
      detail: 'column kid does not match the sealed event',
    });
  });

  it('a deleted row', async () => {
    const t = await fresh('t-del');
    await env.DB.prepare('DELETE FROM audit_events WHERE tenant = ? AND seq = 6').bind(t).run();
    expect(await verify(t)).toMatchObject({ ok: false, seq: 6, problem: 'deleted' });
  });

  it('an inserted row (rows renumbered to make room for a copy)', async () => {
    const t = await fresh('t-ins');
    await env.DB.prepare('UPDATE audit_events SET seq = seq + 100 WHERE tenant = ? AND seq >= 5').bind(t).run();
    await env.DB.prepare('UPDATE audit_events SET seq = seq - 99 WHERE tenant = ? AND seq >= 105').bind(t).run();
    await env.DB.prepare(
      'INSERT INTO audit_events (tenant, seq, ts, type, outcome, app, actor_ref, ip_ref, ' +
        'kid, sealed, prev_hash, hash) SELECT tenant, 5, ts, type, outcome, app, actor_ref, ' +
        'ip_ref, kid, sealed, prev_hash, hash FROM audit_events WHERE tenant = ? AND seq = 4',
    )
      .bind(t)
      .run();
    expect(await verify(t)).toMatchObject({ ok: false, seq: 5, problem: 'inserted' });
  });

  it('two rows swapped (reordered)', async () => {
    const t = await fresh('t-swap');
    await env.DB.prepare('UPDATE audit_events SET seq = -1 WHERE tenant = ? AND seq = 7').bind(t).run();
    await env.DB.prepare('UPDATE audit_events SET seq = 7 WHERE tenant = ? AND seq = 8').bind(t).run();
    await env.DB.prepare('UPDATE audit_events SET seq = 8 WHERE tenant = ? AND seq = -1').bind(t).run();
    expect(await verify(t)).toMatchObject({ ok: false, seq: 7, problem: 'reordered' });
  });

  it('the newest rows cut off the end (the sequencer remembers its head)', async () => {
    const t = await fresh('t-tail');
    await env.DB.prepare('DELETE FROM audit_events WHERE tenant = ? AND seq >= 9').bind(t).run();
    expect(await verify(t)).toMatchObject({ ok: false, seq: 9, problem: 'deleted' });
    // New events continue after the remembered head, so the gap stays visible.
    expect(await sequencer(t).append(t, [event(11)])).toEqual([11]);
    expect(await verify(t)).toMatchObject({ ok: false, seq: 9, problem: 'deleted' });
  });

  it('a checkpoint whose signature was altered', async () => {
    const t = await fresh('t-cp');
    await sequencer(t).checkpoint(t, 'periodic');
    await env.DB.prepare("UPDATE audit_checkpoints SET jws = substr(jws, 1, length(jws) - 3) || 'AAA' WHERE tenant = ?").bind(t).run();
    expect(await verify(t)).toMatchObject({ ok: false, seq: 10, problem: 'bad-checkpoint' });
  });
});
