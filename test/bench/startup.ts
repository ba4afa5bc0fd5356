/**
 * @module The bundle-and-startup part of the bench (docs/benchmarks.md, "Bundle and startup"): the
 * size of what `wrangler deploy` uploads, minified and not (and gzipped), and the cold start of
 * Stepgate against the bare pass-through Worker, alternated in one run. `npx tsx test/bench/startup.ts
 * [--quick]` runs it alone.
 *
 * Startup, per fresh Miniflare instance (its own workerd process): workerd's CPU time (all its threads,
 * from /proc/<pid>/task/<tid>/schedstat, nanoseconds) when it is ready to serve, i.e. after it has
 * compiled and evaluated the Worker's script; the wall time until then; and the first request's wall
 * time and workerd CPU. workerd's own boot (and Miniflare's helper Workers) is in both Workers'
 * figures, so Stepgate minus bare is the cost of Stepgate's script: parse, compile and global
 * initialisation. Instances alternate (bare, Stepgate, Stepgate, bare, …); medians are reported.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { transform } from 'esbuild';
import { Miniflare } from 'miniflare';
import { spawnGroup, stopGroup } from '../../edge/node/dev/process-group';
import { bundleWorker, ROOT, startGateway } from '../support/miniflare-gateway';

const SECRET = 'bench-only-identity-secret-0123456789abcdef';
/**
 * The figures before issue 15's cuts (docs/benchmarks.md, "Bundle and startup"), the baselines of the
 * verdicts: `wrangler deploy --dry-run --minify` of that commit, and the median import CPU over 20
 * pairs measured by this bench (BENCH_STARTUP_BUNDLE) in the same session as the figures after.
 */
const BEFORE = { minifiedBytes: 1_521_482, importCpuMs: 148.5 };
const TARGET_MINIFIED = 600 * 1024;

// wrangler without network chatter (as edge/node/dev/start.ts runs it).
const wranglerEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  NO_COLOR: '1',
  CI: 'true',
};

/** `wrangler deploy --dry-run --outdir` (what deploys), in its own process group; the script's path. */
async function deployBuild(extra: string[]): Promise<string> {
  const outdir = mkdtempSync(join(tmpdir(), 'stepgate-deploy-'));
  const child = spawnGroup('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', outdir, ...extra], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: wranglerEnv,
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d));
  child.stderr!.on('data', (d: Buffer) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve)).finally(() => stopGroup(child, 1000));
  if (code !== 0) throw new Error(`wrangler deploy --dry-run ${extra.join(' ')} failed (${code}):\n${output.slice(-2000)}`);
  return join(outdir, 'index.js');
}

/** Whether wrangler.toml asks for a minified deploy (its top-level `minify`, before any [section]). */
const deployMinifies = (): boolean => /^minify\s*=\s*true\b/m.test(readFileSync(join(ROOT, 'wrangler.toml'), 'utf8').split(/^\[/m)[0]!);

/** workerd's CPU so far, ms: the sum over its threads of on-CPU time (schedstat, ns). */
function cpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* the thread ended */
    }
  }
  return ns / 1e6;
}

const run = promisify(execFile);
/** workerd processes that are children of this process (Miniflare spawns one per instance). */
async function workerdPids(): Promise<Set<number>> {
  const { stdout } = await run('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)]).catch(() => ({ stdout: '' }));
  return new Set(
    stdout
      .split('\n')
      .filter((l) => l.includes('workerd'))
      .map((l) => Number(l.trim().split(/\s+/)[0])),
  );
}

interface ColdStart {
  readyCpuMs: number;
  firstMs: number;
  firstCpuMs: number;
}

type Kind = 'bare' | 'stepgate';
const KINDS = ['bare', 'stepgate'] as const;
/** Alternation: bare first in even rounds, Stepgate first in odd ones (ABBA over two rounds). */
const abba = (i: number): readonly Kind[] => (i % 2 === 0 ? KINDS : [...KINDS].reverse());
const name = (k: Kind, label: string) => (k === 'bare' ? 'bare pass-through' : `Stepgate (${label})`);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One cold start: a fresh workerd, ready, then one request forwarded to the origin. Disposed before it returns. */
async function coldStart(kind: Kind, script: string, originUrl: string, disposers: Set<() => Promise<void>>): Promise<ColdStart> {
  const before = await workerdPids();
  let stop: (() => Promise<void>) | null = null;
  let ready = { cpu: 0, pid: 0 };
  const onReady = async (m: Miniflare) => {
    stop = () => m.dispose();
    disposers.add(stop);
    const pid = [...(await workerdPids())].find((p) => !before.has(p));
    if (pid === undefined) throw new Error('startup bench: no new workerd process found');
    ready = { cpu: cpuMs(pid), pid };
  };
  try {
    let url: URL;
    if (kind === 'stepgate') {
      // Without Miniflare's assets router (a local hop a deployed Worker does not have): the script's own startup.
      // The harness's migrations Worker beside it (a few lines) is in this workerd's CPU too; it is not in the import figures.
      ({ url } = await startGateway({ originUrl, jwtSecret: SECRET, scriptPath: script, onReady, pageScriptAssets: false }));
    } else {
      const m = new Miniflare({
        modules: true,
        scriptPath: script,
        modulesRoot: dirname(script),
        compatibilityDate: '2026-04-20',
        bindings: { ORIGIN_URL: originUrl },
        host: '127.0.0.1',
        port: 0,
        cf: false,
      });
      url = await m.ready;
      await onReady(m);
    }
    // The first request: Stepgate's lazy work (its policy, keys, first D1 reads) happens here.
    const cpu0 = cpuMs(ready.pid);
    const t1 = performance.now();
    const res = await fetch(new URL('/api/projects', url));
    await res.arrayBuffer();
    const firstMs = performance.now() - t1;
    if (res.status !== 200) throw new Error(`startup bench: ${kind}'s first request answered ${res.status}`);
    return { readyCpuMs: ready.cpu, firstMs, firstCpuMs: cpuMs(ready.pid) - cpu0 };
  } finally {
    const s = stop as (() => Promise<void>) | null;
    if (s) {
      disposers.delete(s);
      await s();
    }
  }
}

/**
 * A copy of a bundle that Node can import: `cloudflare:workers` (only its DurableObject base class is
 * used at load time) replaced by a stub beside it.
 */
function nodeImportable(script: string, dir: string, name: string): string {
  const text = readFileSync(script, 'utf8').replace(/from\s*"cloudflare:workers"/g, 'from "./cf-stub.mjs"');
  writeFileSync(join(dir, 'cf-stub.mjs'), 'export class DurableObject { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }\n');
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

// Run in a fresh Node process: the wall and CPU time (all threads) of importing the module, i.e. V8's
// parse, compile and the module's top-level evaluation, plus reading the file.
const IMPORT_JS = `const c0 = process.cpuUsage(); const t0 = performance.now();
import(require('node:url').pathToFileURL(process.argv[1]).href).then(() => {
  const c = process.cpuUsage(c0);
  console.log(JSON.stringify({ ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 }));
});`;
async function nodeImport(file: string): Promise<{ ms: number; cpuMs: number }> {
  const child = spawnGroup(process.execPath, ['-e', IMPORT_JS, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve)).finally(() => stopGroup(child, 1000));
  if (code !== 0) throw new Error(`startup bench: importing ${file} in Node failed (${code}): ${err.slice(-1000)}`);
  return JSON.parse(out) as { ms: number; cpuMs: number };
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;

/** Print the bundle and startup tables, with one verdict per target. */
export async function startupBench(quick: boolean): Promise<void> {
  const IMPORTS = Number(process.env.BENCH_STARTUP_IMPORTS ?? (quick ? 3 : 20));
  const COLD = Number(process.env.BENCH_STARTUP_RUNS ?? (quick ? 1 : 8));
  for (const [name, v] of Object.entries({ BENCH_STARTUP_IMPORTS: IMPORTS, BENCH_STARTUP_RUNS: COLD })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`bench: ${name} must be a whole number ≥ 1, not ${v}`);
  }
  const disposers = new Set<() => Promise<void>>();
  const dirs: string[] = [];
  const origin = createServer((_q, r) => r.end('[{"id":1,"name":"Apollo"}]'));
  try {
    // Sizes: wrangler's own bundle, both ways; the one wrangler.toml selects is what deploys. --quick
    // runs wrangler once (what deploys) and makes the other way with esbuild from it.
    // BENCH_STARTUP_BUNDLE: measure a script built elsewhere (e.g. of an older commit) instead.
    const given = process.env.BENCH_STARTUP_BUNDLE;
    const deployed = given ?? (await deployBuild([]));
    // A minified script has few, long lines.
    const deploysMinified = given ? readFileSync(given, 'utf8').split('\n').length < statSync(given).size / 2000 : deployMinifies();
    if (!given) dirs.push(dirname(deployed));
    let other: string;
    if (quick || given) {
      other = join(mkdtempSync(join(tmpdir(), 'stepgate-other-')), 'index.js');
      dirs.push(dirname(other));
      const { code } = await transform(readFileSync(deployed, 'utf8'), { format: 'esm', minify: !deploysMinified, target: 'es2022' });
      writeFileSync(other, code);
    } else {
      other = await deployBuild([deploysMinified ? '--no-minify' : '--minify']);
      dirs.push(dirname(other));
    }
    const [minified, plain] = deploysMinified ? [deployed, other] : [other, deployed];
    const label = deploysMinified ? 'minified' : 'unminified';
    console.log('\n### Bundle (wrangler deploy --dry-run)\n');
    console.log('| build | bytes | gzip |\n|---|---:|---:|');
    for (const [name, file] of [
      ['unminified', plain],
      ['minified', minified],
    ] as const) {
      const text = readFileSync(file);
      const how = file === deployed ? ' (deploys)' : quick || given ? ' (esbuild from it)' : '';
      console.log(row([`${name}${how}`, `${text.length} (${kb(text.length)})`, kb(gzipSync(text).length)]));
    }

    const bare = await bundleWorker('test/bench/bare-worker.ts');
    dirs.push(dirname(bare));
    const work = mkdtempSync(join(tmpdir(), 'stepgate-startup-'));
    dirs.push(work);
    const scripts = { bare, stepgate: deployed };
    const importable = { bare: nodeImportable(bare, work, 'bare.mjs'), stepgate: nodeImportable(deployed, work, 'stepgate.mjs') };

    // V8 parse + compile + top-level evaluation, in fresh Node processes, alternated.
    const imports: Record<Kind, { ms: number; cpuMs: number }[]> = { bare: [], stepgate: [] };
    await nodeImport(importable.stepgate); // warm the file cache
    for (let i = 0; i < IMPORTS; i++) for (const k of abba(i)) imports[k].push(await nodeImport(importable[k]));
    const importCpu = median(imports.stepgate.map((s, i) => s.cpuMs - imports.bare[i]!.cpuMs));
    console.log(`\n### Startup: importing the bundle in a fresh Node process (V8), median of ${IMPORTS} each, alternated\n`);
    console.log('| worker | import wall ms | import CPU ms |\n|---|---:|---:|');
    for (const k of KINDS)
      console.log(row([name(k, label), median(imports[k].map((s) => s.ms)).toFixed(1), median(imports[k].map((s) => s.cpuMs)).toFixed(1)]));

    // Cold starts under workerd.
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const originUrl = `http://127.0.0.1:${(origin.address() as { port: number }).port}`;
    const cold: Record<Kind, ColdStart[]> = { bare: [], stepgate: [] };
    const start = (k: Kind) => coldStart(k, scripts[k], originUrl, disposers);
    for (let i = 0; i < COLD; i++) for (const k of abba(i)) cold[k].push(await start(k));
    const m = (k: Kind, f: keyof ColdStart) => median(cold[k].map((s) => s[f])).toFixed(1);
    console.log(`\n### Startup: fresh workerd under Miniflare, median of ${COLD} each, alternated\n`);
    console.log('| worker | workerd CPU until ready ms | first request ms | first request workerd CPU ms |\n|---|---:|---:|---:|');
    for (const k of KINDS) console.log(row([name(k, label), m(k, 'readyCpuMs'), m(k, 'firstMs'), m(k, 'firstCpuMs')]));
    const readyCpu = median(cold.stepgate.map((s, i) => s.readyCpuMs - cold.bare[i]!.readyCpuMs));

    const size = statSync(minified).size;
    const note = quick ? ' (--quick: the timings mean little)' : '';
    const ms = (x: number) => `${x.toFixed(1)} ms`;
    const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
    const half = BEFORE.importCpuMs / 2;
    console.log(`\nStepgate's script, Stepgate − bare (median of pairs): ${ms(importCpu)} CPU to import in Node;`);
    console.log(`${ms(readyCpu)} more workerd CPU until ready (Stepgate's workerd also starts D1 and Durable Objects)`);
    console.log(
      `- minified ${kb(size)}: target ≤ ${kb(TARGET_MINIFIED)} ${verdict(size <= TARGET_MINIFIED)} (before: ${kb(BEFORE.minifiedBytes)})`,
    );
    const startup = `- startup CPU (import, Stepgate − bare) ${ms(importCpu)}, before ${ms(BEFORE.importCpuMs)}`;
    console.log(`${startup}: target ≤ ${ms(half)} ${verdict(importCpu <= half)}${note}`);
  } finally {
    await Promise.allSettled([...disposers].map((d) => d()));
    origin.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await startupBench(process.argv.includes('--quick') || process.env.BENCH_QUICK === '1');
}
