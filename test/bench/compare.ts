/**
 * @module `npx tsx test/bench/compare.ts --variant base=/path/to/checkout --variant new=.`: the protected
 * request with a session grant (`POST /admin/settings`) through two or more builds of the gateway in
 * one alternated run, to decide whether a change to the request path or the audit append pays for
 * itself. Each variant is the gateway bundle of a checkout (its own `test/support/miniflare-gateway.ts`
 * builds it, as it deploys), started under Miniflare with its own local D1 and Durable Objects, all
 * against the same local origin. Runs come in palindromic blocks (A B C C B A) after a discarded
 * warm-up of each; each ratio is the median over blocks of a variant's summed req/s divided by the
 * first variant's; workerd CPU per request, p50 and p99 are medians over runs. A fresh grant is
 * obtained before each block. Everything it starts stops with it.
 *
 * `--together`: every variant is loaded at the same time instead (each with its own load generator
 * and BENCH_CONNECTIONS), their workerd processes sharing CPU 0, so whatever else runs on the machine
 * slows them alike; the ratio of each run's req/s to the first variant's then measures their relative
 * cost per request, and is far less noisy on a shared machine than runs one after another.
 *
 * `--rounds N` (blocks, 3), `--seconds N` (per run, 4); BENCH_CONNECTIONS (16).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stopGroup, stoppingFor } from '../../edge/node/dev/process-group';
import { startGateway } from '../support/miniflare-gateway';
import { cpuSeconds, load, median, newPid, pinWorkersAndLoad, type Sample, startOrigin, workerdPids } from './load';
import { FORM, PROTECTED_BODY, PROTECTED_PATH, sessionGrantCookie } from './protected-setup';

const SECRET = 'bench-only-identity-secret-0123456789abcdef';

const { values: args } = parseArgs({
  options: {
    variant: { type: 'string', multiple: true, default: [] },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '4' },
    together: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(args.rounds);
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const variants = args.variant.map((v) => {
  const at = v.indexOf('=');
  if (at < 1) throw new Error(`compare: --variant name=checkout, not ${v}`);
  return { name: v.slice(0, at), tree: resolve(v.slice(at + 1)) };
});

/** The gateway bundle of a checkout, built by that checkout's own bundler. */
async function bundleOf(tree: string): Promise<string> {
  const m = (await import(`${tree}/test/support/miniflare-gateway.ts`)) as { bundleWorker(entry: string): Promise<string> };
  return m.bundleWorker('edge/index.ts');
}

const disposers: (() => Promise<unknown>)[] = [];
try {
  if (variants.length < 2) throw new Error('compare: give at least two --variant name=checkout');
  const pinned = await pinWorkersAndLoad();
  const origin = await startOrigin();
  disposers.push(() => stopGroup(origin.child, 2000));
  const running: { name: string; url: URL; pid: number | null; cookie: string }[] = [];
  for (const v of variants) {
    const scriptPath = await bundleOf(v.tree);
    const before = await workerdPids();
    // Without Miniflare's assets router, a hop a deployed Worker does not have (test/support/miniflare-gateway.ts).
    const gw = await startGateway({ originUrl: origin.url, jwtSecret: SECRET, scriptPath, pageScriptAssets: false });
    disposers.push(() => gw.dispose());
    running.push({ name: v.name, url: gw.url, pid: await newPid(before), cookie: '' });
  }
  let person = 0;
  const grants = async () => {
    for (const r of running) r.cookie = await sessionGrantCookie(r.url, SECRET, `compare-${++person}`);
  };
  const target = (r: (typeof running)[number]) => ({
    url: new URL(PROTECTED_PATH, r.url).href,
    method: 'POST',
    headers: { cookie: r.cookie, 'content-type': FORM },
    body: PROTECTED_BODY,
  });
  const measure = async (r: (typeof running)[number]): Promise<Sample> => {
    const cpu0 = cpuSeconds(r.pid);
    const s = await load(target(r), { seconds: SECONDS, connections: CONNECTIONS });
    s.cpuUs = ((cpuSeconds(r.pid) - cpu0) * 1e6) / (s.rps * SECONDS);
    return s;
  };
  console.log(
    `compare: ${variants.map((v) => `${v.name}=${v.tree}`).join(', ')}; ` +
      `${args.together ? `${ROUNDS} rounds, all variants loaded together` : `${ROUNDS} palindromic blocks`} × ${SECONDS}s, ` +
      `${CONNECTIONS} connections${pinned ? ', workerd pinned to CPU 0' : ''}`,
  );
  await grants();
  for (const r of running) await measure(r); // warm-up, discarded
  const samples = new Map(running.map((r) => [r.name, [] as Sample[]]));
  const ratios = new Map(running.map((r) => [r.name, [] as number[]]));
  for (let i = 0; i < ROUNDS && args.together; i++) {
    await grants();
    const cpu0 = running.map((r) => cpuSeconds(r.pid));
    const all = await Promise.all(running.map((r) => load(target(r), { seconds: SECONDS, connections: CONNECTIONS })));
    all.forEach((s, k) => {
      const r = running[k]!;
      s.cpuUs = ((cpuSeconds(r.pid) - cpu0[k]!) * 1e6) / (s.rps * SECONDS);
      samples.get(r.name)!.push(s);
      ratios.get(r.name)!.push(s.rps / all[0]!.rps);
      console.log(
        `  round ${i + 1} ${r.name.padEnd(16)} ${s.rps.toFixed(0).padStart(6)} req/s  ${s.cpuUs.toFixed(0).padStart(5)} µs CPU/req  ` +
          `p50 ${s.p50} ms  p99 ${s.p99} ms  errors ${s.errors}`,
      );
    });
  }
  for (let i = 0; i < ROUNDS && !args.together; i++) {
    await grants();
    const block = new Map(running.map((r) => [r.name, 0]));
    for (const r of [...running, ...[...running].reverse()]) {
      const s = await measure(r);
      samples.get(r.name)!.push(s);
      block.set(r.name, block.get(r.name)! + s.rps);
      console.log(
        `  block ${i + 1} ${r.name.padEnd(16)} ${s.rps.toFixed(0).padStart(6)} req/s  ${s.cpuUs.toFixed(0).padStart(5)} µs CPU/req  ` +
          `p50 ${s.p50} ms  p99 ${s.p99} ms  errors ${s.errors}`,
      );
    }
    for (const r of running) ratios.get(r.name)!.push(block.get(r.name)! / block.get(running[0]!.name)!);
  }
  const over = args.together ? 'rounds' : 'blocks';
  console.log(`\n| variant | req/s (median) | ratio to ${running[0]!.name} (${over}) | workerd CPU µs/req | p50 ms | p99 ms | errors |`);
  console.log('|---|---:|---|---:|---:|---:|---:|');
  for (const r of running) {
    const xs = samples.get(r.name)!;
    const rs = ratios.get(r.name)!;
    const ratio = `${median(rs).toFixed(3)}× (${rs.map((x) => x.toFixed(2)).join(', ')})`;
    console.log(
      `| ${r.name} | ${median(xs.map((x) => x.rps)).toFixed(0)} | ${ratio} | ` +
        `${median(xs.map((x) => x.cpuUs)).toFixed(0)} | ${median(xs.map((x) => x.p50))} | ${median(xs.map((x) => x.p99))} | ` +
        `${xs.reduce((a, x) => a + x.errors, 0)} |`,
    );
  }
} catch (e) {
  if (!stoppingFor()) console.error(`compare: failed: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
} finally {
  await Promise.allSettled(disposers.reverse().map((d) => d()));
}
if (!stoppingFor()) process.exit();
