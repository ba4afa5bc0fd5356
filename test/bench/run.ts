/**
 * @module `npm run bench`: one run that measures, side by side, what Stepgate costs (test/bench/proxy.ts:
 * an unprotected route against a bare pass-through Worker, a protected route with a session grant
 * against the bare Worker and against Hono's own `jwt()` middleware), then the audit log
 * (test/bench/audit.ts: append throughput through the AuditSequencer, filtered listing and chain
 * verification over a seeded tenant), with the bundle's size and startup (test/bench/startup.ts) and
 * the policy matcher at 10 and 10,000 rules (test/bench/policy-scale.ts) in between. Prints tables,
 * ratios and verdicts.
 *
 * `npm run bench:profile` records a CPU profile of a protected request instead (test/bench/profile.ts).
 * `npm run bench -- --audit-only` (or BENCH_AUDIT_ONLY=1) runs only the audit part;
 * `--no-audit` (or BENCH_AUDIT=0) everything but it; `--quick` (or BENCH_QUICK=1) tiny settings
 * that only show that everything runs (.ci/run); `--rounds N`, `--seconds N` override BENCH_ROUNDS, BENCH_SECONDS.
 *
 * Nothing it starts outlives it (edge/node/dev/process-group.ts): the origin and the load generator run
 * in process groups that are stopped on success, failure and Ctrl-C, and Miniflare stops workerd.
 * BENCH_FAIL_AFTER_START=1 makes it fail once everything runs (test/node/bench-cleanup.test.ts).
 */
import { parseArgs } from 'node:util';
import { stoppingFor } from '../../edge/node/dev/process-group';
import { auditBench } from './audit';
import { pinWorkersAndLoad } from './load';
import { policyScaleBench } from './policy-scale';
import { proxyBench } from './proxy';
import { startupBench } from './startup';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'audit-only': { type: 'boolean', default: false },
    'no-audit': { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
  },
});
const QUICK = args.quick || process.env.BENCH_QUICK === '1';
const AUDIT_ONLY = args['audit-only'] || process.env.BENCH_AUDIT_ONLY === '1';
const SKIP_AUDIT = args['no-audit'] || process.env.BENCH_AUDIT === '0';

const ROUNDS = Number(args.rounds ?? process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 4));
const SECONDS = Number(args.seconds ?? process.env.BENCH_SECONDS ?? (QUICK ? 1 : 5));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
for (const [name, v] of Object.entries({ rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS })) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`bench: ${name} must be a whole number ≥ 1, not ${v}`);
}

/** What the parts have started, stopped at the end of each, or by the top level's `finally` on a failure. */
const disposers = new Set<() => Promise<unknown>>();
const disposeAll = async () => {
  const all = [...disposers];
  disposers.clear();
  await Promise.allSettled(all.map((d) => d()));
};

const started = performance.now();
try {
  if (QUICK) console.log('bench: --quick, tiny settings: this shows that the bench runs, its figures mean nothing');
  // On a 2-core machine the Workers and the load fight for CPU: workerd on CPU 0, the origin and the load on CPU 1.
  console.log(
    (await pinWorkersAndLoad())
      ? 'pinned: workerd on CPU 0; origin and load on CPU 1'
      : 'not pinned (taskset missing or one CPU): expect more noise',
  );
  if (!AUDIT_ONLY) {
    await proxyBench({ rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, quick: QUICK }, disposers);
    await disposeAll();
    console.log('\n## Bundle and startup\n');
    await startupBench(QUICK);
    await policyScaleBench(QUICK);
  }
  if (!SKIP_AUDIT) console.log('\n## Audit log\n');
  if (!SKIP_AUDIT) await auditBench(QUICK);
  console.log(`bench: done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
} catch (e) {
  // A failure, plainly; on Ctrl-C the children are already being stopped, so say nothing more.
  if (!stoppingFor())
    console.error(`bench: failed after ${((performance.now() - started) / 1000).toFixed(0)} s: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
} finally {
  await disposeAll();
}
// Whatever still holds the event loop (a Worker that would not dispose) must not keep the bench alive;
// the exit handler of process-group.ts stops anything left.
if (!stoppingFor()) process.exit();
