/**
 * @module The bench's load and measurement tools: a small origin in its own process, one load run
 * from a separate process (wrk when installed, else autocannon) with any method, headers and body,
 * and workerd's CPU time from /proc. Everything started here runs in a process group that the caller
 * stops (edge/node/dev/process-group.ts), on success, failure and Ctrl-C.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnGroup, stopGroup } from '../../edge/node/dev/process-group';

const run = promisify(execFile);

export interface Sample {
  rps: number;
  /** workerd CPU time per request, microseconds: the Worker's own cost (with its Durable Objects and local D1). */
  cpuUs: number;
  p50: number;
  p99: number;
  errors: number;
}

/** What one load run sends. */
export interface Target {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadSettings {
  seconds: number;
  connections: number;
}

let pinnedLoad = false;
const pinned = (cmd: string, args: string[]): [string, string[]] => (pinnedLoad ? ['taskset', ['-c', '1', cmd, ...args]] : [cmd, args]);

/**
 * On a machine with two CPUs or more, pin this process (and the workerd it spawns) to CPU 0, and the
 * origin and load generator started after this to CPU 1, so a ratio measures the Workers' own cost
 * rather than scheduler noise; true if pinned.
 */
export async function pinWorkersAndLoad(): Promise<boolean> {
  const can =
    cpus().length >= 2 &&
    (await run('taskset', ['-V']).then(
      () => true,
      () => false,
    ));
  if (can) await run('taskset', ['-p', '-c', '0', String(process.pid)]);
  pinnedLoad = can;
  return can;
}

// A small, fast origin in its own process, so the measurement is the Workers' cost, not the app's.
// It also exits when its stdin closes, i.e. when the bench is gone, even after a SIGKILL.
const ORIGIN_JS = `
const body = JSON.stringify([{ id: 1, name: 'Apollo' }, { id: 2, name: 'Borealis' }]);
const s = require('node:http').createServer((q, r) => {
  q.resume();
  q.on('end', () => {
    r.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    r.end(body);
  });
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
process.stdin.on('end', () => process.exit(0)).resume();`;

/** Start the origin; its URL, and the process to stop. */
export async function startOrigin(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawnGroup(...pinned(process.execPath, ['-e', ORIGIN_JS]), { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the bench origin exited (${code}) before it listened`)));
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

/** Run a command to completion in its own process group (stopped with the bench); its stdout. */
export async function runGroup(cmd: string, cmdArgs: string[]): Promise<string> {
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

/** workerd processes started by this process (Miniflare spawns one per instance). */
export async function workerdPids(): Promise<Set<number>> {
  const { stdout } = await run('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)]).catch(() => ({ stdout: '' }));
  return new Set(
    stdout
      .split('\n')
      .filter((l) => l.includes('workerd'))
      .map((l) => Number(l.trim().split(/\s+/)[0])),
  );
}
export const newPid = async (before: Set<number>) => [...(await workerdPids())].find((p) => !before.has(p)) ?? null;

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number | null): number {
  if (pid === null) return NaN;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

const hasWrk = run('wrk', ['--version']).then(
  () => true,
  (e: { stdout?: string }) => /^wrk /.test(e.stdout ?? ''), // wrk --version exits 1
);
/** The load generator this machine has. */
export const loadTool = async () => ((await hasWrk) ? 'wrk' : 'autocannon');

const luaString = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
let luaDir: string | null = null;
/** A wrk script that sends `t`'s method, headers and body. */
function wrkScript(t: Target): string {
  luaDir ??= mkdtempSync(join(tmpdir(), 'stepgate-bench-'));
  const lines = [`wrk.method = ${luaString(t.method ?? 'GET')}`];
  for (const [k, v] of Object.entries(t.headers ?? {})) lines.push(`wrk.headers[${luaString(k)}] = ${luaString(v)}`);
  if (t.body !== undefined) lines.push(`wrk.body = ${luaString(t.body)}`);
  const file = join(luaDir, `t${Math.random().toString(36).slice(2)}.lua`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const ms = (v: string, unit: string) => Number(v) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1);

/** One load run from a separate process, CPU 1 when pinned. */
export async function load(t: Target, s: LoadSettings): Promise<Sample> {
  if (await hasWrk) {
    const stdout = await runGroup(
      ...pinned('wrk', ['-t1', `-c${s.connections}`, `-d${s.seconds}s`, '--latency', '-s', wrkScript(t), t.url]),
    );
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
    const p = (q: string) => {
      const m = new RegExp(`\\s${q}%\\s+([\\d.]+)(us|ms|s)`).exec(stdout);
      return m ? ms(m[1]!, m[2]!) : NaN;
    };
    const errors =
      Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0) + Number(/Socket errors: .*?(\d+)/.exec(stdout)?.[1] ?? 0);
    return { rps, cpuUs: NaN, p50: p('50'), p99: p('99'), errors };
  }
  const autocannon = createRequire(import.meta.url).resolve('autocannon');
  const args = ['--json', '-c', String(s.connections), '-d', String(s.seconds), '-m', t.method ?? 'GET'];
  for (const [k, v] of Object.entries(t.headers ?? {})) args.push('-H', `${k}=${v}`);
  if (t.body !== undefined) args.push('-b', t.body);
  const stdout = await runGroup(...pinned(process.execPath, [autocannon, ...args, t.url]));
  const r = JSON.parse(stdout) as {
    requests: { average: number };
    latency: { p50: number; p99: number };
    errors: number;
    non2xx: number;
  };
  return { rps: r.requests.average, cpuUs: NaN, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
