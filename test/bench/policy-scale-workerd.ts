/**
 * @module The rule-scaling bench's workerd figures: policy-scale-worker.ts bundled and run under
 * Miniflare; each call is timed from this process and an empty call's median subtracted, because
 * workerd's own clocks do not advance while code runs. The Worker is disposed on every way out.
 */
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Miniflare } from 'miniflare';
import { bundleWorker } from '../support/miniflare-gateway';

export interface WorkerdFigures {
  /** Per policy size (10, 10,000): ms of the isolate's first compile of it (JIT cold, as in a fresh gateway isolate). */
  compileFirstMs: number[];
  /** Per policy size (10, 10,000): median ms of one compile (the first of the isolate excluded). */
  compileMs: number[];
  /** Per case (10 rules, 10,000 rules, 10,000 rules asked the 10-rule requests): median ns per request, rounds alternated A B C C B A. */
  matchNs: number[];
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

export async function workerdFigures(quick: boolean, requests: number, sizes: readonly number[] = [10, 10_000]): Promise<WorkerdFigures> {
  const scriptPath = await bundleWorker('test/bench/policy-scale-worker.ts');
  const mf = new Miniflare({ modules: true, scriptPath, modulesRoot: dirname(scriptPath), compatibilityDate: '2026-04-20' });
  try {
    const call = async (rules: number, op: string, n: number, mix = rules): Promise<number> => {
      const t0 = performance.now();
      const res = await mf.dispatchFetch(`http://bench.invalid/?rules=${rules}&requests=${requests}&op=${op}&n=${n}&mix=${mix}`);
      const text = await res.text();
      if (!res.ok) throw new Error(`workerd: ${res.status} ${text.slice(0, 200)}`);
      return performance.now() - t0;
    };
    for (const s of sizes) await call(s, 'doc', 0); // make and validate the policies, compile nothing
    const noop: number[] = [];
    for (let i = 0; i < 15; i++) noop.push(await call(sizes[0]!, 'noop', 0));
    const empty = median(noop);
    // The isolate's first compile: the largest size first, so the judged figure finds the compiler's
    // code unparsed and cold, as a fresh gateway isolate does (the smaller one after it is warmer).
    const compileFirstMs: number[] = sizes.map(() => 0);
    for (let i = sizes.length - 1; i >= 0; i--) compileFirstMs[i] = Math.max(0, (await call(sizes[i]!, 'compile', 1)) - empty);
    const compileRuns = quick ? 2 : 10;
    const compileMs: number[] = [];
    for (const s of sizes) {
      const t: number[] = [];
      for (let i = 0; i < (quick ? 1 : 5); i++) t.push((await call(s, 'compile', compileRuns)) - empty);
      compileMs.push(median(t) / compileRuns);
    }
    const loops = Math.max(1, Math.round((quick ? 50_000 : 400_000) / requests));
    const cases = [...sizes.map((s) => [s, s] as const), [sizes[1]!, sizes[0]!] as const];
    for (const [s, mix] of cases) await call(s, 'match', 1, mix); // prepare and warm up
    const samples: number[][] = cases.map(() => []);
    const order = [...cases.keys(), ...[...cases.keys()].reverse()];
    for (let r = 0; r < (quick ? 1 : 8); r++) {
      for (const i of order) {
        const [s, mix] = cases[i]!;
        samples[i]!.push((((await call(s, 'match', loops, mix)) - empty) * 1e6) / (loops * requests));
      }
    }
    return { compileFirstMs, compileMs, matchNs: samples.map(median) };
  } finally {
    await mf.dispose();
  }
}
