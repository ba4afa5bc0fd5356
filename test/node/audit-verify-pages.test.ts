/**
 * `stepgate audit verify` at the edge with pages in flight (shared/audit-verify-pages.ts),
 * against a scripted edge: the whole chain is covered with each page starting where the one before
 * ended, no more than N pages are in flight, the first break in chain order is the one reported
 * however the answers arrive, and a page that does not meet the one before is reported, not skipped.
 * Also: Node's synchronous hasher (offline verification) gives exactly the edge's chain hashes.
 */
import { describe, expect, it } from 'vitest';
import { chainMaterial, eventHash, GENESIS, verifyExported } from '../../edge/audit/audit-chain';
import type { AuditEvent, ChainedEvent } from '../../edge/audit/events';
import { verifyPages, type VerifyPage } from '../../shared/audit-verify-pages';
import { nodeSha256 } from '../../edge/node/sha256';
import { syntheticAuditEvent } from '../support/synthetic-audit-event';

const hashOf = (seq: number) => (seq === 0 ? GENESIS : `h${seq}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An edge whose chain has `head` rows, verified in pages of `size`; `override` changes one page's answer. */
function scriptedEdge(head: number, size: number, override: (from: number, page: VerifyPage) => VerifyPage | Error = (_, p) => p) {
  const asked: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fetchPage = async (from: number): Promise<VerifyPage> => {
    asked.push(from);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    // Later pages answer first: the order of answers must not matter.
    await sleep(2 + (head - from) / 4);
    inFlight--;
    // As verifyTenant: a full page has a next one, even when it ends at the head (that one is then empty).
    const to = Math.min(head, from + size - 1);
    const page: VerifyPage = {
      ok: true,
      from,
      to,
      rows: to - from + 1,
      checkpoints: to >= from ? 1 : 0,
      next: to - from + 1 < size ? null : to + 1,
      head_seq: head,
      head: { seq: to, hash: hashOf(to) },
      start: { seq: from - 1, hash: hashOf(from - 1) },
    };
    const r = override(from, page);
    if (r instanceof Error) throw r;
    return r;
  };
  return { fetchPage, asked, maxInFlight: () => maxInFlight };
}

const broken = (from: number, seq: number, problem: string): VerifyPage => ({
  ok: false,
  from,
  to: 0,
  rows: 0,
  checkpoints: 0,
  next: null,
  head_seq: 0,
  seq,
  problem,
  detail: `${problem} at ${seq}`,
});

describe('verifyPages', () => {
  it('covers the whole chain, every page once, with at most N in flight', async () => {
    for (const parallel of [1, 3, 8]) {
      const edge = scriptedEdge(95, 10, (_, p) => p);
      const r = await verifyPages(edge.fetchPage, { parallel, pageSize: 10 });
      expect(r).toEqual({ ok: true, rows: 95, checkpoints: 10, to: 95 });
      expect([...edge.asked].sort((a, b) => a - b)).toEqual([1, 11, 21, 31, 41, 51, 61, 71, 81, 91]);
      expect(edge.maxInFlight()).toBe(parallel);
    }
  });

  it('reports the first break in chain order, even when a later page answers first', async () => {
    const edge = scriptedEdge(95, 10, (from, p) => {
      if (from === 41) return broken(from, 47, 'modified');
      if (from === 61) return broken(from, 61, 'deleted');
      return p;
    });
    const r = await verifyPages(edge.fetchPage, { parallel: 8, pageSize: 10 });
    expect(r).toEqual({ ok: false, seq: 47, problem: 'modified', detail: 'modified at 47', rows: 40, checkpoints: 4 });
  });

  it('ends on the empty page after a chain whose length is a whole number of pages', async () => {
    for (const parallel of [1, 3]) {
      const edge = scriptedEdge(100, 10);
      expect(await verifyPages(edge.fetchPage, { parallel, pageSize: 10 })).toEqual({ ok: true, rows: 100, checkpoints: 10, to: 100 });
      expect(Math.max(...edge.asked)).toBe(101);
    }
  });

  it('asks for no page past the head the edge reported', async () => {
    const edge = scriptedEdge(25, 10);
    expect(await verifyPages(edge.fetchPage, { parallel: 8, pageSize: 10 })).toMatchObject({ ok: true, rows: 25 });
    expect(edge.asked.sort((a, b) => a - b)).toEqual([1, 11, 21]);
  });

  it('reports a page that does not start where the one before ended (a gap)', async () => {
    const edge = scriptedEdge(95, 10, (from, p) => (from === 31 ? { ...p, from: 35, rows: 6 } : p));
    expect(await verifyPages(edge.fetchPage, { parallel: 3, pageSize: 10 })).toMatchObject({ ok: false, seq: 31, problem: 'deleted' });
  });

  it('reports a page verified from another row than the one the page before ended at', async () => {
    const edge = scriptedEdge(95, 10, (from, p) => (from === 51 ? { ...p, start: { seq: 50, hash: 'other' } } : p));
    expect(await verifyPages(edge.fetchPage, { parallel: 3, pageSize: 10 })).toMatchObject({ ok: false, seq: 51, problem: 'inserted' });
  });

  it('follows a page that ends elsewhere (an archived segment verified whole), dropping the pages asked for ahead', async () => {
    // Sequences 11–35 are an archived segment: asked from its start or from inside it, the edge verifies it whole.
    const segment = (p: VerifyPage): VerifyPage => ({
      ...p,
      from: 11,
      to: 35,
      rows: 25,
      next: 36,
      head: { seq: 35, hash: hashOf(35) },
      start: { seq: 10, hash: hashOf(10) },
    });
    const edge = scriptedEdge(95, 10, (from, p) => (from >= 11 && from <= 35 ? segment(p) : p));
    const r = await verifyPages(edge.fetchPage, { parallel: 3, pageSize: 10 });
    expect(r).toMatchObject({ ok: true, rows: 95, to: 95 });
    // 21 and 31 were asked for ahead of the segment's answer, then dropped; paging went on from 36.
    expect(edge.asked.slice(0, 4)).toEqual([1, 11, 21, 31]);
    expect(edge.asked).toContain(36);
  });

  it('an error on a page asked for ahead and dropped does not stop verification; one in chain order does', async () => {
    const dropped = scriptedEdge(95, 10, (from, p) =>
      from === 11 ? { ...p, to: 25, rows: 15, next: 26, head: { seq: 25, hash: hashOf(25) } } : from === 21 ? new Error('HTTP 503') : p,
    );
    expect(await verifyPages(dropped.fetchPage, { parallel: 3, pageSize: 10 })).toMatchObject({ ok: true, rows: 95 });
    expect(dropped.asked).toContain(21);
    const inOrder = scriptedEdge(95, 10, (from, p) => (from === 21 ? new Error('HTTP 503') : p));
    await expect(verifyPages(inOrder.fetchPage, { parallel: 3, pageSize: 10 })).rejects.toThrow('HTTP 503');
  });
});

describe('offline verification with Node’s hasher', () => {
  const event = (seq: number): AuditEvent =>
    syntheticAuditEvent(seq, {
      actor: seq % 2 ? 'zoë@example.com' : '名前',
      app: 'app.test',
      request: { method: 'POST', path: '/p/\u2028\ud83d\ude00', ip: '203.0.113.7', user_agent: 'ua "quoted"' },
      details: { n: seq, nested: { b: [1, -0, 1e21], a: null } },
    });

  it('hashes exactly as the edge does, and verifyExported names the same break with either', async () => {
    const chain: ChainedEvent[] = [];
    let prev = GENESIS;
    for (let seq = 1; seq <= 50; seq++) {
      const e = event(seq);
      const hash = await eventHash(prev, e);
      expect(nodeSha256(chainMaterial(prev, e))).toBe(hash);
      chain.push({ event: e, prev_hash: prev, hash });
      prev = hash;
    }
    expect(await verifyExported(chain, undefined, nodeSha256)).toEqual(await verifyExported(chain));
    expect(await verifyExported(chain, undefined, nodeSha256)).toMatchObject({ ok: true, rows: 50 });
    const edited = chain.map((c) => (c.event.seq === 17 ? { ...c, event: { ...c.event, outcome: 'failure' as const } } : c));
    const r = await verifyExported(edited, undefined, nodeSha256);
    expect(r).toEqual(await verifyExported(edited));
    expect(r).toMatchObject({ ok: false, seq: 17, problem: 'modified' });
  });
});
