/**
 * @module `npm run fuzz`: every fuzz target (test/fuzz/targets.ts) for ≥ N cases each, in chunks so
 * Ctrl-C stops it between chunks with a report of what ran. Exits 1 on any failure, 130 on Ctrl-C.
 *
 *   npm run fuzz                             # 100,000 cases per target, a fresh seed
 *   npm run fuzz -- --runs 5000 --seed 42    # fewer cases, a fixed seed
 *   npm run fuzz -- --only canonical,body/json
 *   npm run fuzz -- --only body/form --replay 1234:17:0:3     # a failure's seed:path, as printed
 *   FUZZ_RUNS=20000 npm run fuzz
 */
import fc from 'fast-check';
import type { FuzzTarget } from './harness';
import { TARGETS } from './targets';

interface Args {
  runs: number;
  seed: number;
  only: string[];
  chunk: number;
  replay: string | null;
  list: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    runs: Number(process.env.FUZZ_RUNS ?? 100_000),
    seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31),
    only: [],
    chunk: 5000,
    replay: null,
    list: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--runs' || a === '-n') args.runs = Number(next().replaceAll('_', ''));
    else if (a === '--seed') args.seed = Number(next());
    else if (a === '--only') args.only.push(...next().split(','));
    else if (a === '--chunk') args.chunk = Number(next());
    else if (a === '--replay') args.replay = next();
    else if (a === '--list') args.list = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run fuzz -- [--runs N] [--seed S] [--only name,…] [--chunk N] [--replay seed:path] [--list]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error('--runs must be a positive integer');
  return args;
}

interface Result {
  target: FuzzTarget;
  cases: number;
  failure: string | null;
  ms: number;
  interrupted: boolean;
}

let interrupted = false;
let interruptedAt = 0;
/** What has run so far, for the summary (also printed from the signal handler, see below). */
const state = { seed: 0, started: 0, results: [] as Result[], current: null as FuzzTarget | null, summarized: false };

function summarize(): void {
  if (state.summarized) return;
  state.summarized = true;
  const failures = state.results.filter((r) => r.failure).length;
  const total = state.results.reduce((n, r) => n + r.cases, 0);
  const secs = ((performance.now() - state.started) / 1000).toFixed(1);
  console.log(
    `\n${interrupted ? 'interrupted: ' : ''}${fmt(total)} cases over ${state.results.length} targets, ` +
      `${failures} failure(s), ${secs} s, seed ${state.seed}`,
  );
}

process.on('SIGINT', () => {
  // One Ctrl-C can arrive twice (from the terminal and relayed by a wrapper): only a second one a
  // moment later means "quit at once".
  if (interrupted && Date.now() - interruptedAt > 1000) process.exit(130);
  if (interrupted) return;
  interrupted = true;
  interruptedAt = Date.now();
  console.error('\nInterrupted: stopping after the current chunk (Ctrl-C again to quit at once).');
  // Miniflare exits the process on SIGINT (after stopping workerd), so while a workerd target
  // runs, report now what has finished.
  if (state.current?.dispose) summarize();
});

const fmt = (n: number): string => n.toLocaleString('en-US');
const yieldToSignals = () => new Promise((r) => setImmediate(r));

async function runTarget(t: FuzzTarget, args: Args): Promise<Result> {
  const started = performance.now();
  const prop = await t.build();
  t.stats?.reset();
  const perRun = t.casesPerRun ?? 1;
  let cases = 0;
  let failure: string | null = null;
  for (let chunk = 0; cases < args.runs && !interrupted; chunk++) {
    const seed = (args.seed + chunk) | 0;
    const numRuns = Math.max(1, Math.min(args.chunk, Math.ceil((args.runs - cases) / perRun)));
    const before = t.stats?.cases ?? 0;
    const r = await fc.check(prop, { numRuns, seed });
    cases += perRun > 1 && t.stats ? t.stats.cases - before : r.numRuns;
    if (r.failed) {
      const err = r.errorInstance instanceof Error ? r.errorInstance.message : String(r.errorInstance ?? '');
      failure = [
        `counterexample: ${fc.stringify(r.counterexample)}`,
        `error: ${err}`,
        `replay: npm run fuzz -- --only ${t.name} --replay ${seed}:${r.counterexamplePath}`,
      ].join('\n    ');
      break;
    }
    await yieldToSignals();
  }
  return { target: t, cases, failure, ms: performance.now() - started, interrupted };
}

async function replay(t: FuzzTarget, spec: string): Promise<number> {
  const [seed, ...path] = spec.split(':');
  const r = await fc.check(await t.build(), { seed: Number(seed), path: path.join(':'), endOnFailure: true, numRuns: 1 });
  console.log(
    r.failed
      ? `${fc.defaultReportMessage(r)}\n${r.errorInstance instanceof Error ? r.errorInstance.message : ''}`
      : 'the replayed case passes',
  );
  return r.failed ? 1 : 0;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const targets = TARGETS.filter(
    (t) => args.only.length === 0 || args.only.some((o) => t.name === o || t.name.startsWith(o) || t.name.includes(o)),
  );
  if (args.list) {
    for (const t of TARGETS) console.log(`${t.name.padEnd(26)} ${t.parser}\n${''.padEnd(26)} oracle: ${t.oracle}`);
    return 0;
  }
  if (targets.length === 0) throw new Error(`no target matches ${args.only.join(',')}`);
  try {
    if (args.replay) {
      if (targets.length !== 1) throw new Error('--replay needs --only naming exactly one target');
      return await replay(targets[0]!, args.replay);
    }
    console.log(
      `fuzz: ${targets.length} targets, ${fmt(args.runs)} cases each, seed ${args.seed} ` +
        `(chunks of ${fmt(args.chunk)} runs, seeds ${args.seed}, ${args.seed + 1}, …)\n`,
    );
    state.seed = args.seed;
    state.started = performance.now();
    for (const t of targets) {
      if (interrupted) break;
      state.current = t;
      const r = await runTarget(t, args);
      state.current = null;
      state.results.push(r);
      const rate = r.cases / Math.max(r.ms / 1000, 1e-3);
      console.log(
        `${r.failure ? 'FAIL' : r.interrupted ? 'STOP' : 'ok  '} ${t.name.padEnd(26)} ${fmt(r.cases).padStart(9)} ` +
          `cases  ${r.failure ? 1 : 0} failures  ${(r.ms / 1000).toFixed(1).padStart(6)} s  (${fmt(Math.round(rate))}/s)`,
      );
      if (t.stats) console.log(`     ${t.stats.report()}`);
      const extra = t.extraReport?.();
      if (extra) console.log(`     ${extra}`);
      if (r.failure) console.log(`    ${r.failure}`);
    }
    summarize();
    if (interrupted) return 130;
    return state.results.some((r) => r.failure) ? 1 : 0;
  } finally {
    for (const t of targets) await t.dispose?.();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
