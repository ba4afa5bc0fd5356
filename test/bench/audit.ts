/**
 * @module The audit part of `npm run bench` (docs/benchmarks.md, "Audit log"): append throughput
 * through the AuditSequencer Durable Object, then a seeded 100,000-event tenant to time filtered
 * listing and full-chain verification. The work runs inside workerd (test/bench/audit-worker.ts,
 * started with wrangler.toml's bindings and the real D1 migrations); this side drives it over
 * loopback HTTP and prints the tables.
 */
import { bundleWorker, startGateway } from '../support/miniflare-gateway';

const list = (v: string | undefined, dflt: number[]) => (v ? v.split(',').map(Number) : dflt);
/** The environment knobs; `quick` (`npm run bench -- --quick`) shrinks the defaults to seconds of work. */
const settings = (quick: boolean) => ({
  APPENDS: Number(process.env.BENCH_AUDIT_APPENDS ?? (quick ? 200 : 2000)),
  CONCURRENCY: list(process.env.BENCH_AUDIT_CONCURRENCY, quick ? [1, 16] : [1, 16, 64]),
  EVENTS: Number(process.env.BENCH_AUDIT_EVENTS ?? (quick ? 2000 : 100_000)),
  RUNS: Number(process.env.BENCH_AUDIT_RUNS ?? (quick ? 3 : 20)),
  SEED_BATCH: Number(process.env.BENCH_AUDIT_SEED_BATCH ?? 100),
});
const SEED_CHUNK = 5000;
const VERIFY_PAGE = 5000;

interface Stats {
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

const f1 = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const f2 = (x: number) => x.toFixed(2);

export async function auditBench(quick = false): Promise<void> {
  const { APPENDS, CONCURRENCY, EVENTS, RUNS, SEED_BATCH } = settings(quick);
  const script = await bundleWorker('test/bench/audit-worker.ts');
  // The gateway's own start-up path: wrangler.toml's bindings, D1 migrations applied; no origin is used.
  const worker = await startGateway({
    originUrl: 'http://127.0.0.1:9',
    jwtSecret: 'bench-only-identity-secret-0123456789abcdef',
    scriptPath: script,
  });
  const call = async <T>(method: 'GET' | 'POST', path: string, params: Record<string, string | number>): Promise<T> => {
    const u = new URL(path, worker.url);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, String(v));
    // dispatchFetch opens a fresh connection per call: reusing a kept-alive one to workerd sometimes
    // failed with ECONNRESET between these long requests.
    const r = await worker.mf.dispatchFetch(u, { method });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  };
  const started = performance.now();
  try {
    // 1. Append throughput: single-event appends, like the gateway's record(), at several concurrencies.
    console.log('');
    console.log(
      `audit append: ${APPENDS} single-event appends per concurrency level ` +
        `(${CONCURRENCY.join(', ')}), tenant "bench-append", each awaited until durable in D1`,
    );
    await call('POST', '/append', { tenant: 'bench-append', n: 50, c: 4 }); // warm-up: head, keys, statements
    const appends: ({ c: number } & AppendResult)[] = [];
    for (const c of CONCURRENCY) {
      const r = await call<AppendResult>('POST', '/append', { tenant: 'bench-append', n: APPENDS, c });
      appends.push({ c, ...r });
      console.log(
        `  concurrency ${String(c).padStart(3)}: ${r.eventsPerSecond.toFixed(0).padStart(5)} events/s  ` +
          `p50 ${f1(r.latency.p50)} ms  p99 ${f1(r.latency.p99)} ms  (${(r.ms / 1000).toFixed(1)} s)`,
      );
    }
    console.log('');
    console.log('| concurrent appends | events/s | p50 ms | p99 ms | events per D1 batch | D1 ms per batch | D1 share of wall time |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|');
    for (const a of appends) {
      const sq = a.sequencer;
      console.log(
        `| ${a.c} | ${a.eventsPerSecond.toFixed(0)} | ${f1(a.latency.p50)} | ${f1(a.latency.p99)} ` +
          `| ${(sq.statements / sq.batches).toFixed(1)} | ${f2(sq.d1Ms / sq.batches)} | ${((100 * sq.d1Ms) / a.ms).toFixed(0)} % |`,
      );
    }

    // 2. Seed the query tenant through the sequencer, in arrays of SEED_BATCH events.
    console.log('');
    console.log(`audit seed: ${EVENTS} events for tenant "bench" through the sequencer, arrays of ${SEED_BATCH}, 2 in flight`);
    let seeded = 0;
    let seedMs = 0;
    let seedD1Ms = 0;
    while (seeded < EVENTS) {
      const count = Math.min(SEED_CHUNK, EVENTS - seeded);
      const r = await call<{ ms: number; sequencer: SequencerStats }>('POST', '/seed', {
        tenant: 'bench',
        from: seeded,
        count,
        batch: SEED_BATCH,
        c: 2,
      });
      seeded += count;
      seedMs += r.ms;
      seedD1Ms += r.sequencer.d1Ms;
      if (seeded % 20_000 === 0 || seeded === EVENTS)
        console.log(`  ${seeded} events, ${((seeded * 1000) / seedMs).toFixed(0)} events/s so far`);
    }
    const seedRate = (EVENTS * 1000) / seedMs;

    // 3. Filtered listing, newest first, one page of 50 (the console's and API's default).
    type QueryResult = Record<string, { events: number; more: boolean; total: Stats; d1: Stats }>;
    const plansBefore = await call<Record<string, string[]>>('GET', '/plan', { tenant: 'bench' });
    const queries = async (title: string) => {
      const plans = await call<Record<string, string[]>>('GET', '/plan', { tenant: 'bench' });
      console.log('');
      console.log(
        `audit query${title}: listEvents(limit 50, desc) over ${EVENTS} events, ${RUNS} runs per filter, round-robin after a warm-up`,
      );
      const q = await call<QueryResult>('GET', '/query', { tenant: 'bench', runs: RUNS });
      console.log('');
      console.log('| filter | events on page | median ms | p95 ms | mean ms | of which D1, mean ms | SQLite plan |');
      console.log('|---|---:|---:|---:|---:|---:|---|');
      for (const [label, r] of Object.entries(q)) {
        console.log(
          `| ${label} | ${r.events}${r.more ? '' : ' (end)'} | ${r.total.p50} | ${r.total.p95} ` +
            `| ${f2(r.total.mean)} | ${f2(r.d1.mean)} | ${(plans[label] ?? []).join('; ')} |`,
        );
      }
      console.log("(workerd's clock ticks in whole milliseconds: medians and p95s are whole ms; means over the runs are finer)");
    };
    await queries('');
    // The migrations never gather planner statistics. D1's documentation advises PRAGMA optimize
    // after creating indexes (it samples); a full ANALYZE reads every index.
    const opt = await call<{ ms: number; stat1: boolean }>('POST', '/optimize', {});
    const optPlans = await call<Record<string, string[]>>('GET', '/plan', { tenant: 'bench' });
    console.log('');
    const changed = Object.entries(optPlans).filter(([label, plan]) => plan.join('; ') !== (plansBefore[label] ?? []).join('; '));
    console.log(
      `PRAGMA optimize: ${opt.ms} ms, planner statistics ${opt.stat1 ? 'present' : 'NOT gathered'}; ` +
        `plans that changed: ${changed.length ? '' : 'none'}`,
    );
    for (const [label, plan] of changed) console.log(`  ${label}: ${plan.join('; ')}`);
    const full = await call<{ ms: number }>('POST', '/optimize', { full: 1 });
    console.log(`ANALYZE: ${full.ms} ms`);
    await queries(' after ANALYZE');

    // 4. Verify the whole chain, paging like the CLI does (`stepgate audit verify`).
    console.log('');
    console.log(`audit verify: verifyTenant over ${EVENTS} events, pages of ${VERIFY_PAGE}`);
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
        report: { ok: boolean; rows: number; checkpoints: number; next: number | null; problem?: string; seq?: number };
      }>('GET', '/verify-page', {
        tenant: 'bench',
        from,
        limit: VERIFY_PAGE,
      });
      if (!r.report.ok) throw new Error(`verify failed at ${r.report.seq}: ${r.report.problem}`);
      rows += r.report.rows;
      checkpoints += r.report.checkpoints;
      ms += r.ms;
      d1Ms += r.d1Ms;
      pageMs.push(r.ms);
      if (r.report.rows > 0 && rows % 25_000 === 0) console.log(`  ${rows} rows verified`);
      if (r.report.next === null) break;
      from = r.report.next;
    }
    const verifyRate = (rows * 1000) / ms;
    console.log('');
    console.log('| operation | events | events/s | total s | of which D1 s |');
    console.log('|---|---:|---:|---:|---:|');
    console.log(
      `| seed (arrays of ${SEED_BATCH} through the sequencer) ` +
        `| ${EVENTS} | ${seedRate.toFixed(0)} | ${(seedMs / 1000).toFixed(1)} | ${(seedD1Ms / 1000).toFixed(1)} |`,
    );
    console.log(
      `| verifyTenant (pages of ${VERIFY_PAGE}, ${checkpoints} checkpoints) ` +
        `| ${rows} | ${verifyRate.toFixed(0)} | ${(ms / 1000).toFixed(1)} | ${(d1Ms / 1000).toFixed(1)} |`,
    );
    console.log(
      `verify page time: median ${f1([...pageMs].sort((a, b) => a - b)[Math.floor(pageMs.length / 2)]!)} ms per ${VERIFY_PAGE} rows`,
    );
    console.log(`audit bench took ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await worker.dispose();
  }
}
