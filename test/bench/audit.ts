/**
 * @module The audit part of `npm run bench` (docs/benchmarks.md, "Audit log"; docs/scale.md): the
 * append ceiling of one AuditSequencer (appends/s at rising concurrency until it stops rising), then a
 * tenant of BENCH_AUDIT_EVENTS events (bulk-seeded as a valid chain: test/bench/audit-bulk-seed.ts)
 * to time filtered listing and full-chain verification (page by page; with pages in flight as the
 * CLI asks for them; offline in Node over the exported chain), then the archive of that chain to R2
 * and verification across it. The work runs inside workerd (test/bench/audit-worker.ts, started with
 * wrangler.toml's bindings and the real D1 migrations); this side drives it and prints the tables.
 */
import { bundleWorker, startGateway } from '../support/miniflare-gateway';
import {
  appendCeiling,
  archiveAll,
  type Call,
  type CallText,
  f1,
  f2,
  seedBySequencer,
  seedInBulk,
  type Stats,
  verifyAll,
  verifyInFlight,
  verifyOffline,
} from './audit-phases';

const list = (v: string | undefined, dflt: number[]) => (v ? v.split(',').map(Number) : dflt);
/** The environment knobs; `quick` (`npm run bench -- --quick`) shrinks the defaults to seconds of work. */
const settings = (quick: boolean) => ({
  APPENDS: Number(process.env.BENCH_AUDIT_APPENDS ?? (quick ? 200 : 2000)),
  CONCURRENCY: list(process.env.BENCH_AUDIT_CONCURRENCY, quick ? [1, 16] : [1, 4, 16, 64, 128, 256]),
  EVENTS: Number(process.env.BENCH_AUDIT_EVENTS ?? (quick ? 3000 : 200_000)),
  /** `bulk` (default): rows built with the chain's code, inserted in D1 batches; `sequencer`: through the Durable Object. */
  SEED: process.env.BENCH_AUDIT_SEED === 'sequencer' ? ('sequencer' as const) : ('bulk' as const),
  ARCHIVE: process.env.BENCH_AUDIT_ARCHIVE !== '0',
  RUNS: Number(process.env.BENCH_AUDIT_RUNS ?? (quick ? 3 : 20)),
  /** Alternated rounds of the in-flight and offline verification comparisons. */
  VERIFY_ROUNDS: Number(process.env.BENCH_AUDIT_VERIFY_ROUNDS ?? (quick ? 1 : 2)),
  SEED_BATCH: Number(process.env.BENCH_AUDIT_SEED_BATCH ?? 100),
});
const VERIFY_PAGE = 5000;
/** What `stepgate audit verify` asks for: pages of 2000, 1 (one at a time) or its default 3 in flight. */
const CLI_PAGE = 2000;
const IN_FLIGHT = [1, 3];
/** The targets of issue 15 (docs/scale.md). */
const QUERY_TARGET_MS = 100;
const VERIFY_TARGET = 50_000;

export async function auditBench(quick = false): Promise<void> {
  const { APPENDS, CONCURRENCY, EVENTS, SEED, ARCHIVE, RUNS, SEED_BATCH, VERIFY_ROUNDS } = settings(quick);
  const script = await bundleWorker('test/bench/audit-worker.ts');
  // The gateway's own start-up path: wrangler.toml's bindings (D1, R2), D1 migrations applied; no origin is used.
  const worker = await startGateway({
    originUrl: 'http://127.0.0.1:9',
    jwtSecret: 'bench-only-identity-secret-0123456789abcdef',
    scriptPath: script,
    pageScriptAssets: false, // no page is served; and no Miniflare assets router in front
  });
  const call: Call = async <T>(method: 'GET' | 'POST', path: string, params: Record<string, string | number>): Promise<T> => {
    const u = new URL(path, worker.url);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, String(v));
    // dispatchFetch opens a fresh connection per call: reusing a kept-alive one to workerd sometimes
    // failed with ECONNRESET between these long requests.
    const r = await worker.mf.dispatchFetch(u, { method });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  };
  const text: CallText = async (path, params) => {
    const u = new URL(path, worker.url);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, String(v));
    const r = await worker.mf.dispatchFetch(u);
    if (!r.ok) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
    return { text: await r.text(), headers: r.headers as unknown as Headers };
  };
  const started = performance.now();
  const verdicts: string[] = [];
  try {
    // 1. The append ceiling of one sequencer.
    const ceiling = await appendCeiling(call, APPENDS, CONCURRENCY);
    verdicts.push(
      `append ceiling of one sequencer: ${ceiling.ceiling.toFixed(0)} events/s at concurrency ${ceiling.at} (no target: see docs/scale.md)`,
    );

    // 2. Seed the query tenant.
    const head = SEED === 'bulk' ? await seedInBulk(call, EVENTS) : await seedBySequencer(call, EVENTS, SEED_BATCH);

    // 3. Filtered listing, newest first, one page of 50 (the console's and API's default).
    type QueryResult = Record<string, { events: number; more: boolean; total: Stats; d1: Stats }>;
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
      return q;
    };
    const before = await queries('');
    const opt = await call<{ ms: number; stat1: boolean }>('POST', '/optimize', {});
    console.log('');
    console.log(`PRAGMA optimize: ${opt.ms} ms, planner statistics ${opt.stat1 ? 'present' : 'NOT gathered'}`);
    const full = await call<{ ms: number }>('POST', '/optimize', { full: 1 });
    console.log(`ANALYZE: ${full.ms} ms`);
    const after = await queries(' after ANALYZE');
    for (const [label, q] of [['', before] as const, [' after ANALYZE', after] as const]) {
      const worst = Object.entries(q).sort((a, b) => b[1].total.p50 - a[1].total.p50)[0]!;
      verdicts.push(
        `query over ${EVENTS} events${label}: slowest filter "${worst[0]}" median ${worst[1].total.p50} ms, p95 ${worst[1].total.p95} ms ` +
          `(target < ${QUERY_TARGET_MS} ms: ${worst[1].total.p50 < QUERY_TARGET_MS ? 'met' : 'NOT met'})`,
      );
    }

    // 4. Verify the whole chain, paging like the CLI does (`stepgate audit verify`).
    console.log('');
    console.log(`audit verify: verifyTenant over ${EVENTS} events in D1, pages of ${VERIFY_PAGE}`);
    const v = await verifyAll(call, head, VERIFY_PAGE, false);
    const line = (what: string, r: typeof v) =>
      `| ${what} | ${r.rows} | ${r.rate.toFixed(0)} | ${(r.ms / 1000).toFixed(1)} | ${(r.d1Ms / 1000).toFixed(1)} | ${f1(r.pageMs)} |`;
    const lines = [line(`verifyTenant, D1 (${v.checkpoints} checkpoints)`, v)];
    verdicts.push(
      `verify: ${v.rate.toFixed(0)} events/s over ${v.rows} events ` +
        `(target ≥ ${VERIFY_TARGET}: ${v.rate >= VERIFY_TARGET ? 'met' : 'NOT met'})`,
    );

    // 4b. As the CLI verifies at the edge: pages of 2000, one at a time or several in flight (wall clock).
    const perSecond = (rate: number) => `${rate.toFixed(0)} events/s`;
    if (head) {
      console.log('');
      console.log(
        `audit verify as the CLI pages it: pages of ${CLI_PAGE}, ${IN_FLIGHT.join(' or ')} in flight, ` +
          `${VERIFY_ROUNDS} alternated round(s), wall clock at the client`,
      );
      const inFlight = await verifyInFlight(call, head, CLI_PAGE, IN_FLIGHT, VERIFY_ROUNDS);
      for (const n of IN_FLIGHT)
        lines.push(
          `| CLI paging (${CLI_PAGE} a page), ${n} in flight, wall clock | ${EVENTS} | ` +
            `${inFlight[n]!.median.toFixed(0)} | — | — | — |`,
        );
      verdicts.push(
        `verify with pages in flight (one workerd process), median (runs): ` +
          IN_FLIGHT.map((n) => `${n}: ${perSecond(inFlight[n]!.median)} (${inFlight[n]!.rates.map((x) => x.toFixed(0)).join(', ')})`).join(
            '; ',
          ),
      );
    }

    // 4c. Offline: the exported chain verified in Node (stepgate audit verify --file).
    console.log('');
    console.log(`audit verify offline: the chain exported as NDJSON, then verified in Node (${VERIFY_ROUNDS * 2} alternated round(s))`);
    const off = await verifyOffline(text, VERIFY_ROUNDS * 2);
    const offRate = (ms: number) => (off.events * 1000) / ms;
    console.log(
      `exported ${off.events} events in ${(off.exportMs / 1000).toFixed(1)} s; \`stepgate audit verify --file\` ` +
        `${(off.cliMs / 1000).toFixed(1)} s end to end (${perSecond(offRate(off.cliMs))}): ${off.cliOut}`,
    );
    console.log(
      `verifyExported alone: Node's createHash ${off.sync.map((x) => x.toFixed(0)).join(', ')} events/s; ` +
        `crypto.subtle ${off.subtle.map((x) => x.toFixed(0)).join(', ')} events/s ` +
        `(JSON.parse of the file: ${(off.parseMs / 1000).toFixed(1)} s)`,
    );
    const { syncMedian, subtleMedian } = off;
    lines.push(
      `| offline \`audit verify --file\` end to end (Node) | ${off.events} | ${offRate(off.cliMs).toFixed(0)} ` +
        `| ${(off.cliMs / 1000).toFixed(1)} | — | — |`,
    );
    lines.push(`| offline verifyExported, Node's createHash | ${off.events} | ${syncMedian.toFixed(0)} | — | — | — |`);
    lines.push(`| offline verifyExported, crypto.subtle (Node) | ${off.events} | ${subtleMedian.toFixed(0)} | — | — | — |`);
    verdicts.push(
      `offline verify: ${perSecond(offRate(off.cliMs))} end to end, ${perSecond(syncMedian)} verifyExported with Node's hasher ` +
        `(target ≥ ${VERIFY_TARGET}: ${offRate(off.cliMs) >= VERIFY_TARGET ? 'met' : 'NOT met'} end to end)`,
    );

    // 5. Archive the sealed segments to R2, then verify across R2 and D1.
    if (ARCHIVE) {
      console.log('');
      console.log(`audit archive: every sealed segment of "bench" to R2 (local, Miniflare), segments of at most 10,000 rows`);
      const a = await archiveAll(call, head);
      console.log(
        `archived ${a.rows} events in ${a.segments} segments in ${(a.ms / 1000).toFixed(1)} s ` +
          `(${((a.rows * 1000) / a.ms).toFixed(0)} events/s, ` +
          `D1 ${(a.d1Ms / 1000).toFixed(1)} s)`,
      );
      console.log(`audit verify across the archive: ${a.rows} events from R2, the rest from D1`);
      const va = await verifyAll(call, head, VERIFY_PAGE, true);
      lines.push(line('verifyTenant, R2 archive + D1 (a page per segment)', va));
      verdicts.push(`verify across the R2 archive: ${va.rate.toFixed(0)} events/s over ${va.rows} events`);
    }
    console.log('');
    console.log('| verification | events | events/s | total s | of which D1 s | median page ms |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const l of lines) console.log(l);
    console.log('');
    for (const x of verdicts) console.log(`verdict: ${x}`);
    console.log(`audit bench took ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await worker.dispose();
  }
}
