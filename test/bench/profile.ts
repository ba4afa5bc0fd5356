/**
 * @module `npm run bench:profile`: where a protected request's CPU goes. Starts the gateway under
 * Miniflare with workerd's V8 inspector open, obtains a session grant, and records a CPU profile
 * (the inspector's Profiler domain) of every isolate workerd runs — the gateway with its Durable
 * Objects, and Miniflare's local D1 — while the load generator sends `POST /admin/settings` with the
 * grant (BENCH_PROFILE_PATH=open: `GET /api/projects`, unprotected). Prints the top functions by self
 * time per isolate, grouped by source file, and writes the .cpuprofile files (open them in Chrome's
 * DevTools) to a temporary directory it names. Everything it starts stops with it.
 * BENCH_PROFILE_SCRIPT=path profiles that bundle instead of this tree's (an unminified build names
 * the gateway's functions; a build of another checkout compares a change).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { stopGroup, stoppingFor } from '../../edge/node/dev/process-group';
import { startGateway } from '../support/miniflare-gateway';
import { load, pinWorkersAndLoad, startOrigin } from './load';
import { FORM, PROTECTED_BODY, PROTECTED_PATH, sessionGrantCookie } from './protected-setup';

const SECRET = 'bench-only-identity-secret-0123456789abcdef';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** A minimal CDP session over the inspector's WebSocket. */
function cdp(url: string) {
  const ws = new WebSocket(url);
  let id = 0;
  const waiting = new Map<number, (r: { result?: unknown; error?: unknown }) => void>();
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as { id?: number; result?: unknown; error?: unknown };
    if (m.id !== undefined) waiting.get(m.id)?.(m);
  });
  const opened = new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  return {
    async send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
      await opened;
      const n = ++id;
      const r = await new Promise<{ result?: unknown; error?: unknown }>((resolve) => {
        waiting.set(n, resolve);
        ws.send(JSON.stringify({ id: n, method, params }));
      });
      if (r.error) throw new Error(`${method}: ${JSON.stringify(r.error)}`);
      return r.result as T;
    },
    close: () => ws.close(),
  };
}

/** Self time per function and per file, in ms, from a V8 CPU profile. */
function selfTimes(p: Profile) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const samples = p.samples ?? [];
  for (let i = 0; i < samples.length; i++) self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + (p.timeDeltas?.[i] ?? 0) / 1000);
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  for (const [nid, t] of self) {
    const n = byId.get(nid)!;
    const f = n.callFrame;
    const where = f.url ? f.url.replace(/^.*\/(node_modules\/)?/, '') : '(native)';
    const key = `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + t);
    if (!/^\((idle|program|garbage collector)\)$/.test(f.functionName)) total += t;
    const group = /^\((idle|program|garbage collector)\)$/.test(f.functionName) ? f.functionName : where;
    file.set(group, (file.get(group) ?? 0) + t);
  }
  return { fn, file, total };
}

const disposers: (() => Promise<unknown>)[] = [];
try {
  const pinned = await pinWorkersAndLoad();
  const origin = await startOrigin();
  disposers.push(() => stopGroup(origin.child, 2000));
  const inspectorPort = await freePort();
  // Without Miniflare's assets router, a hop a deployed Worker does not have (test/support/miniflare-gateway.ts).
  const gw = await startGateway({
    originUrl: origin.url,
    jwtSecret: SECRET,
    inspectorPort,
    scriptPath: process.env.BENCH_PROFILE_SCRIPT,
    pageScriptAssets: false,
  });
  disposers.push(() => gw.dispose());
  const open = process.env.BENCH_PROFILE_PATH === 'open';
  const cookie = open ? '' : await sessionGrantCookie(gw.url, SECRET, 'bench-profile');
  const target = open
    ? { url: new URL('/api/projects', gw.url).href }
    : { url: new URL(PROTECTED_PATH, gw.url).href, method: 'POST', headers: { cookie, 'content-type': FORM }, body: PROTECTED_BODY };
  await load(target, { seconds: 2, connections: 16 }); // warm-up

  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as {
    title: string;
    webSocketDebuggerUrl: string;
  }[];
  const sessions = targets.map((t) => ({ title: t.title, s: cdp(t.webSocketDebuggerUrl) }));
  for (const { s } of sessions) {
    await s.send('Profiler.enable');
    await s.send('Profiler.setSamplingInterval', { interval: 100 });
    await s.send('Profiler.start');
  }
  const sample = await load(target, { seconds: SECONDS, connections: 16 });
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-profile-'));
  console.log(
    `profile: ${open ? 'GET /api/projects (unprotected)' : 'POST /admin/settings with a session grant'}, ${SECONDS}s, ` +
      `${sample.rps.toFixed(0)} req/s, p50 ${sample.p50} ms${pinned ? ', workerd pinned to CPU 0' : ''}; profiles in ${dir}`,
  );
  const requests = sample.rps * SECONDS;
  for (const { title, s } of sessions) {
    const { profile } = await s.send<{ profile: Profile }>('Profiler.stop');
    s.close();
    const name = title.replace(/[^\w.-]+/g, '_');
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    const { fn, file, total } = selfTimes(profile);
    if (total < 1) continue;
    console.log(`\n## isolate ${title}: ${((total * 1000) / requests).toFixed(0)} µs of JavaScript CPU per request`);
    console.log('| by file | µs/request |\n|---|---:|');
    for (const [k, v] of [...file].sort((a, b) => b[1] - a[1]).slice(0, 15))
      console.log(`| ${k} | ${((v * 1000) / requests).toFixed(1)} |`);
    console.log('\n| top functions (self time) | µs/request |\n|---|---:|');
    for (const [k, v] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`| ${k} | ${((v * 1000) / requests).toFixed(1)} |`);
  }
} catch (e) {
  if (!stoppingFor()) console.error(`profile: failed: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
} finally {
  await Promise.allSettled(disposers.reverse().map((d) => d()));
}
if (!stoppingFor()) process.exit();
