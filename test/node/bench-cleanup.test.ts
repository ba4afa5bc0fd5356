/**
 * Nothing `npm run bench` starts outlives it: not on a failure, not on Ctrl-C, not on a SIGTERM to
 * the bench alone. The bench runs as a user runs it (`npm run bench -- --quick --no-audit`), with
 * a tag in its environment that every process it starts inherits (the origin, the load generator,
 * workerd); afterwards no process in /proc carries the tag, and the bench's stdout and stderr
 * pipes are closed, i.e. no leftover process still holds the terminal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { ROOT } from '../support/miniflare-gateway';

const TAG = 'STEPGATE_BENCH_CLEANUP_TAG';

/** PIDs of live processes (zombies have no environment) whose environment carries `tag`. */
const tagged = (tag: string): number[] =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(`${TAG}=${tag}`);
      } catch {
        return false; // gone, or not ours to read
      }
    })
    .map(Number);

const commandOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ');
  } catch {
    return '';
  }
};

const tags: string[] = [];
afterEach(() => {
  // A failing test must not leak either.
  for (const tag of tags.splice(0)) for (const pid of tagged(tag)) process.kill(pid, 'SIGKILL');
});

interface Bench {
  child: ChildProcess;
  tag: string;
  output: () => string;
  /** Resolves when both pipes have closed: every process holding them is gone. */
  closed: Promise<void>;
}

function startBench(env: Record<string, string> = {}): Bench {
  const tag = randomUUID();
  tags.push(tag);
  // Its own process group, like a command in a terminal: a group SIGINT is what Ctrl-C sends.
  const child = spawn('npm', ['run', 'bench', '--', '--quick', '--no-audit'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, [TAG]: tag, NO_COLOR: '1', ...env },
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const closed = Promise.all([
    new Promise<void>((r) => child.stdout!.once('close', r)),
    new Promise<void>((r) => child.stderr!.once('close', r)),
  ]).then(() => undefined);
  return { child, tag, output: () => out, closed };
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms))]);

async function waitForOutput(b: Bench, re: RegExp, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!re.test(b.output())) {
    if (b.child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${re} in the bench's output:\n${b.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The bench is gone, its pipes are closed, and nothing it started is left. */
async function expectNothingLeft(b: Bench): Promise<void> {
  await within(b.closed, 20_000, "the bench's stdout and stderr did not close");
  // Processes that just got SIGKILL can take a moment to leave /proc.
  await expect.poll(() => tagged(b.tag).map(commandOf), { timeout: 3000 }).toEqual([]);
}

it('a bench that fails once everything runs stops its origin, Workers and load generator', async () => {
  const b = startBench({ BENCH_FAIL_AFTER_START: '1' });
  await expectNothingLeft(b);
  expect(b.child.exitCode).not.toBe(0);
  expect(b.output()).toContain('bench: failed after');
  expect(b.output()).toContain('BENCH_FAIL_AFTER_START=1: failing with the origin and the Workers running');
}, 90_000);

it('Ctrl-C (SIGINT to the whole process group) mid-run leaves nothing behind', async () => {
  const b = startBench();
  // Under load: the origin, the workerd processes and the load generator are running.
  await waitForOutput(b, /bench: 1 palindromic blocks/);
  const running = tagged(b.tag).map(commandOf);
  expect(running.some((c) => c.includes('workerd'))).toBe(true);
  expect(running.some((c) => c.includes("require('node:http').createServer"))).toBe(true); // the origin
  process.kill(-b.child.pid!, 'SIGINT');
  await expectNothingLeft(b);
}, 90_000);

it('SIGTERM to the bench process alone leaves nothing behind', async () => {
  const b = startBench();
  await waitForOutput(b, /bench: 1 palindromic blocks/);
  // The node process that runs test/bench/run.ts (under tsx's loader), not npm, sh or tsx's launcher.
  const bench = tagged(b.tag).find((pid) => /--import \S*tsx\S*loader\S* test\/bench\/run\.ts/.test(commandOf(pid)));
  expect(bench, tagged(b.tag).map(commandOf).join('\n')).toBeDefined();
  process.kill(bench!, 'SIGTERM');
  await expectNothingLeft(b);
}, 90_000);
