/**
 * @module Run `npm start` (edge/node/dev/start.ts: wrangler dev + demo app) on free ports, for end-to-end
 * tests. It runs in its own process group, stopped by stop(), or when the test process exits or is
 * interrupted (edge/node/dev/process-group.ts); start.ts in turn stops wrangler's group.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnGroup, stopGroup } from '../../edge/node/dev/process-group';
import { ROOT } from './miniflare-gateway';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

export interface StartedDemo {
  gateway: string;
  demo: string;
  output: () => string;
  stop(): Promise<void>;
}

/**
 * Start the quickstart exactly as `npm start` does, with isolated local state. One retry on fresh
 * ports: a free port found here can be taken by another process before wrangler binds it. `env`
 * adds to its environment (e.g. `STEPGATE_WEBAUTHN_ORIGINS`).
 */
export async function npmStart(timeoutMs = 120_000, env: Record<string, string> = {}): Promise<StartedDemo> {
  try {
    return await startOnce(timeoutMs, env);
  } catch (first) {
    console.warn(`npm start failed once, retrying: ${(first as Error).message.slice(0, 500)}`);
    return startOnce(timeoutMs, env);
  }
}

async function startOnce(timeoutMs: number, extraEnv: Record<string, string>): Promise<StartedDemo> {
  const [gp, dp, ip] = [await freePort(), await freePort(), await freePort()];
  const child: ChildProcess = spawnGroup(join(ROOT, 'node_modules/.bin/tsx'), ['edge/node/dev/start.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      STEPGATE_PORT: String(gp),
      DEMO_PORT: String(dp),
      STEPGATE_INSPECTOR_PORT: String(ip),
      STEPGATE_PERSIST_TO: mkdtempSync(join(tmpdir(), 'stepgate-state-')),
      NO_COLOR: '1',
      DEMO_INSPECT: '1',
      ...extraEnv,
    },
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  // SIGTERM lets start.ts stop wrangler's own group (3 s at most) before anything gets SIGKILL.
  const stop = () => stopGroup(child, 10_000);
  const deadline = Date.now() + timeoutMs;
  while (!out.includes(`stepgate: ready on http://localhost:${gp}`)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`npm start did not become ready:\n${out.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { gateway: `http://127.0.0.1:${gp}`, demo: `http://127.0.0.1:${dp}`, output: () => out, stop };
}
