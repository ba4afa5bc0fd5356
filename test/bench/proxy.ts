/**
 * @module The request-path bench: Stepgate against its peers in one run, each Worker under Miniflare
 * (workerd) against the same local origin, load from a separate process on loopback.
 *
 * - unprotected: `GET /api/projects` through Stepgate vs the bare pass-through Worker;
 * - protected with a session grant: `POST /admin/settings` (the demo's `admin-writes` rule) carrying a
 *   valid grant, vs the bare Worker and vs a Hono Worker that checks the session JWT with Hono's own
 *   `jwt()` middleware on the same route (what an app owner would write without Stepgate).
 *
 * Runs come in palindromic blocks (A B C D E E D C B A) after a discarded warm-up of each, which
 * cancels drift that is linear in time; each ratio is the median over blocks of the summed req/s.
 * A fresh grant is obtained before each block (the rule's grant lasts 5 minutes).
 */
import { dirname } from 'node:path';
import { Miniflare } from 'miniflare';
import { stopGroup } from '../../edge/node/dev/process-group';
import { bundleWorker, startGateway } from '../support/miniflare-gateway';
import { approvalFlows } from './approval-flow';
import { cpuSeconds, type LoadSettings, load, loadTool, median, newPid, type Sample, startOrigin, type Target, workerdPids } from './load';
import { demoSession, FORM, PROTECTED_BODY, PROTECTED_PATH, sessionGrantCookie } from './protected-setup';

const SECRET = 'bench-only-identity-secret-0123456789abcdef';
const OPEN_PATH = '/api/projects';

type RunName = 'bare GET' | 'Stepgate GET (unprotected)' | 'bare POST' | 'Hono jwt() POST' | 'Stepgate POST (session grant)';
const ORDER: RunName[] = ['bare GET', 'Stepgate GET (unprotected)', 'bare POST', 'Hono jwt() POST', 'Stepgate POST (session grant)'];

/** The request-path bench; what it starts goes into `disposers`, which the caller stops, also on failure. */
export async function proxyBench(o: LoadSettings & { rounds: number; quick: boolean }, disposers: Set<() => Promise<unknown>>) {
  const origin = await startOrigin();
  disposers.add(() => stopGroup(origin.child, 2000));

  const peer = async (entry: string) => {
    const script = await bundleWorker(entry);
    const before = await workerdPids();
    const mf = new Miniflare({
      modules: true,
      scriptPath: script,
      modulesRoot: dirname(script),
      compatibilityDate: '2026-04-20',
      bindings: { ORIGIN_URL: origin.url, IDENTITY_JWT_SECRET: SECRET },
      host: '127.0.0.1',
      port: 0,
      cf: false, // as startGateway: no download of the Request.cf object
    });
    disposers.add(() => mf.dispose());
    const url = await mf.ready;
    return { url, pid: await newPid(before) };
  };
  const bare = await peer('test/bench/bare-worker.ts');
  const jwt = await peer('test/bench/jwt-worker.ts');
  const before = await workerdPids();
  // Without Miniflare's assets router (the page scripts' static assets): a hop in front of the Worker that a
  // deployed run_worker_first Worker does not have, and that the bare and jwt() peers do not pay either.
  const stepgate = await startGateway({ originUrl: origin.url, jwtSecret: SECRET, pageScriptAssets: false });
  disposers.add(() => stepgate.dispose());
  const sg = { url: stepgate.url, pid: await newPid(before) };
  if (process.env.BENCH_FAIL_AFTER_START === '1')
    throw new Error('BENCH_FAIL_AFTER_START=1: failing with the origin and the Workers running');

  const session = await demoSession(SECRET, 'bench-reader', 'bench-reader-session');
  let grantCookie = '';
  let person = 0;
  const post = (cookie: string): Omit<Target, 'url'> => ({
    method: 'POST',
    headers: { cookie, 'content-type': FORM },
    body: PROTECTED_BODY,
  });
  const runs: Record<RunName, () => Target & { pid: number | null }> = {
    'bare GET': () => ({ url: new URL(OPEN_PATH, bare.url).href, pid: bare.pid }),
    'Stepgate GET (unprotected)': () => ({ url: new URL(OPEN_PATH, sg.url).href, pid: sg.pid }),
    'bare POST': () => ({ url: new URL(PROTECTED_PATH, bare.url).href, ...post(session), pid: bare.pid }),
    'Hono jwt() POST': () => ({ url: new URL(PROTECTED_PATH, jwt.url).href, ...post(session), pid: jwt.pid }),
    'Stepgate POST (session grant)': () => ({ url: new URL(PROTECTED_PATH, sg.url).href, ...post(grantCookie), pid: sg.pid }),
  };

  const tool = await loadTool();
  console.log(
    `bench: ${o.rounds} palindromic blocks × ${ORDER.length * 2} runs × ${o.seconds}s, ${o.connections} connections, load by ${tool}`,
  );
  const measure = async (name: RunName): Promise<Sample> => {
    const { pid, ...t } = runs[name]();
    const cpu0 = cpuSeconds(pid);
    const s = await load(t, o);
    s.cpuUs = ((cpuSeconds(pid) - cpu0) * 1e6) / (s.rps * o.seconds);
    return s;
  };
  grantCookie = await sessionGrantCookie(sg.url, SECRET, `bench-${++person}`);
  for (const name of ORDER) await measure(name); // warm-up, discarded

  const results = Object.fromEntries(ORDER.map((n) => [n, [] as Sample[]])) as Record<RunName, Sample[]>;
  const pairs: [RunName, RunName][] = [
    ['Stepgate GET (unprotected)', 'bare GET'],
    ['Stepgate POST (session grant)', 'bare POST'],
    ['Stepgate POST (session grant)', 'Hono jwt() POST'],
  ];
  const ratios = pairs.map(() => ({ rps: [] as number[], cpu: [] as number[] }));
  for (let i = 0; i < o.rounds; i++) {
    grantCookie = await sessionGrantCookie(sg.url, SECRET, `bench-${++person}`);
    const block = Object.fromEntries(ORDER.map((n) => [n, [] as Sample[]])) as Record<RunName, Sample[]>;
    for (const name of [...ORDER, ...[...ORDER].reverse()]) {
      const s = await measure(name);
      block[name].push(s);
      results[name].push(s);
      console.log(
        `  block ${i + 1} ${name.padEnd(30)} ${s.rps.toFixed(0).padStart(6)} req/s  ` +
          `${s.cpuUs.toFixed(0).padStart(5)} µs CPU/req  p50 ${s.p50} ms  p99 ${s.p99} ms  errors ${s.errors}`,
      );
    }
    const sum = (xs: Sample[], f: (x: Sample) => number) => xs.reduce((a, x) => a + f(x), 0);
    pairs.forEach(([a, b], k) => {
      ratios[k]!.rps.push(sum(block[a], (x) => x.rps) / sum(block[b], (x) => x.rps));
      ratios[k]!.cpu.push(sum(block[b], (x) => x.cpuUs) / sum(block[a], (x) => x.cpuUs));
    });
  }

  const summary = (xs: Sample[]) => ({
    rps: median(xs.map((x) => x.rps)),
    cpuUs: median(xs.map((x) => x.cpuUs)),
    p50: median(xs.map((x) => x.p50)),
    p99: median(xs.map((x) => x.p99)),
    errors: xs.reduce((a, x) => a + x.errors, 0),
  });
  const s = Object.fromEntries(ORDER.map((n) => [n, summary(results[n])])) as Record<RunName, ReturnType<typeof summary>>;
  console.log('');
  console.log('| worker and route | req/s (median) | workerd CPU µs/req | p50 ms | p99 ms | errors |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const n of ORDER) {
    const x = s[n];
    console.log(`| ${n} | ${x.rps.toFixed(0)} | ${x.cpuUs.toFixed(0)} | ${x.p50} | ${x.p99} | ${x.errors} |`);
  }
  console.log('');
  const verdict = (ok: boolean) => (o.quick ? '(not judged with --quick)' : ok ? 'MET' : 'NOT MET');
  const targets = [0.95, 0.8, 0.8];
  console.log('| comparison | throughput ratio (median of blocks) | blocks | CPU efficiency ratio | target | verdict |');
  console.log('|---|---:|---|---:|---:|---|');
  pairs.forEach(([a, b], k) => {
    const r = median(ratios[k]!.rps);
    console.log(
      `| ${a} / ${b} | ${r.toFixed(3)}× | ${ratios[k]!.rps.map((x) => x.toFixed(2)).join(', ')} | ` +
        `${median(ratios[k]!.cpu).toFixed(3)}× | ≥ ${targets[k]}× | ${verdict(r >= targets[k]!)} |`,
    );
  });
  const tail = s['Stepgate GET (unprotected)'].p99 / s['bare GET'].p99;
  console.log(`unprotected p99 ratio Stepgate/bare: ${tail.toFixed(2)}× (target ≤ 1.3×) ${verdict(tail <= 1.3)}`);
  const added = s['Stepgate POST (session grant)'].p50 - s['Hono jwt() POST'].p50;
  console.log(`session-grant p50 added over Hono jwt(): ${added.toFixed(2)} ms`);

  // A fresh action approval: the whole flow with a passkey, then the approved request alone.
  const flows = o.quick ? 16 : 100;
  const f = await approvalFlows({
    base: sg.url,
    bareBase: bare.url,
    secret: SECRET,
    pid: sg.pid,
    flows,
    concurrency: 4,
    tag: `${Date.now()}`,
  });
  console.log('');
  console.log(`fresh action approval (DELETE /api/projects/N, bind: action, a passkey): ${f.flows} flows, 4 at a time`);
  console.log('| measure | p50 ms | p99 ms |');
  console.log('|---|---:|---:|');
  console.log(
    `| whole flow (DELETE → 401, options, assertion, verify, DELETE again) | ${f.flowP50.toFixed(1)} | ${f.flowP99.toFixed(1)} |`,
  );
  console.log(`| the approved DELETE alone | ${f.approvedP50.toFixed(1)} | ${f.approvedP99.toFixed(1)} |`);
  console.log(`| one DELETE through the bare Worker, same client | ${f.bareP50.toFixed(1)} | ${f.bareP99.toFixed(1)} |`);
  console.log(
    `flows/s ${f.flowsPerSecond.toFixed(1)}; workerd CPU per flow ${f.cpuMsPerFlow.toFixed(1)} ms; ` +
      `approved DELETE p50 / bare p50: ${(f.approvedP50 / f.bareP50).toFixed(2)}×`,
  );
}
