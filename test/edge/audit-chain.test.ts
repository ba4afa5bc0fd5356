/**
 * The audit chain (groundwork for issue 4): the single sequencer never forks under concurrency,
 * details are sealed, and verify names the first sequence at which a row was modified, deleted,
 * inserted or reordered — tampering done directly in D1.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { open } from '../../edge/crypto/aead';
import { parseKeyring } from '../../edge/crypto/keyring';
import { verifyChain, type AuditRow } from '../../edge/audit/audit-chain';

const ring = parseKeyring(env.STEPGATE_KEYS);
const sequencer = (tenant: string) => env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName(tenant));
const rowsOf = async (tenant: string) =>
  (await env.DB.prepare('SELECT * FROM audit_events WHERE tenant = ? ORDER BY seq').bind(tenant).all<AuditRow>()).results;
const event = (i: number) => ({ type: 'factor.verified', outcome: 'success' as const, actor: 'alice@example.com', details: { ip: '203.0.113.7', n: i } });

describe('audit sequencer', () => {
  it('appends in order, seals the details and stores the actor only as a blind index', async () => {
    const seqs = await sequencer('t-basic').append('t-basic', [event(1), event(2), event(3)]);
    expect(seqs).toEqual([1, 2, 3]);
    const rows = await rowsOf('t-basic');
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain('alice');
    expect(dump).not.toContain('203.0.113.7');
    expect(JSON.parse(await open(ring, 'audit-encryption', rows[1]!.sealed, 't-basic|2|factor.verified'))).toEqual({ ip: '203.0.113.7', n: 2 });
    expect(await verifyChain(ring, rows)).toMatchObject({ ok: true, rows: 3 });
  });

  it('1,000 concurrent appends: 1,000 rows, sequences 1..1000, one intact chain', async () => {
    const s = sequencer('t-many');
    const seqs = await Promise.all(Array.from({ length: 1000 }, (_, i) => s.append('t-many', [event(i)])));
    expect(new Set(seqs.flat()).size).toBe(1000);
    const rows = await rowsOf('t-many');
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(await verifyChain(ring, rows)).toMatchObject({ ok: true, rows: 1000 });
  });
});

describe('verify detects tampering in D1', () => {
  const fresh = async (tenant: string) => {
    await sequencer(tenant).append(tenant, Array.from({ length: 10 }, (_, i) => event(i)));
    return tenant;
  };

  it('a modified row', async () => {
    const t = await fresh('t-mod');
    await env.DB.prepare("UPDATE audit_events SET outcome = 'failure' WHERE tenant = ? AND seq = 4").bind(t).run();
    expect(await verifyChain(ring, await rowsOf(t))).toMatchObject({ ok: false, seq: 4, problem: 'modified' });
  });

  it('a deleted row', async () => {
    const t = await fresh('t-del');
    await env.DB.prepare('DELETE FROM audit_events WHERE tenant = ? AND seq = 6').bind(t).run();
    expect(await verifyChain(ring, await rowsOf(t))).toMatchObject({ ok: false, seq: 6, problem: 'deleted' });
  });

  it('an inserted row (a renumbered copy placed in the chain)', async () => {
    const t = await fresh('t-ins');
    // Shift rows 5.. up by one and put a copy of row 2 at 5.
    await env.DB.prepare('UPDATE audit_events SET seq = seq + 100 WHERE tenant = ? AND seq >= 5').bind(t).run();
    await env.DB.prepare('UPDATE audit_events SET seq = seq - 99 WHERE tenant = ? AND seq >= 105').bind(t).run();
    await env.DB.prepare('INSERT INTO audit_events SELECT tenant, 5, ts, type, outcome, actor_ref, kid, sealed, prev_hash, hash FROM audit_events WHERE tenant = ? AND seq = 2').bind(t).run();
    expect(await verifyChain(ring, await rowsOf(t))).toMatchObject({ ok: false, seq: 5, problem: 'modified' });
  });

  it('two rows swapped (reordered)', async () => {
    const t = await fresh('t-swap');
    await env.DB.prepare('UPDATE audit_events SET seq = -1 WHERE tenant = ? AND seq = 7').bind(t).run();
    await env.DB.prepare('UPDATE audit_events SET seq = 7 WHERE tenant = ? AND seq = 8').bind(t).run();
    await env.DB.prepare('UPDATE audit_events SET seq = 8 WHERE tenant = ? AND seq = -1').bind(t).run();
    expect(await verifyChain(ring, await rowsOf(t))).toMatchObject({ ok: false, seq: 7 });
  });

  it('rows presented out of order', async () => {
    const t = await fresh('t-order');
    const rows = await rowsOf(t);
    [rows[2], rows[3]] = [rows[3]!, rows[2]!];
    // The chain breaks where sequence 3 should be.
    expect(await verifyChain(ring, rows)).toMatchObject({ ok: false, seq: 3, problem: 'deleted' });
  });
});
