/**
 * The verify endpoint's `start` tells the truth on every path (genesis, later page, archived
 * segment, after the archive, retention anchor), and the CLI's paging (verifyPages,
 * shared/audit-verify-pages.ts, run here against the real verifyTenant on real D1/R2) joins
 * pages only where they link: a chain changed between two page reads is reported, an archived
 * segment verified whole over pages already read still joins. (From an adversarial review of 5edd4ab.)
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { appendChain, archiveDeps, bucket, FUTURE, ring, sequencer } from './audit-archive-chain';
import { GENESIS, type AuditRow } from '../../edge/audit/audit-chain';
import { archiveSegments } from '../../edge/audit/archive';
import { verifyTenant } from '../../edge/audit/audit-store';
import { checkpointJwks, verifyCheckpoint } from '../../edge/audit/checkpoint';
import { listCheckpoints } from '../../edge/audit/checkpoint-store';
import { prune } from '../../edge/audit/retention';
import { verifyPages, type VerifyPage } from '../../shared/audit-verify-pages';

const rowAt = async (tenant: string, seq: number) =>
  env.DB.prepare('SELECT * FROM audit_events WHERE tenant = ? AND seq = ?').bind(tenant, seq).first<AuditRow>();
const signedAt = async (tenant: string, seq: number) => {
  const [cp] = await listCheckpoints(env.DB, tenant, seq, seq);
  return cp ? (await verifyCheckpoint(cp.jws, await checkpointJwks(ring))).hash : null;
};

/** What the endpoint answers (audit-routes.ts): the report and the sequencer's head. */
const page = async (tenant: string, from: number, limit: number): Promise<VerifyPage> => {
  const head = await sequencer(tenant).currentHead(tenant);
  const r = await verifyTenant(env.DB, ring, tenant, head, from, limit, bucket);
  return { ...(r as unknown as VerifyPage), head_seq: head.seq };
};

describe('`start` of a verify page', () => {
  it('genesis, then the stored row before each later page', async () => {
    const t = 'rv-start-d1';
    await appendChain(t, 1, 25, 0);
    const p1 = await page(t, 1, 10);
    expect(p1).toMatchObject({ ok: true, from: 1, to: 10, start: { seq: 0, hash: GENESIS } });
    const p2 = await page(t, 11, 10);
    expect(p2).toMatchObject({ ok: true, from: 11, start: { seq: 10, hash: (await rowAt(t, 10))!.hash } });
    expect(p2.start).toEqual(p1.head);
    // The last (empty) page after a whole number of pages.
    const p3 = await page(t, 21, 10);
    expect(p3).toMatchObject({ ok: true, from: 21, to: 25, next: null, start: p2.head });
  });

  it('archived segments (verified whole) and the first D1 page after them', async () => {
    const t = 'rv-start-ar';
    await appendChain(t, 3, 10);
    await archiveSegments(archiveDeps(t), { bucket, afterDays: 1 }, t, FUTURE(), { segmentMax: 10 });
    const s1 = await page(t, 1, 2000);
    expect(s1).toMatchObject({ ok: true, from: 1, to: 10, start: { seq: 0, hash: GENESIS } });
    // Asked from inside the second segment: verified whole, from the checkpoint before it.
    const s2 = await page(t, 15, 2000);
    expect(s2).toMatchObject({ ok: true, from: 11, to: 20, start: { seq: 10, hash: await signedAt(t, 10) } });
    expect(s2.start).toEqual(s1.head);
    const d = await page(t, 31, 2000);
    expect(d).toMatchObject({ ok: true, from: 31, to: 33, start: { seq: 30, hash: await signedAt(t, 30) } });
    const s3 = await page(t, 21, 2000);
    expect(d.start).toEqual(s3.head);
    // The CLI over the whole thing.
    expect(await verifyPages((from) => page(t, from, 2000), { parallel: 3, pageSize: 2000 })).toEqual({
      ok: true,
      rows: 33,
      checkpoints: expect.any(Number),
      to: 33,
    });
  });

  it('the retention anchor after pruning', async () => {
    const t = 'rv-start-ret';
    await appendChain(t, 3, 10);
    await archiveSegments(archiveDeps(t), { bucket, afterDays: 1 }, t, FUTURE(), { segmentMax: 10 });
    const rt = { ...archiveDeps(t), auditArchive: { bucket, afterDays: 1 } };
    expect(await prune(rt, t, FUTURE())).toEqual({ through_seq: 30, rows: 30 });
    const p = await page(t, 1, 2000);
    expect(p).toMatchObject({ ok: true, from: 31, to: 33, start: { seq: 30, hash: await signedAt(t, 30) } });
  });
});

describe('the CLI paging against the real endpoint, the chain changed between two page reads', () => {
  /** verifyPages over the real verifyTenant; `between(from)` runs just before page `from` is read. */
  const run = (t: string, size: number, parallel: number, between: (from: number) => Promise<void>) =>
    verifyPages(
      async (from) => {
        await between(from);
        return page(t, from, size);
      },
      { parallel, pageSize: size },
    );

  it('the row a later page starts from is replaced after the page before read it: reported, not joined', async () => {
    const t = 'rv-swap-start';
    await appendChain(t, 1, 30, 0);
    const r10 = (await rowAt(t, 10))!;
    const r = await run(t, 10, 1, async (from) => {
      // After page 1 verified rows 1–10, someone puts another hash in row 10's column.
      if (from === 11) await env.DB.prepare('UPDATE audit_events SET hash = ? WHERE tenant = ? AND seq = 10').bind('x', t).run();
    });
    await env.DB.prepare('UPDATE audit_events SET hash = ? WHERE tenant = ? AND seq = 10').bind(r10.hash, t).run();
    expect(r).toMatchObject({ ok: false });
    expect((r as { seq: number }).seq).toBeLessThanOrEqual(11);
  });

  it('rows after a verified page deleted before the next page is read: reported at the first one', async () => {
    const t = 'rv-delete-mid';
    await appendChain(t, 1, 30, 0);
    const r = await run(t, 10, 1, async (from) => {
      if (from === 11) await env.DB.prepare('DELETE FROM audit_events WHERE tenant = ? AND seq BETWEEN 11 AND 14').bind(t).run();
    });
    expect(r).toMatchObject({ ok: false, seq: 11, problem: 'deleted' });
  });

  it('archived between two page reads (a segment page overlapping the pages before): the pages still join', async () => {
    const t = 'rv-archive-between';
    await appendChain(t, 3, 10);
    const asked: number[] = [];
    const r = await run(t, 7, 1, async (from) => {
      asked.push(from);
      // After page 1–7 was read from D1, everything up to 30 moves to R2: page 8 is segment 1–10, verified whole.
      if (from === 8) await archiveSegments(archiveDeps(t), { bucket, afterDays: 1 }, t, FUTURE(), { segmentMax: 10 });
    });
    expect(r).toMatchObject({ ok: true, to: 33, rows: 33 });
    expect(asked).toEqual([1, 8, 11, 21, 31]);
  });
});
