/**
 * The R2 archive of the audit chain (real D1, R2 and the sequencer, through workerd): segments move
 * to R2 only once their object is written and read back, verify reads across the boundary, a
 * tampered or missing object is named, a crash between the R2 write and the D1 delete resumes, two
 * runs at once never archive a row twice nor lose one, and retention prunes archived segments first.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { appendChain, archiveDeps, bucket, FUTURE, ring, sequencer } from './audit-archive-chain';
import type { AuditRow } from '../../edge/audit/audit-chain';
import { archiveSegments, CLAIM_MS } from '../../edge/audit/archive';
import type { SegmentObject, SegmentRow } from '../../edge/audit/archive-store';
import { verifyTenant, type VerifyReport } from '../../edge/audit/audit-store';
import { dashboardData } from '../../edge/audit/dashboard';
import { keyStatus } from '../../edge/audit/key-status';
import { prune } from '../../edge/audit/retention';
import demoPolicy from '../../edge/config/policy.json';
import { stepgateScheduled } from '../../edge/scheduled';

/** Verify the whole chain page by page, as the CLI does; the last report, or the first failure. */
async function verifyAll(tenant: string, withBucket = true): Promise<VerifyReport & { total: number }> {
  const head = await sequencer(tenant).currentHead(tenant);
  let from = 1;
  let total = 0;
  for (;;) {
    const r = await verifyTenant(env.DB, ring, tenant, head, from, 5000, withBucket ? bucket : null);
    if (!r.ok) return { ...r, total };
    total += r.rows;
    if (r.next === null) return { ...r, total };
    from = r.next;
  }
}

const d1Seqs = async (tenant: string) =>
  (await env.DB.prepare('SELECT seq FROM audit_events WHERE tenant = ? ORDER BY seq').bind(tenant).all<{ seq: number }>()).results.map(
    (r) => r.seq,
  );
const segments = async (tenant: string) =>
  (await env.DB.prepare('SELECT * FROM audit_segments WHERE tenant = ? ORDER BY first_seq').bind(tenant).all<SegmentRow>()).results;
const objectOf = async (seg: SegmentRow) => JSON.parse(await (await bucket.get(seg.object_key))!.text()) as SegmentObject;

describe('archive to R2', () => {
  it('moves sealed segments ending at checkpoints, and verify reads across R2 and D1', async () => {
    await appendChain('ar-basic', 3, 10);
    const r = await archiveSegments(archiveDeps('ar-basic'), { bucket, afterDays: 1 }, 'ar-basic', FUTURE(), { segmentMax: 10 });
    expect(r).toEqual({ segments: 3, rows: 30, through_seq: 30 });
    expect(await d1Seqs('ar-basic')).toEqual([31, 32, 33]);
    const segs = await segments('ar-basic');
    expect(segs.map((s) => [s.first_seq, s.last_seq, s.state])).toEqual([
      [1, 10, 'archived'],
      [11, 20, 'archived'],
      [21, 30, 'archived'],
    ]);
    // Rows as they were in D1: still sealed, people only as blind indexes.
    const text = await (await bucket.get(segs[0]!.object_key))!.text();
    expect(text).not.toContain('archie');
    expect(text).not.toContain('203.0.113.9');
    expect((await objectOf(segs[1]!)).rows.map((x: AuditRow) => x.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 11 + i));
    const v = await verifyAll('ar-basic');
    expect(v).toMatchObject({ ok: true, complete: true, to: 33 });
    expect(v.total).toBe(33);
    // Keys status counts the archived rows under the key they are sealed with: that key is still in use.
    const archived = (await env.DB.prepare("SELECT SUM(last_seq - first_seq + 1) AS n FROM audit_segments WHERE state = 'archived'").first<{
      n: number;
    }>())!.n;
    const status = await keyStatus({ db: env.DB, keys: ring, now: Date.now });
    expect(status.usage[ring.primary]?.audit_archive).toBe(archived);
    // The dashboard counts D1 only, and says up to when events are archived rather than show them as none.
    const lastArchived = Math.max(...segs.map((x) => x.last_ts));
    const dash = await dashboardData(env.DB, ring, 'ar-basic', 'default', {
      from: lastArchived - 86_400_000,
      to: Date.now() + 86_400_000,
      now: Date.now(),
    });
    expect(dash.archivedThrough).toBe(lastArchived);
    // Without the bucket, the archived rows are missing: never a silent pass.
    expect(await verifyAll('ar-basic', false)).toMatchObject({ ok: false, problem: 'deleted', seq: 1 });
    // Idempotent: nothing more is due (the head's segment has no checkpoint before the head).
    expect(await archiveSegments(archiveDeps('ar-basic'), { bucket, afterDays: 1 }, 'ar-basic', FUTURE(), { segmentMax: 10 })).toEqual({
      segments: 0,
      rows: 0,
      through_seq: null,
    });
  });

  it('archives nothing newer than the cutoff', async () => {
    await appendChain('ar-cutoff', 2, 5);
    expect(await archiveSegments(archiveDeps('ar-cutoff'), { bucket, afterDays: 1 }, 'ar-cutoff', Date.now() - 86_400_000)).toMatchObject({
      segments: 0,
    });
    expect((await d1Seqs('ar-cutoff')).length).toBe(13);
  });

  it('names a tampered, replaced or missing R2 object', async () => {
    await appendChain('ar-tamper', 3, 10);
    await archiveSegments(archiveDeps('ar-tamper'), { bucket, afterDays: 1 }, 'ar-tamper', FUTURE(), { segmentMax: 10 });
    const [, second] = await segments('ar-tamper');
    const original = await (await bucket.get(second!.object_key))!.text();
    // An edited row: the object is not the one archived.
    const body = JSON.parse(original) as SegmentObject;
    body.rows[4]!.outcome = 'failure';
    await bucket.put(second!.object_key, JSON.stringify(body));
    expect(await verifyAll('ar-tamper')).toMatchObject({ ok: false, problem: 'modified', seq: 11 });
    // An attacker who also rewrote the manifest's digest: the chain itself names the row.
    const { digestOf } = await import('../../edge/audit/archive-store');
    await env.DB.prepare('UPDATE audit_segments SET digest = ? WHERE tenant = ? AND first_seq = 11')
      .bind(await digestOf(JSON.stringify(body)), 'ar-tamper')
      .run();
    expect(await verifyAll('ar-tamper')).toMatchObject({ ok: false, problem: 'modified', seq: 15 });
    // Deleted from R2.
    await bucket.delete(second!.object_key);
    expect(await verifyAll('ar-tamper')).toMatchObject({ ok: false, problem: 'deleted', seq: 11 });
  });

  it('resumes after a crash between the R2 write and the D1 delete, deleting nothing before', async () => {
    await appendChain('ar-crash', 2, 10);
    const crash = archiveSegments(archiveDeps('ar-crash'), { bucket, afterDays: 1 }, 'ar-crash', FUTURE(), {
      segmentMax: 10,
      afterWrite: () => {
        throw new Error('crash');
      },
    });
    await expect(crash).rejects.toThrow('crash');
    // The object is in R2, the rows are all still in D1, the segment is unfinished, and the chain verifies.
    const [seg] = await segments('ar-crash');
    expect(seg).toMatchObject({ first_seq: 1, last_seq: 10, state: 'writing' });
    expect(await bucket.head(seg!.object_key)).not.toBeNull();
    expect((await d1Seqs('ar-crash')).length).toBe(23);
    expect(await verifyAll('ar-crash')).toMatchObject({ ok: true, complete: true });
    // While the claim is fresh, another run leaves it alone.
    expect(
      await archiveSegments(archiveDeps('ar-crash'), { bucket, afterDays: 1 }, 'ar-crash', FUTURE(), { segmentMax: 10 }),
    ).toMatchObject({
      segments: 0,
    });
    expect((await d1Seqs('ar-crash')).length).toBe(23);
    // Once it is stale, the next run takes it over and finishes (and goes on to the next segment).
    const later = () => Date.now() + CLAIM_MS + 1000;
    const r = await archiveSegments(archiveDeps('ar-crash', later), { bucket, afterDays: 1 }, 'ar-crash', FUTURE(), { segmentMax: 10 });
    expect(r).toEqual({ segments: 2, rows: 20, through_seq: 20 });
    expect(await d1Seqs('ar-crash')).toEqual([21, 22, 23]);
    expect(await verifyAll('ar-crash')).toMatchObject({ ok: true, complete: true, to: 23, total: 23 });
  });

  it('two or more runs at once archive each row exactly once', async () => {
    await appendChain('ar-race', 8, 10);
    const runs = await Promise.all(
      Array.from({ length: 5 }, () =>
        archiveSegments(archiveDeps('ar-race'), { bucket, afterDays: 1 }, 'ar-race', FUTURE(), { segmentMax: 10 }),
      ),
    );
    // Stragglers: runs that stopped on a claim held by another leave the rest to the next run.
    for (let i = 0; i < 8; i++)
      await archiveSegments(archiveDeps('ar-race'), { bucket, afterDays: 1 }, 'ar-race', FUTURE(), { segmentMax: 10 });
    const segs = await segments('ar-race');
    expect(segs.every((s) => s.state === 'archived')).toBe(true);
    const archived: number[] = [];
    for (const s of segs) archived.push(...(await objectOf(s)).rows.map((x) => x.seq));
    const all = [...archived, ...(await d1Seqs('ar-race'))];
    expect(all).toEqual(Array.from({ length: 83 }, (_, i) => i + 1));
    expect(runs.every((r) => typeof r !== 'string')).toBe(true);
    expect(await verifyAll('ar-race')).toMatchObject({ ok: true, complete: true, total: 83 });
  });

  it('retention prunes archived segments first, behind a signed retention checkpoint', async () => {
    await appendChain('ar-retain', 3, 10);
    await archiveSegments(archiveDeps('ar-retain'), { bucket, afterDays: 1 }, 'ar-retain', FUTURE(), { segmentMax: 10 });
    const rt = { ...archiveDeps('ar-retain'), auditArchive: { bucket, afterDays: 1 } };
    const r = await prune(rt, 'ar-retain', FUTURE());
    expect(r).toEqual({ through_seq: 30, rows: 30 });
    expect(await segments('ar-retain')).toEqual([]);
    expect((await bucket.list({ prefix: 'audit/ar-retain/' })).objects).toEqual([]);
    expect(await verifyAll('ar-retain')).toMatchObject({ ok: true, complete: true, from: 31, to: 33 });
  });

  it('retention never prunes over a missing segment: the gap stays as evidence', async () => {
    await appendChain('ar-gap', 3, 10);
    await archiveSegments(archiveDeps('ar-gap'), { bucket, afterDays: 1 }, 'ar-gap', FUTURE(), { segmentMax: 10 });
    // Someone removes the middle segment from the manifest (its object too).
    const middle = (await segments('ar-gap'))[1]!;
    await env.DB.prepare('DELETE FROM audit_segments WHERE tenant = ? AND first_seq = ?').bind('ar-gap', middle.first_seq).run();
    await bucket.delete(middle.object_key);
    expect(await verifyAll('ar-gap')).toMatchObject({ ok: false, problem: 'deleted', seq: middle.first_seq });
    const rt = { ...archiveDeps('ar-gap'), auditArchive: { bucket, afterDays: 1 } };
    const r = await prune(rt, 'ar-gap', FUTURE());
    expect(r).toMatch(/missing before sequence 21; nothing pruned/);
    // Nothing was pruned past the gap, and verify still names it.
    expect((await segments('ar-gap')).map((x) => x.first_seq)).toEqual([1, 21]);
    expect(await verifyAll('ar-gap')).toMatchObject({ ok: false, problem: 'deleted', seq: middle.first_seq });
  });

  it('the cron’s maintenance archives once AUDIT_ARCHIVE_DAYS is set, and records it', async () => {
    await appendChain('default', 2, 10);
    const later = () => Date.now() + 2 * 86_400_000;
    const off = await stepgateScheduled({ ...env, AUDIT_ARCHIVE_DAYS: '0' }, { policy: demoPolicy, now: later });
    expect(off.archived ?? null).toBeNull();
    const report = await stepgateScheduled({ ...env, AUDIT_ARCHIVE_DAYS: '1' }, { policy: demoPolicy, now: later });
    expect(report.archived).toMatchObject({ segments: expect.any(Number), through_seq: expect.any(Number) });
    expect(report.archived!.segments).toBeGreaterThan(0);
    expect(report.archive_refused).toBeUndefined();
    expect((await segments('default')).every((s) => s.state === 'archived')).toBe(true);
    expect(await verifyAll('default')).toMatchObject({ ok: true, complete: true });
  });
});
