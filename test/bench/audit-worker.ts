/**
 * @module Bench-only Worker for the audit measurements in `npm run bench` (see docs/benchmarks.md,
 * "Audit log"). It exports the real Durable Object classes, so it runs with wrangler.toml's
 * bindings (D1 `DB`, `AUDIT_SEQUENCER`, `USER_STATE`), and does the work inside workerd, where the
 * sequencer stub, D1 and the keyring live; each endpoint returns its timings as JSON. Never deployed.
 *
 *  - `POST /append?tenant=&n=&c=`: n single-event appends, c at a time, through the sequencer stub.
 *  - `POST /seed?tenant=&from=&count=&batch=&c=`: append events [from, from + count) in arrays of
 *    `batch`, c arrays in flight; events are deterministic in their index (see `seedInput`).
 *  - `GET /query?tenant=&runs=`: `listEvents` for each filter in `QUERY_FILTERS`, runs times each.
 *  - `POST /bulk-seed?tenant=&seq=&hash=&count=`: append `count` seeded events after (seq, hash)
 *    straight into D1, built by the chain's own code (test/bench/audit-bulk-seed.ts); returns the new head.
 *  - `GET /verify-page?tenant=&from=&limit=[&head_seq=&head_hash=][&archive=1]`: one `verifyTenant`
 *    page against the sequencer's head (or the given one, for a bulk-seeded tenant), reading R2 with archive=1.
 *  - `GET /verify-profile?tenant=&from=&limit=`: per-row µs of each part of verifyRows over one page.
 *  - `GET /export-page?tenant=&after=&limit=`: one page of the NDJSON export (events after `after`,
 *    read through the export's chain reader, with their checkpoint lines), as text; `x-next`: the
 *    sequence to continue after, or empty at the end.
 *  - `POST /archive?tenant=&head_seq=&head_hash=`: one archive run (archive.ts) of everything sealed, into R2.
 *  - `GET /plan?tenant=`: SQLite's plan for the query `listEvents` runs, per filter.
 *  - `POST /optimize?full=`: `PRAGMA optimize`, or `ANALYZE` with full=1 (planner statistics).
 */
import { AuditSequencer } from '../../edge/audit/audit-sequencer';
import { listEvents, verifyTenant } from '../../edge/audit/audit-store';
import { archiveSegments } from '../../edge/audit/archive';
import type { ChainPoint } from '../../edge/audit/audit-chain';
import { readChainPage } from '../../edge/audit/chain-reader';
import { listCheckpoints } from '../../edge/audit/checkpoint-store';
import type { AuditInput } from '../../edge/audit/events';
import { bulkSeed } from './audit-bulk-seed';
import { verifyProfile } from './audit-verify-profile';
import { appendInput, QUERY_FILTERS, seedInput } from './audit-seed-data';
import { parseKeyring, type Keyring } from '../../edge/crypto/keyring';

export { UserState } from '../../edge/user-state/user-state';

interface Env {
  DB: D1Database;
  AUDIT_SEQUENCER: DurableObjectNamespace<BenchAuditSequencer>;
  STEPGATE_KEYS: string;
  AUDIT_ARCHIVE: R2Bucket;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return {
    n: s.length,
    mean: s.reduce((a, x) => a + x, 0) / s.length,
    p50: quantile(s, 0.5),
    p95: quantile(s, 0.95),
    p99: quantile(s, 0.99),
    max: s[s.length - 1] ?? NaN,
  };
};

/**
 * A D1Database whose statement executions (`all`, `first`, `run`, `raw`, `batch`) add their wall
 * time to `ms`, so a measurement can say how much of it was D1 and how much the Worker's own work.
 */
function timedDb(db: D1Database): {
  db: D1Database;
  ms: () => number;
  reset: () => void;
  batches: () => { batches: number; statements: number };
} {
  let total = 0;
  let batches = 0;
  let statements = 0;
  const time = async <T>(p: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await p();
    } finally {
      total += performance.now() - t0;
    }
  };
  const wrapStmt = (s: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(s, {
      get(target, prop) {
        if (prop === 'bind') return (...args: unknown[]) => wrapStmt(target.bind(...args));
        if (prop === 'all' || prop === 'first' || prop === 'run' || prop === 'raw') {
          return (...args: unknown[]) => time(() => (target[prop] as (...a: unknown[]) => Promise<unknown>).apply(target, args));
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  const wrapped = new Proxy(db, {
    get(target, prop) {
      if (prop === 'prepare') return (sql: string) => wrapStmt(target.prepare(sql));
      if (prop === 'batch') {
        return (stmts: D1PreparedStatement[]) => {
          batches++;
          statements += stmts.length;
          return time(() => target.batch(stmts));
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return {
    db: wrapped,
    ms: () => total,
    reset: () => (total = batches = statements = 0),
    batches: () => ({ batches, statements }),
  };
}

/**
 * The real AuditSequencer (wrangler.toml's class name), with its D1 binding timed, so the append
 * measurement can say how many D1 batches the group commit made and how long D1 took.
 */
class BenchAuditSequencer extends AuditSequencer {
  private readonly timed: ReturnType<typeof timedDb>;
  constructor(ctx: DurableObjectState, env: Env) {
    const timed = timedDb(env.DB);
    super(ctx, { ...env, DB: timed.db });
    this.timed = timed;
  }

  /** D1 time and batches since the last call (which resets them). */
  benchStats(): { d1Ms: number; batches: number; statements: number } {
    const r = { d1Ms: this.timed.ms(), ...this.timed.batches() };
    this.timed.reset();
    return r;
  }
}
export { BenchAuditSequencer as AuditSequencer };

let ring: Keyring | null = null;
const int = (q: URLSearchParams, name: string, dflt: number) => {
  const v = Number(q.get(name) ?? dflt);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${name}: not a non-negative integer`);
  return v;
};

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    ring ??= parseKeyring(env.STEPGATE_KEYS);
    const url = new URL(req.url);
    const q = url.searchParams;
    const tenant = q.get('tenant') ?? 'bench';
    const sequencer = () => env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName(`tenant:${tenant}`));

    if (req.method === 'POST' && url.pathname === '/append') {
      const n = int(q, 'n', 2000);
      const c = Math.max(1, int(q, 'c', 1));
      const latencies: number[] = [];
      let next = 0;
      await sequencer().benchStats();
      const t0 = performance.now();
      // Like the gateway's AuditLog: a fresh stub per write, one event per append.
      await Promise.all(
        Array.from({ length: c }, async () => {
          while (next < n) {
            const i = next++;
            const s = performance.now();
            await sequencer().append(tenant, [appendInput(i)]);
            latencies.push(performance.now() - s);
          }
        }),
      );
      const ms = performance.now() - t0;
      return Response.json({
        n,
        c,
        ms,
        eventsPerSecond: (n * 1000) / ms,
        latency: stats(latencies),
        sequencer: await sequencer().benchStats(),
      });
    }

    if (req.method === 'POST' && url.pathname === '/seed') {
      const from = int(q, 'from', 0);
      const count = int(q, 'count', 5000);
      const batch = Math.max(1, int(q, 'batch', 100));
      const c = Math.max(1, int(q, 'c', 2));
      let next = from;
      const end = from + count;
      await sequencer().benchStats();
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: c }, async () => {
          while (next < end) {
            const start = next;
            next = Math.min(end, next + batch);
            const inputs: AuditInput[] = [];
            for (let i = start; i < next; i++) inputs.push(seedInput(i));
            await sequencer().append(tenant, inputs);
          }
        }),
      );
      const ms = performance.now() - t0;
      return Response.json({ count, ms, eventsPerSecond: (count * 1000) / ms, sequencer: await sequencer().benchStats() });
    }

    if (req.method === 'GET' && url.pathname === '/query') {
      const runs = Math.max(1, int(q, 'runs', 20));
      const t = timedDb(env.DB);
      const out: Record<string, { total: number[]; d1: number[]; events: number; more: boolean }> = {};
      // One untimed warm-up of each, then the filters round-robin, so drift hits all of them alike.
      for (let run = -1; run < runs; run++) {
        for (const [label, filter] of Object.entries(QUERY_FILTERS)) {
          t.reset();
          const s = performance.now();
          const page = await listEvents(t.db, ring, tenant, filter, { limit: 50, order: 'desc' });
          const total = performance.now() - s;
          const r = out[label] ?? { total: [], d1: [], events: page.events.length, more: page.next !== null };
          out[label] = r;
          if (run >= 0) {
            r.total.push(total);
            r.d1.push(t.ms());
          }
        }
      }
      return Response.json(
        Object.fromEntries(
          Object.entries(out).map(([label, r]) => [label, { events: r.events, more: r.more, total: stats(r.total), d1: stats(r.d1) }]),
        ),
      );
    }

    // A bulk-seeded tenant's head is the one its seeding returned (the sequencer never saw those rows).
    const givenHead = (): ChainPoint | null => (q.has('head_seq') ? { seq: int(q, 'head_seq', 0), hash: q.get('head_hash') ?? '' } : null);

    if (req.method === 'POST' && url.pathname === '/bulk-seed') {
      const after = { seq: int(q, 'seq', 0), hash: q.get('hash') ?? 'genesis' };
      const s = performance.now();
      const r = await bulkSeed(env.DB, ring, tenant, after, int(q, 'count', 10_000), seedInput);
      return Response.json({ ...r, ms: performance.now() - s });
    }

    if (req.method === 'GET' && url.pathname === '/verify-profile') {
      return Response.json(await verifyProfile(env.DB, ring, tenant, Math.max(1, int(q, 'from', 1)), int(q, 'limit', 5000)));
    }

    if (req.method === 'GET' && url.pathname === '/export-page') {
      // What GET /.stepgate/api/admin/audit/export writes for an unfiltered NDJSON export
      // (audit-export-routes.ts): each event's line, each checkpoint's line after its event.
      const page = await readChainPage({ db: env.DB, ring, tenant, bucket: null }, {}, int(q, 'after', 0), int(q, 'limit', 5000));
      const first = page.events[0]?.event.seq;
      const last = page.events[page.events.length - 1]?.event.seq;
      const cps = first === undefined || last === undefined ? [] : await listCheckpoints(env.DB, tenant, first, last);
      let out = '';
      let ci = 0;
      for (const e of page.events) {
        out += `${JSON.stringify(e)}\n`;
        while (ci < cps.length && cps[ci]!.seq <= e.event.seq) {
          if (cps[ci]!.seq === e.event.seq) out += `${JSON.stringify({ checkpoint: cps[ci]!.jws, seq: cps[ci]!.seq })}\n`;
          ci++;
        }
      }
      return new Response(out, { headers: { 'x-next': page.end ? '' : String(page.position) } });
    }

    if (req.method === 'POST' && url.pathname === '/archive') {
      const head = givenHead() ?? (await sequencer().currentHead(tenant));
      const t = timedDb(env.DB);
      const s = performance.now();
      const r = await archiveSegments(
        { db: t.db, keys: ring, auditSequencer: () => ({ currentHead: async () => head }) as never, now: Date.now },
        { bucket: env.AUDIT_ARCHIVE, afterDays: 1 },
        tenant,
        Number.MAX_SAFE_INTEGER,
      );
      return Response.json({ ms: performance.now() - s, d1Ms: t.ms(), report: r });
    }

    if (req.method === 'GET' && url.pathname === '/verify-page') {
      const from = Math.max(1, int(q, 'from', 1));
      const limit = Math.max(1, int(q, 'limit', 5000));
      const t = timedDb(env.DB);
      const s = performance.now();
      const head = givenHead() ?? (await sequencer().currentHead(tenant));
      const headMs = performance.now() - s;
      const report = await verifyTenant(t.db, ring, tenant, head, from, limit, q.get('archive') === '1' ? env.AUDIT_ARCHIVE : null);
      const ms = performance.now() - s;
      return Response.json({ ms, headMs, d1Ms: t.ms(), report });
    }

    if (req.method === 'POST' && url.pathname === '/optimize') {
      // Planner statistics: `PRAGMA optimize` (what D1's documentation advises after creating
      // indexes; it samples) or a full `ANALYZE`.
      const s = performance.now();
      await env.DB.prepare(q.get('full') === '1' ? 'ANALYZE' : 'PRAGMA optimize').run();
      const ms = performance.now() - s;
      const stats = await env.DB.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'sqlite_stat1'").first<{ n: number }>();
      return Response.json({ ms, stat1: (stats?.n ?? 0) > 0 });
    }

    if (req.method === 'GET' && url.pathname === '/plan') {
      // Run listEvents against a D1Database that answers its query with SQLite's plan for it, so
      // the plan is for exactly the SQL listEvents builds.
      const plans: Record<string, string[]> = {};
      for (const [label, f] of Object.entries(QUERY_FILTERS)) {
        let plan: string[] = [];
        const explain = {
          prepare: (sql: string) => ({
            bind: (...args: unknown[]) => ({
              // Lookups before the listing (a time range's ends) run for real; the listing is explained.
              first: () =>
                env.DB.prepare(sql)
                  .bind(...args)
                  .first(),
              all: async () => {
                const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
                  .bind(...args)
                  .all<{ detail: string }>();
                plan = results.map((r) => r.detail);
                return { results: [] };
              },
            }),
          }),
        } as unknown as D1Database;
        await listEvents(explain, ring, tenant, f, { limit: 50, order: 'desc' });
        plans[label] = plan;
      }
      return Response.json(plans);
    }

    return new Response('not found', { status: 404 });
  },
};
