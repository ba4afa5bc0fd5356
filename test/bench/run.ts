/**
 * @module `npm run bench`: throughput and latency of Stepgate vs a bare pass-through Hono Worker,
 * both under Miniflare (workerd) against the same local origin, load from a separate autocannon
 * process on loopback, rounds alternated so both see the same machine. Prints the ratios.
 * Then the audit log (test/bench/audit.ts): append throughput through the AuditSequencer, and
 * filtered listing and chain verification over a seeded 100,000-event tenant.
 *
 * `npm run bench -- --audit-only` (or BENCH_AUDIT_ONLY=1) runs only the audit part;
 * `--no-audit` (or BENCH_AUDIT=0) only the proxy part; `--quick` (or BENCH_QUICK=1) tiny settings
 * that only show that everything runs (.ci/run); `--rounds N`, `--seconds N` override BENCH_ROUNDS, BENCH_SECONDS.
 *
 * Nothing it starts outlives it (edge/node/dev/process-group.ts): the origin and the load generator run
 * in process groups that are stopped on success, failure and Ctrl-C, and Miniflare stops workerd.
 * BENCH_FAIL_AFTER_START=1 makes it fail once everything runs (test/node/bench-cleanup.test.ts).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Miniflare } from 'miniflare';
import { spawnGroup, stopGroup, stoppingFor } from '../../edge/node/dev/process-group';
import { bundleWorker, startGateway } from '../support/miniflare-gateway';
import { auditBench } from './audit';

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
const SECRET = 'bench-only-identity-secret-0123456789abcdef';

interface Sample {
  rps: number;
  /** workerd CPU time per request, microseconds: the Worker's own cost, immune to load-generator noise. */
  cpuUs: number;
  p50: number;
  p99: number;
  errors: number;
}

// On a 2-core machine the Workers and the load fight for CPU; pin the Workers (this process and
// the workerd children it spawns) to CPU 0 and the origin and load generator to CPU 1, so the
// ratio measures the Workers' own cost rather than scheduler noise.
const run = promisify(execFile);
const canPin =
  cpus().length >= 2 &&
  (await run('taskset', ['-V']).then(
    () => true,
    () => false,
  ));
if (canPin) await run('taskset', ['-p', '-c', '0', String(process.pid)]);
const pinned = (cmd: string, args: string[]): [string, string[]] => (canPin ? ['taskset', ['-c', '1', cmd, ...args]] : [cmd, args]);

// A small, fast origin in its own process, so the measurement is the Workers' cost, not the app's.
// It also exits when its stdin closes, i.e. when the bench is gone, even after a SIGKILL.
const ORIGIN_JS = `
const body = JSON.stringify([{ id: 1, name: 'Apollo' }, { id: 2, name: 'Borealis' }]);
const s = require('node:http').createServer((_q, r) => {
  r.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  r.end(body);
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
process.stdin.on('end', () => process.exit(0)).resume();`;

/** What proxyBench has started, stopped at its end, or by the top level's `finally` on a failure. */
const disposers = new Set<() => Promise<unknown>>();
const disposeAll = async () => {
  const all = [...disposers];
  disposers.clear();
  await Promise.allSettled(all.map((d) => d()));
};

/** Run a command to completion in its own process group (stopped with the bench); its stdout. */
async function runGroup(cmd: string, cmdArgs: string[]): Promise<string> {
  const child = spawnGroup(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  try {
    const code = await new Promise<number | null>((resolve, reject) => child.once('error', reject).once('close', resolve));
    // wrk --version exits 1; callers that care look at the output.
    if (code !== 0 && !stdout) throw new Error(`${cmd} ${cmdArgs.join(' ')} exited with ${code}: ${stderr.trim().slice(-500)}`);
    return stdout;
  } finally {
    await stopGroup(child, 0);
  }
}

/** The proxy-overhead bench: Stepgate vs a bare pass-through Worker (the original `npm run bench`). */
async function proxyBench(): Promise<void> {
  const [ocmd, oargs] = pinned(process.execPath, ['-e', ORIGIN_JS]);
  const origin = spawnGroup(ocmd, oargs, { stdio: ['pipe', 'pipe', 'inherit'] });
  disposers.add(() => stopGroup(origin, 2000));
  const originPort = await new Promise<string>((resolve, reject) => {
    origin.once('exit', (code) => reject(new Error(`the bench origin exited (${code}) before it listened`)));
    origin.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
  });
  const originUrl = `http://127.0.0.1:${originPort}`;

  /** workerd processes started by this process (Miniflare spawns one per instance). */
  const workerdPids = async (): Promise<Set<number>> => {
    const { stdout } = await run('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)]).catch(() => ({ stdout: '' }));
    return new Set(
      stdout
        .split('\n')
        .filter((l) => l.includes('workerd'))
        .map((l) => Number(l.trim().split(/\s+/)[0])),
    );
  };
  const newPid = async (before: Set<number>) => [...(await workerdPids())].find((p) => !before.has(p)) ?? null;
  /** CPU seconds (user + system) a process has used so far, from /proc. */
  const cpuSeconds = (pid: number | null): number => {
    if (pid === null) return NaN;
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      return NaN;
    }
  };

  const bareScript = await bundleWorker('test/bench/bare-worker.ts');
  const beforeBare = await workerdPids();
  const bare = new Miniflare({
    modules: true,
    scriptPath: bareScript,
    modulesRoot: dirname(bareScript),
    compatibilityDate: '2026-04-20',
    bindings: { ORIGIN_URL: originUrl },
    host: '127.0.0.1',
    port: 0,
    cf: false, // as startGateway: no download of the Request.cf object
  });
  disposers.add(() => bare.dispose());
  const bareUrl = await bare.ready;
  const barePid = await newPid(beforeBare);
  const beforeSg = await workerdPids();
  const stepgate = await startGateway({ originUrl, jwtSecret: SECRET });
  disposers.add(() => stepgate.dispose());
  const sgPid = await newPid(beforeSg);
  if (process.env.BENCH_FAIL_AFTER_START === '1')
    throw new Error('BENCH_FAIL_AFTER_START=1: failing with the origin and both Workers running');

  const hasWrk = await promisify(execFile)('wrk', ['--version']).then(
    () => true,
    (e: { stdout?: string }) => /^wrk /.test(e.stdout ?? ''), // wrk --version exits 1
  );
  const autocannon = createRequire(import.meta.url).resolve('autocannon');

  const ms = (v: string, unit: string) => Number(v) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1);

  /** One load run from a separate process: wrk (C, light on a 2-core machine) when installed, else autocannon. */
  async function load(url: string): Promise<Sample> {
    if (hasWrk) {
      const stdout = await runGroup(...pinned('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', url]));
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
      const p = (q: string) => {
        const m = new RegExp(`\\s${q}%\\s+([\\d.]+)(us|ms|s)`).exec(stdout);
        return m ? ms(m[1]!, m[2]!) : NaN;
      };
      const errors =
        Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0) + Number(/Socket errors: .*?(\d+)/.exec(stdout)?.[1] ?? 0);
      return { rps, cpuUs: NaN, p50: p('50'), p99: p('99'), errors };
    }
    const stdout = await runGroup(
      ...pinned(process.execPath, [autocannon, '--json', '-c', String(CONNECTIONS), '-d', String(SECONDS), url]),
    );
    const r = JSON.parse(stdout) as {
      requests: { average: number };
      latency: { p50: number; p99: number };
      errors: number;
      non2xx: number;
    };
    return { rps: r.requests.average, cpuUs: NaN, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const path = '/api/projects';
  const results: Record<'bare' | 'stepgate', Sample[]> = { bare: [], stepgate: [] };

  console.log(canPin ? 'pinned: workerd on CPU 0; origin and load on CPU 1' : 'not pinned (taskset missing or one CPU): expect more noise');
  console.log(
    `bench: ${ROUNDS} ABBA blocks × 4 runs × ${SECONDS}s, ${CONNECTIONS} connections, ` +
      `GET ${path} (unprotected), load by ${hasWrk ? 'wrk' : 'autocannon'}`,
  );
  await load(new URL(path, bareUrl).href); // warm-up, discarded
  await load(new URL(path, stepgate.url).href);
  // ABBA blocks (bare, Stepgate, Stepgate, bare) cancel drift that is linear in time, which on a
  // shared VM is larger than the effect being measured.
  const blockRatios: number[] = [];
  const cpuRatios: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const block: Record<'bare' | 'stepgate', Sample[]> = { bare: [], stepgate: [] };
    for (const name of ['bare', 'stepgate', 'stepgate', 'bare'] as const) {
      const pid = name === 'bare' ? barePid : sgPid;
      const cpu0 = cpuSeconds(pid);
      const s = await load(new URL(path, name === 'bare' ? bareUrl : stepgate.url).href);
      s.cpuUs = ((cpuSeconds(pid) - cpu0) * 1e6) / (s.rps * SECONDS);
      block[name].push(s);
      results[name].push(s);
      console.log(
        `  block ${i + 1} ${name.padEnd(8)} ${s.rps.toFixed(0).padStart(6)} req/s  ` +
          `${s.cpuUs.toFixed(0).padStart(4)} µs CPU/req  p50 ${s.p50} ms  p99 ${s.p99} ms  errors ${s.errors}`,
      );
    }
    const sum = (xs: Sample[], f: (x: Sample) => number) => xs.reduce((a, x) => a + f(x), 0);
    blockRatios.push(sum(block.stepgate, (x) => x.rps) / sum(block.bare, (x) => x.rps));
    cpuRatios.push(sum(block.bare, (x) => x.cpuUs) / sum(block.stepgate, (x) => x.cpuUs));
  }

  const summary = (xs: Sample[]) => ({
    rps: median(xs.map((x) => x.rps)),
    cpuUs: median(xs.map((x) => x.cpuUs)),
    p50: median(xs.map((x) => x.p50)),
    p99: median(xs.map((x) => x.p99)),
    errors: xs.reduce((a, x) => a + x.errors, 0),
  });
  const b = summary(results.bare);
  const s = summary(results.stepgate);
  const ratio = median(blockRatios);
  console.log('');
  console.log('| worker | req/s (median) | workerd CPU µs/req | p50 ms | p99 ms | errors |');
  console.log('|---|---:|---:|---:|---:|---:|');
  console.log(`| bare pass-through Hono | ${b.rps.toFixed(0)} | ${b.cpuUs.toFixed(0)} | ${b.p50} | ${b.p99} | ${b.errors} |`);
  console.log(`| Stepgate (unprotected route) | ${s.rps.toFixed(0)} | ${s.cpuUs.toFixed(0)} | ${s.p50} | ${s.p99} | ${s.errors} |`);
  console.log('');
  console.log(
    `throughput ratio Stepgate/bare (median of ${ROUNDS} ABBA ` +
      `blocks: ${blockRatios.map((r) => r.toFixed(3)).join(', ')}): ${ratio.toFixed(3)}× ` +
      `(target ≥ 0.95×) ${QUICK ? '(not judged with --quick)' : ratio >= 0.95 ? 'MET' : 'NOT MET'}`,
  );
  console.log(`p50 latency ratio: ${(s.p50 / b.p50).toFixed(2)}×`);
  const cpuRatio = median(cpuRatios);
  console.log(
    `CPU efficiency ratio bare/Stepgate (median of ABBA blocks): ${cpuRatio.toFixed(3)}× — ` +
      `the throughput ratio workerd would reach if it were the only bottleneck`,
  );

  await disposeAll();
}

const started = performance.now();
try {
  if (QUICK) console.log('bench: --quick, tiny settings: this shows that the bench runs, its figures mean nothing');
  if (!AUDIT_ONLY) await proxyBench();
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
