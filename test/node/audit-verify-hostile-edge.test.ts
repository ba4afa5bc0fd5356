/**
 * `stepgate audit verify --edge` against an edge whose answers cannot be trusted (an older gateway
 * without `start`, a proxy that changes members, a compromised or rolled-back edge): verifyPages
 * (shared/audit-verify-pages.ts) never says "ok" unless every page says where it started and
 * links to the page end it starts from, every answer is well formed and agrees with itself, and the
 * chain reaches the head the edge reported before its last page. Also guards Node's synchronous
 * hasher on odd input and `verify --file` read in chunks. (From an adversarial review of 5edd4ab.)
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chainMaterial, eventHash, GENESIS, verifyExported } from '../../edge/audit/audit-chain';
import type { ChainedEvent } from '../../edge/audit/events';
import { verifyPages, type VerifyPage } from '../../shared/audit-verify-pages';
import { nodeSha256 } from '../../edge/node/sha256';
import { runCli } from '../support/run-cli';
import { syntheticAuditEvent } from '../support/synthetic-audit-event';

const hashOf = (seq: number) => (seq === 0 ? GENESIS : `h${seq}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A scripted edge: `head` rows in pages of `size`; `override` changes one answer. */
function edge(head: number, size: number, override: (from: number, p: VerifyPage) => VerifyPage = (_, p) => p) {
  const asked: number[] = [];
  const fetchPage = async (from: number): Promise<VerifyPage> => {
    asked.push(from);
    const to = Math.min(head, from + size - 1);
    return override(from, {
      ok: true,
      from,
      to,
      rows: to - from + 1,
      checkpoints: 0,
      next: to - from + 1 < size ? null : to + 1,
      head_seq: head,
      head: { seq: to, hash: hashOf(to) },
      start: { seq: from - 1, hash: hashOf(from - 1) },
    });
  };
  return { fetchPage, asked };
}

describe('verifyPages against inconsistent answers', () => {
  it('a page verified from another row than the page before ended at is reported (with `start`)', async () => {
    const e = edge(50, 10, (from, p) => (from === 21 ? { ...p, start: { seq: 20, hash: 'forked' } } : p));
    expect(await verifyPages(e.fetchPage, { parallel: 3, pageSize: 10 })).toMatchObject({ ok: false, seq: 21, problem: 'inserted' });
  });

  it('a page starting past where the page before ended is a gap, whatever `next` said', async () => {
    const e = edge(50, 10, (from, p) => (from === 11 ? { ...p, next: 25 } : p));
    expect(await verifyPages(e.fetchPage, { parallel: 3, pageSize: 10 })).toMatchObject({ ok: false, seq: 21, problem: 'deleted' });
  });

  it('no endless loop on a page that makes no progress', async () => {
    const e = edge(50, 10, (from, p) => (from === 11 ? { ...p, to: 10, rows: 0, next: 11 } : p));
    expect(await verifyPages(e.fetchPage, { parallel: 3, pageSize: 10 })).toMatchObject({ ok: false, seq: 11, problem: 'deleted' });
  });

  // P1: without `start` (an older gateway, or a proxy that drops the member) the hash link between
  // pages would be off: a page verified from a forked row would join the chain.
  it('P1: a page without `start` is refused, with what to do', async () => {
    for (const at of [1, 21]) {
      const e = edge(50, 10, (from, p) => (from === at ? { ...p, start: undefined } : p));
      expect(await verifyPages(e.fetchPage, { parallel: 3, pageSize: 10 })).toMatchObject({
        ok: false,
        refused: true,
        detail: expect.stringMatching(new RegExp(`page from ${at} did not say where it started.*update the gateway`)),
      });
    }
  });

  // P2: a page that begins at or before the previous page's end (an archived segment verified
  // whole) must begin at from − 1, and from the hash of the page end there when one ended there.
  it('P2: an overlapping page verified from a row another page saw differently is reported', async () => {
    const e = edge(50, 10, (from, p) => (from === 21 ? { ...p, from: 11, rows: 20, start: { seq: 10, hash: 'forked' } } : p));
    expect(await verifyPages(e.fetchPage, { parallel: 1, pageSize: 10 })).toMatchObject({ ok: false, seq: 11, problem: 'inserted' });
  });

  it('P2: an overlapping page is accepted when it links to the page end it starts from, or starts at a checkpoint', async () => {
    for (const segmentStart of [11, 6, 1]) {
      // Asked from 21, the edge verifies the archived segment segmentStart–30 whole.
      const e = edge(50, 10, (from, p) =>
        from === 21
          ? {
              ...p,
              from: segmentStart,
              to: 30,
              rows: 31 - segmentStart,
              next: 31,
              head: { seq: 30, hash: hashOf(30) },
              start: { seq: segmentStart - 1, hash: hashOf(segmentStart - 1) },
            }
          : p,
      );
      expect(await verifyPages(e.fetchPage, { parallel: 1, pageSize: 10 }), `from ${segmentStart}`).toEqual({
        ok: true,
        rows: 50,
        checkpoints: 0,
        to: 50,
      });
    }
    // From the genesis, but with another hash for it than the first page started from.
    const genesis = edge(50, 10, (from, p) =>
      from === 21
        ? { ...p, from: 1, to: 30, rows: 30, next: 31, head: { seq: 30, hash: hashOf(30) }, start: { seq: 0, hash: 'other' } }
        : p,
    );
    expect(await verifyPages(genesis.fetchPage, { parallel: 1, pageSize: 10 })).toMatchObject({ ok: false, seq: 1, problem: 'inserted' });
  });

  it('P2: a page whose start is not the sequence before its first row, or before the chain start, is refused', async () => {
    const e = edge(50, 10, (from, p) => (from === 21 ? { ...p, from: 11, rows: 20, start: { seq: 5, hash: hashOf(5) } } : p));
    expect(await verifyPages(e.fetchPage, { parallel: 1, pageSize: 10 })).toMatchObject({
      ok: false,
      refused: true,
      detail: expect.stringContaining('says it was verified from sequence 5, not from 10'),
    });
    // After retention the chain starts at 31; a later page may not claim rows before that.
    const pruned = edge(60, 10, (from, p) =>
      from === 1
        ? { ...p, from: 31, to: 40, rows: 10, next: 41, head: { seq: 40, hash: hashOf(40) }, start: { seq: 30, hash: 'anchor' } }
        : from === 41
          ? { ...p, from: 21, rows: 30, start: { seq: 20, hash: hashOf(20) } }
          : p,
    );
    expect(await verifyPages(pruned.fetchPage, { parallel: 1, pageSize: 10 })).toMatchObject({
      ok: false,
      refused: true,
      detail: expect.stringContaining("begins at 21, before the chain's start at 31"),
    });
  });

  // P3: a string `to` would make `prev.to + 1` a string concatenation ("20" + 1 = "201"), turning
  // off the gap check for the next page; a string `from` would turn off the `start` check.
  it('P3: a page with non-numeric members is refused, not used to skip the gap check', async () => {
    const e = edge(50, 10, (from, p) =>
      from === 11
        ? ({ ...p, to: '20' } as unknown as VerifyPage)
        : from === 21
          ? { ...p, from: 31, to: 50, rows: 20, next: null, start: { seq: 30, hash: hashOf(30) } } // 21–30 never verified
          : p,
    );
    const r = await verifyPages(e.fetchPage, { parallel: 1, pageSize: 10 });
    expect(r).toMatchObject({
      ok: false,
      refused: true,
      detail: expect.stringContaining('`to` that is not a non-negative integer ("20")'),
    });
  });

  // P4: a last page that ends before the head an earlier answer reported (the tail cut off, or the
  // chain rolled back) is not ok.
  it('P4: a chain that ends before the head an earlier page reported is not ok', async () => {
    const e = edge(50, 10, (from, p) =>
      from === 21 ? { ...p, to: 25, rows: 5, next: null, head_seq: 25, head: { seq: 25, hash: hashOf(25) } } : p,
    );
    const r = await verifyPages(e.fetchPage, { parallel: 1, pageSize: 10 });
    expect(r).toMatchObject({ ok: false, seq: 26, problem: 'deleted' });
  });

  it('P3: every malformed answer is refused, naming what was wrong', async () => {
    const cases: [string, (p: VerifyPage) => unknown][] = [
      ['not an object', () => 'ok'],
      ['not an object', () => null],
      ['not an object', () => [1]],
      ['boolean `ok`', (p) => ({ ...p, ok: 'true' })],
      ['`from` that is not', (p) => ({ ...p, from: '21' })],
      ['`rows` that is not', (p) => ({ ...p, rows: -1 })],
      ['`checkpoints` that is not', (p) => ({ ...p, checkpoints: 1.5 })],
      ['`head_seq` that is not', (p) => ({ ...p, head_seq: Number.NaN })],
      ['`to` that is not', (p) => ({ ...p, to: 2 ** 53 })],
      ['`next` that is neither', (p) => ({ ...p, next: '31' })],
      ['`complete` that is not', (p) => ({ ...p, complete: 'no' })],
      ['no `head` point', (p) => ({ ...p, head: undefined })],
      ['`head.hash` that is not a string', (p) => ({ ...p, head: { seq: 30, hash: 30 } })],
      ['`start.seq` that is not', (p) => ({ ...p, start: { seq: '20', hash: hashOf(20) } })],
      ['no `start` point', (p) => ({ ...p, start: null })],
      ['break at no sequence', () => ({ ok: false, problem: 'modified', detail: 'x' })],
      ['break without a `problem`', () => ({ ok: false, seq: 23, problem: 7 })],
      ['`detail` that is not a string', () => ({ ok: false, seq: 23, problem: 'modified', detail: {} })],
      // Well formed, but contradicting itself.
      ['counts 9 row(s) from 21 to 30', (p) => ({ ...p, rows: 9 })],
      ['ends at 30 but names row 29 as its last', (p) => ({ ...p, head: { seq: 29, hash: hashOf(29) } })],
      ['names 30 as the next page', (p) => ({ ...p, next: 30 })],
      ['is complete: true with next: 31', (p) => ({ ...p, complete: true })],
      ['is empty but ends at another hash', (p) => ({ ...p, to: 20, rows: 0, next: null, head: { seq: 20, hash: 'other' } })],
    ];
    for (const [why, change] of cases)
      for (const parallel of [1, 3]) {
        const e = edge(50, 10, (from, p) => (from === 21 ? (change(p) as VerifyPage) : p));
        expect(await verifyPages(e.fetchPage, { parallel, pageSize: 10 }), why).toMatchObject({
          ok: false,
          refused: true,
          detail: expect.stringContaining(why),
          rows: 20,
        });
      }
  });

  it('P4: a last page that stops short of its own head is asked again from its end; bounded', async () => {
    // Once: the page after it carries on, and the chain is whole.
    let shortOnce = true;
    const once = edge(50, 10, (from, p) => {
      if (from !== 21 || !shortOnce) return p;
      shortOnce = false;
      return { ...p, to: 25, rows: 5, next: null, head: { seq: 25, hash: hashOf(25) } };
    });
    expect(await verifyPages(once.fetchPage, { parallel: 1, pageSize: 10 })).toEqual({ ok: true, rows: 50, checkpoints: 0, to: 50 });
    expect(once.asked).toEqual([1, 11, 21, 26, 36, 46]);
    // Always: the empty page after it is asked for three times, then the missing rows are reported.
    const short = edge(50, 10, (from, p) =>
      from === 21
        ? { ...p, to: 25, rows: 5, next: null, head: { seq: 25, hash: hashOf(25) } }
        : from === 26
          ? { ...p, to: 25, rows: 0, next: null, head: { seq: 25, hash: hashOf(25) } }
          : p,
    );
    expect(await verifyPages(short.fetchPage, { parallel: 3, pageSize: 10 })).toMatchObject({
      ok: false,
      seq: 26,
      problem: 'deleted',
      detail: expect.stringContaining('head at 50, but the chain ends at 25'),
      rows: 25,
    });
    expect(short.asked.filter((f) => f === 26)).toHaveLength(3);
  });

  it('P4: a head that grows with every verify call (each appends audit.verified) is not mistaken for a cut tail', async () => {
    for (const parallel of [1, 2, 3, 8])
      for (const initial of [95, 98, 99, 100]) {
        let length = initial;
        const asked: number[] = [];
        // As the endpoint: read the head, verify the rows there are, record audit.verified, then answer (later pages sooner).
        const fetchPage = async (from: number): Promise<VerifyPage> => {
          asked.push(from);
          const headSeq = length;
          const to = Math.min(length, from + 9);
          length++;
          await sleep(1 + Math.max(0, 120 - from) / 20);
          return {
            ok: true,
            from,
            to,
            rows: to - from + 1,
            checkpoints: 0,
            complete: to - from + 1 < 10,
            next: to - from + 1 < 10 ? null : to + 1,
            head_seq: headSeq,
            head: { seq: to, hash: hashOf(to) },
            start: { seq: from - 1, hash: hashOf(from - 1) },
          };
        };
        const r = await verifyPages(fetchPage, { parallel, pageSize: 10 });
        expect(r, `parallel ${parallel}, ${initial} rows`).toMatchObject({ ok: true });
        expect((r as { to: number }).to).toBeGreaterThanOrEqual(initial);
        // Not even asked again: only answers received before the last page was asked bound where it must reach.
        expect(asked.filter((f) => f % 10 !== 1)).toEqual([]);
      }
  });

  it('a head that goes back between two answers is reported, on any page', async () => {
    const e = edge(50, 10, (from, p) => (from === 31 ? { ...p, head_seq: 40 } : p));
    expect(await verifyPages(e.fetchPage, { parallel: 1, pageSize: 10 })).toMatchObject({
      ok: false,
      seq: 41,
      problem: 'deleted',
      detail: expect.stringContaining("the sequencer's head at 50, then at 40"),
    });
  });
});

describe('stepgate audit verify --edge against a hostile edge', () => {
  /** A stand-in edge on a local port that answers every verify request with `answer(from)`. */
  async function withEdge(answer: (from: number) => unknown, run: (base: string) => Promise<void>): Promise<void> {
    const server = createServer((req, res) => {
      const from = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('from'));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer(from)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
  const page = (from: number, extra: Partial<VerifyPage> = {}): VerifyPage => ({
    ok: true,
    from,
    to: 10,
    rows: 11 - from,
    checkpoints: 0,
    next: null,
    head_seq: 10,
    head: { seq: 10, hash: hashOf(10) },
    start: { seq: from - 1, hash: hashOf(from - 1) },
    ...extra,
  });
  const verify = (base: string) => runCli(['audit', 'verify', '--edge', base, '--token', 'sgt.test', '--parallel', '2']);

  it('ok only for a well-formed chain; an answer without `start` or with a string member exits 1 and says why', async () => {
    await withEdge(
      (from) => page(from),
      async (base) => expect(await verify(base)).toMatchObject({ code: 0, out: expect.stringContaining('ok: 10 event(s) verified') }),
    );
    await withEdge(
      (from) => page(from, { start: undefined }),
      async (base) =>
        expect(await verify(base)).toMatchObject({
          code: 1,
          out: '',
          err: expect.stringMatching(/^NOT VERIFIED: .*page from 1 did not say where it started.*update the gateway, or verify.*--file/),
        }),
    );
    await withEdge(
      (from) => ({ ...page(from), to: '10' }),
      async (base) =>
        expect(await verify(base)).toMatchObject({
          code: 1,
          out: '',
          err: expect.stringContaining('`to` that is not a non-negative integer'),
        }),
    );
  });
});

describe('Node’s hasher is the edge’s on odd input', () => {
  it('lone surrogates, NUL and U+2028 in prev_hash and in the event: same digest', async () => {
    for (const prev of [GENESIS, '\ud800', 'a\udfffb', '\u0000', '\u2028', '\ud83d\ude00', '\uffff', ''])
      for (const extra of [{}, { details: { '\ud800': '\udc00' } }, { actor: '\ud83d' }, { details: { __proto__: 1, x: '\u0000' } }]) {
        const e = syntheticAuditEvent(1, JSON.parse(JSON.stringify(extra)) as Record<string, unknown>);
        expect(nodeSha256(chainMaterial(prev, e)), JSON.stringify(prev)).toBe(await eventHash(prev, e));
      }
  });

  it('verifyExported gives the same verdict with either hasher on a chain whose first prev_hash is odd (export mid-chain)', async () => {
    const chain: ChainedEvent[] = [];
    let prev = '\ud800';
    for (let seq = 5; seq <= 9; seq++) {
      const e = syntheticAuditEvent(seq);
      const hash = await eventHash(prev, e);
      chain.push({ event: e, prev_hash: prev, hash });
      prev = hash;
    }
    expect(await verifyExported(chain, null, nodeSha256)).toEqual(await verifyExported(chain, null));
    expect(await verifyExported(chain, null, nodeSha256)).toMatchObject({ ok: true, rows: 5 });
    // Both encoders write a lone surrogate as U+FFFD, so '\ud800' and '\ufffd' hash alike: the same
    // (pre-existing) verdict with either hasher. Harmless: the first link of an unanchored export is
    // taken as given anyway, every later link and an anchor are compared as strings, and real
    // hashes are base64url.
    const swapped = [{ ...chain[0]!, prev_hash: '\ufffd' }, ...chain.slice(1)];
    expect(await verifyExported(swapped, null, nodeSha256)).toEqual(await verifyExported(swapped, null));
    const later = chain.map((c, i) => (i === 2 ? { ...c, prev_hash: `${c.prev_hash}\ud800` } : c));
    expect(await verifyExported(later, null, nodeSha256)).toEqual(await verifyExported(later, null));
    expect(await verifyExported(later, null, nodeSha256)).toMatchObject({ ok: false, seq: 7 });
  });
});

describe('verify --file read in chunks', () => {
  it('multi-byte characters across 64 KiB chunk boundaries, CRLF, a BOM, no final newline: ok, and a change is still found', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepgate-review-'));
    const lines: string[] = [];
    let prev = GENESIS;
    const events: ChainedEvent[] = [];
    for (let seq = 1; seq <= 40; seq++) {
      // Sizes that walk the chunk boundary over every byte of 2-, 3- and 4-byte characters.
      const e = syntheticAuditEvent(seq, {
        actor: 'x',
        details: { pad: 'a'.repeat(seq % 7), text: 'é中😀'.repeat(3000 + seq) },
      });
      const hash = await eventHash(prev, e);
      events.push({ event: e, prev_hash: prev, hash });
      lines.push(JSON.stringify({ event: e, prev_hash: prev, hash }));
      prev = hash;
    }
    const file = join(dir, 'audit.ndjson');
    writeFileSync(file, `\ufeff${lines.join('\r\n')}`);
    const ok = await runCli(['audit', 'verify', '--file', file]);
    expect(ok).toMatchObject({ code: 0, out: expect.stringContaining('ok: 40 event(s) form an unbroken chain through sequence 40') });

    // One character changed in event 23's text, far from any line start.
    const edited = lines.map((l, i) => (i === 22 ? l.replace('中😀é', '中😀e') : l));
    writeFileSync(file, edited.join('\n'));
    expect(await runCli(['audit', 'verify', '--file', file])).toMatchObject({
      code: 1,
      err: expect.stringContaining('BROKEN at sequence 23: modified'),
    });

    // Truncated tail (the last line cut mid-way) is not JSON: refused, not "ok" for 39.
    writeFileSync(file, `${lines.join('\n').slice(0, -100)}`);
    expect(await runCli(['audit', 'verify', '--file', file])).toMatchObject({ code: 1, err: expect.stringContaining('not JSON') });
  });
});
