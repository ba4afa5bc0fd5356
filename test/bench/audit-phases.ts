/**
 * @module The phases of the audit bench (test/bench/audit.ts drives them in order): the append
 * ceiling of one sequencer, seeding (bulk, or through the sequencer), filtered listing, verification
 * page by page (from D1, or across the R2 archive; with pages in flight as the CLI asks for them),
 * offline verification of the exported chain in Node, and archiving. Each calls the bench Worker
 * (test/bench/audit-worker.ts) and prints its own lines and tables.
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyExported, type ChainPoint } from '../../edge/audit/audit-chain';
import type { ChainedEvent } from '../../edge/audit/events';
import { verifyPages, type VerifyPage } from '../../shared/audit-verify-pages';
import { main } from '../../edge/node/cli/main';
import { nodeSha256 } from '../../edge/node/sha256';

export type Call = <T>(method: 'GET' | 'POST', path: string, params: Record<string, string | number>) => Promise<T>;

export interface Stats {
  n: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}
/** D1 batches the sequencer made during a measurement (statements include checkpoint rows). */
interface SequencerStats {
  d1Ms: number;
  batches: number;
  statements: number;
}
interface AppendResult {
  ms: number;
  eventsPerSecond: number;
  latency: Stats;
  sequencer: SequencerStats;
}

export const f1 = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
export const f2 = (x: number) => x.toFixed(2);
const int = (x: number) => Math.round(x).toLocaleString('en-US');

/**
 * Single-event appends (as the gateway's record() makes them) at rising concurrency, until the rate
 * stops rising (under 10 % above the best so far, twice in a row) or the levels run out; the ceiling.
 */
export async function appendCeiling(call: Call, appends: number, levels: number[]): Promise<{ ceiling: number; at: number }> {
  console.log('');
  console.log(
    `audit append: ${appends} single-event appends per concurrency level (${levels.join(', ')}, stopping once the rate ` +
      'stops rising), tenant "bench-append", each awaited until the sequencer says it is durable',
  );
  await call('POST', '/append', { tenant: 'bench-append', n: 50, c: 4 }); // warm-up: head, keys, statements
  const rows: ({ c: number } & AppendResult)[] = [];
  let best = { ceiling: 0, at: 0 };
  let flat = 0;
  for (const c of levels) {
    const r = await call<AppendResult>('POST', '/append', { tenant: 'bench-append', n: Math.max(appends, 4 * c), c });
    rows.push({ c, ...r });
    console.log(
      `  concurrency ${String(c).padStart(3)}: ${r.eventsPerSecond.toFixed(0).padStart(5)} events/s  ` +
        `p50 ${f1(r.latency.p50)} ms  p99 ${f1(r.latency.p99)} ms  (${(r.ms / 1000).toFixed(1)} s)`,
    );
    if (r.eventsPerSecond > best.ceiling * 1.1) flat = 0;
    else flat++;
    if (r.eventsPerSecond > best.ceiling) best = { ceiling: r.eventsPerSecond, at: c };
    if (flat >= 2) break;
  }
  console.log('');
  console.log('| concurrent appends | events/s | p50 ms | p99 ms | events per D1 batch | D1 ms per batch | D1 share of wall time |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  for (const a of rows) {
    const sq = a.sequencer;
    const perBatch = sq.batches ? (sq.statements / sq.batches).toFixed(1) : '—';
    const msPerBatch = sq.batches ? f2(sq.d1Ms / sq.batches) : '—';
    console.log(
      `| ${a.c} | ${a.eventsPerSecond.toFixed(0)} | ${f1(a.latency.p50)} | ${f1(a.latency.p99)} ` +
        `| ${perBatch} | ${msPerBatch} | ${((100 * sq.d1Ms) / a.ms).toFixed(0)} % |`,
    );
  }
  console.log(`append ceiling of one sequencer: ${int(best.ceiling)} events/s (at concurrency ${best.at})`);
  return best;
}

/** Seed through the sequencer (the old way: arrays of `batch`, 2 in flight); the head. */
export async function seedBySequencer(call: Call, events: number, batch: number): Promise<ChainPoint | null> {
  console.log('');
  console.log(`audit seed: ${events} events for tenant "bench" through the sequencer, arrays of ${batch}, 2 in flight`);
  let seeded = 0;
  let ms = 0;
  while (seeded < events) {
    const count = Math.min(5000, events - seeded);
    const r = await call<{ ms: number }>('POST', '/seed', { tenant: 'bench', from: seeded, count, batch, c: 2 });
    seeded += count;
    ms += r.ms;
    if (seeded % 100_000 === 0 || seeded === events)
      console.log(`  ${seeded} events, ${((seeded * 1000) / ms).toFixed(0)} events/s so far`);
  }
  return null; // verify asks the sequencer for its head
}

/** Seed in bulk (rows built with the chain's code, inserted in D1 batches); the head. */
export async function seedInBulk(call: Call, events: number): Promise<ChainPoint> {
  console.log('');
  console.log(`audit seed: ${events} events for tenant "bench", built with the chain's code and bulk-inserted (not through the sequencer)`);
  let head: ChainPoint = { seq: 0, hash: 'genesis' };
  let ms = 0;
  let buildMs = 0;
  let d1Ms = 0;
  let size: number | null = null;
  while (head.seq < events) {
    const count = Math.min(20_000, events - head.seq);
    const r = await call<{ head: ChainPoint; ms: number; buildMs: number; d1Ms: number; sizeAfter: number | null }>('POST', '/bulk-seed', {
      tenant: 'bench',
      seq: head.seq,
      hash: head.hash,
      count,
    });
    head = r.head;
    ms += r.ms;
    buildMs += r.buildMs;
    d1Ms += r.d1Ms;
    size = r.sizeAfter ?? size;
    if (head.seq % 100_000 === 0 || head.seq === events)
      console.log(`  ${head.seq} events, ${((head.seq * 1000) / ms).toFixed(0)} events/s so far`);
  }
  console.log(
    `seeded ${events} events in ${(ms / 1000).toFixed(1)} s (${((events * 1000) / ms).toFixed(0)} events/s): ` +
      `building rows ${(buildMs / 1000).toFixed(1)} s, D1 inserts ${(d1Ms / 1000).toFixed(1)} s`,
  );
  if (size !== null)
    console.log(
      `D1 database size after seeding (meta.size_after, every table; the append tenant too): ${(size / 1e6).toFixed(1)} MB, ` +
        `${(size / events).toFixed(0)} bytes per seeded event`,
    );
  return head;
}

/** Verify the whole chain as the CLI pages it; events/s of verification time. */
export async function verifyAll(
  call: Call,
  head: ChainPoint | null,
  page: number,
  archive: boolean,
): Promise<{ rows: number; rate: number; ms: number; d1Ms: number; pageMs: number; checkpoints: number }> {
  let from = 1;
  let rows = 0;
  let checkpoints = 0;
  let ms = 0;
  let d1Ms = 0;
  const pageMs: number[] = [];
  for (;;) {
    const r = await call<{
      ms: number;
      d1Ms: number;
      report: { ok: boolean; rows: number; checkpoints: number; next: number | null; problem?: string; seq?: number; detail?: string };
    }>('GET', '/verify-page', {
      tenant: 'bench',
      from,
      limit: page,
      ...(head ? { head_seq: head.seq, head_hash: head.hash } : {}),
      ...(archive ? { archive: 1 } : {}),
    });
    if (!r.report.ok) throw new Error(`verify failed at ${r.report.seq}: ${r.report.problem} ${r.report.detail ?? ''}`);
    rows += r.report.rows;
    checkpoints += r.report.checkpoints;
    ms += r.ms;
    d1Ms += r.d1Ms;
    pageMs.push(r.ms);
    if (r.report.rows > 0 && rows % 100_000 < r.report.rows) console.log(`  ${rows} rows verified`);
    if (r.report.next === null) break;
    from = r.report.next;
  }
  const median = [...pageMs].sort((a, b) => a - b)[Math.floor(pageMs.length / 2)]!;
  return { rows, rate: (rows * 1000) / ms, ms, d1Ms, pageMs: median, checkpoints };
}

/** Archive every sealed segment of the tenant to R2 (runs of at most 10 segments, until none is due); rows/s. */
export async function archiveAll(
  call: Call,
  head: ChainPoint | null,
): Promise<{ rows: number; segments: number; ms: number; d1Ms: number }> {
  let rows = 0;
  let segments = 0;
  let ms = 0;
  let d1Ms = 0;
  for (;;) {
    const r = await call<{ ms: number; d1Ms: number; report: { segments: number; rows: number } | string }>('POST', '/archive', {
      tenant: 'bench',
      ...(head ? { head_seq: head.seq, head_hash: head.hash } : {}),
    });
    if (typeof r.report === 'string') throw new Error(`archive refused: ${r.report}`);
    ms += r.ms;
    d1Ms += r.d1Ms;
    rows += r.report.rows;
    segments += r.report.segments;
    if (r.report.segments === 0) break;
    if (rows % 100_000 < r.report.rows) console.log(`  ${rows} rows archived`);
  }
  return { rows, segments, ms, d1Ms };
}

/** Fetch a bench Worker path as text, with its response headers. */
export type CallText = (path: string, params: Record<string, string | number>) => Promise<{ text: string; headers: Headers }>;

/** The median (of an even count, the mean of the middle two). */
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Offline verification of the exported chain, in Node: export it as NDJSON (the export's chain
 * reader and lines, `GET /export-page`) to a temporary file, then time `stepgate audit verify --file`
 * end to end (streamed read, JSON.parse, the chain with Node's hasher), and `verifyExported` alone
 * over the parsed events with Node's synchronous hasher against crypto.subtle (Node's Web Crypto),
 * alternated `rounds` times; events/s, medians.
 */
export async function verifyOffline(
  text: CallText,
  rounds: number,
): Promise<{
  events: number;
  exportMs: number;
  cliMs: number;
  cliOut: string;
  sync: number[];
  subtle: number[];
  syncMedian: number;
  subtleMedian: number;
  parseMs: number;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-bench-export-'));
  const file = join(dir, 'export.ndjson');
  try {
    let s = performance.now();
    const sink = createWriteStream(file);
    let after = 0;
    for (;;) {
      const r = await text('/export-page', { tenant: 'bench', after, limit: 5000 });
      if (!sink.write(r.text)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
      const next = r.headers.get('x-next');
      if (!next) break;
      after = Number(next);
    }
    await new Promise<void>((resolve, reject) => sink.end((e?: Error | null) => (e ? reject(e) : resolve())));
    const exportMs = performance.now() - s;
    const out: string[] = [];
    const err: string[] = [];
    s = performance.now();
    const code = await main(
      ['audit', 'verify', '--file', file],
      (l) => out.push(l),
      (l) => err.push(l),
      {},
    );
    const cliMs = performance.now() - s;
    if (code !== 0) throw new Error(`offline verify failed: ${err.join(' ')}`);
    s = performance.now();
    const events = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{"event"'))
      .map((l) => JSON.parse(l) as ChainedEvent);
    const parseMs = performance.now() - s;
    const sync: number[] = [];
    const subtle: number[] = [];
    for (let i = 0; i < rounds; i++) {
      for (const withNode of i % 2 ? [false, true] : [true, false]) {
        s = performance.now();
        const v = await verifyExported(events, undefined, withNode ? nodeSha256 : undefined);
        const ms = performance.now() - s;
        if (!v.ok) throw new Error(`offline verify failed at ${v.seq}: ${v.problem}`);
        (withNode ? sync : subtle).push((v.rows * 1000) / ms);
      }
    }
    return {
      events: events.length,
      exportMs,
      cliMs,
      cliOut: out.join(' '),
      sync,
      subtle,
      syncMedian: median(sync),
      subtleMedian: median(subtle),
      parseMs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Verification at the edge as `stepgate audit verify` pages it (shared/audit-verify-pages.ts:
 * pages of `page`, up to N in flight, results in chain order), for each N in `levels`, alternated
 * over `rounds`; wall-clock events/s seen by the client, medians.
 */
export async function verifyInFlight(
  call: Call,
  head: ChainPoint,
  page: number,
  levels: number[],
  rounds: number,
): Promise<Record<number, { rates: number[]; median: number }>> {
  const out: Record<number, { rates: number[]; median: number }> = {};
  for (const n of levels) out[n] = { rates: [], median: 0 };
  for (let i = 0; i < rounds; i++) {
    for (const n of i % 2 ? [...levels].reverse() : levels) {
      const s = performance.now();
      const r = await verifyPages(
        async (from) => {
          const x = await call<{ report: Record<string, unknown> }>('GET', '/verify-page', {
            tenant: 'bench',
            from,
            limit: page,
            head_seq: head.seq,
            head_hash: head.hash,
          });
          return { ...x.report, head_seq: head.seq } as unknown as VerifyPage;
        },
        { parallel: n, pageSize: page },
      );
      const ms = performance.now() - s;
      if (!r.ok) throw new Error(`verify (${n} in flight) failed at ${r.seq}: ${r.problem} ${r.detail}`);
      out[n]!.rates.push((r.rows * 1000) / ms);
      console.log(`  ${n} in flight: ${((r.rows * 1000) / ms).toFixed(0)} events/s`);
    }
  }
  for (const n of levels) out[n]!.median = median(out[n]!.rates);
  return out;
}
