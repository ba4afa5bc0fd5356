/**
 * @module The `_method` body oracle with Stepgate's readers running in workerd (Miniflare), where
 * `formData()` is workerd's multipart parser — the one Stepgate meets in production, and more
 * lenient than Node's undici (LF line ends, a preamble, `\"` in names, repeated `name=`). Bodies go
 * in batches of BATCH per request; the Node-side references (forms, JSON, PHP and Rack multipart)
 * and workerd's own formData reading must all be claimed, or the body refused.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import fc from 'fast-check';
import { Miniflare } from 'miniflare';
import { fail, type FuzzTarget, Stats } from './harness';
import { bodyHeaders, formInput, jsonInput, judge, junkInput, multipartInput, referenceMethods, type BodyInput } from './method-override';
import { overrideMethods } from './reference-forms';
import type { WorkerdCase, WorkerdResult } from './workerd-body-entry';

/** Bodies per request to workerd (one fast-check run checks a whole batch). */
export const BATCH = 50;

let mf: Promise<Miniflare> | null = null;

async function start(): Promise<Miniflare> {
  const outdir = mkdtempSync(join(tmpdir(), 'stepgate-fuzz-'));
  await build({
    entryPoints: [fileURLToPath(new URL('./workerd-body-entry.ts', import.meta.url))],
    outfile: join(outdir, 'entry.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    logLevel: 'error',
  });
  // The gateway's own compatibility date, so formData() behaves as it does for the gateway.
  const wrangler = readFileSync(fileURLToPath(new URL('../../wrangler.toml', import.meta.url)), 'utf8');
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(wrangler)?.[1] ?? '2026-04-20';
  const instance = new Miniflare({ modules: true, scriptPath: join(outdir, 'entry.js'), modulesRoot: outdir, compatibilityDate });
  await instance.ready;
  return instance;
}

/** Stop workerd (the runner calls this at the end and on Ctrl-C). */
export async function stopWorkerd(): Promise<void> {
  const m = mf;
  mf = null;
  if (m) await (await m).dispose();
}

const stats = new Stats();
const oneBody = fc.oneof(
  { weight: 5, arbitrary: multipartInput },
  { weight: 1, arbitrary: formInput },
  { weight: 1, arbitrary: jsonInput },
  { weight: 1, arbitrary: junkInput },
);

const batchProperty = fc.asyncProperty(fc.array(oneBody, { minLength: BATCH / 2, maxLength: BATCH }), async (batch: BodyInput[]) => {
  mf ??= start();
  const instance = await mf;
  const cases: WorkerdCase[] = [];
  const inputs: BodyInput[] = [];
  for (const input of batch) {
    if (!bodyHeaders(input)) continue;
    inputs.push(input);
    cases.push({ contentType: input.contentType, headers: input.headers, body: Buffer.from(input.body, 'utf8').toString('base64') });
  }
  const res = await instance.dispatchFetch('http://fuzz.test/', { method: 'POST', body: JSON.stringify(cases) });
  const results = (await res.json()) as WorkerdResult[];
  results.forEach((r, i) => {
    const input = inputs[i]!;
    stats.case();
    if ('skipped' in r) {
      stats.add('skipped-headers');
      return;
    }
    if ('error' in r)
      fail(`in workerd, ${r.error}, for Content-Type ${JSON.stringify(input.contentType)} body ${JSON.stringify(input.body)}`);
    const bytes = new TextEncoder().encode(input.body);
    const refs = referenceMethods(input.contentType, bytes, new TextDecoder().decode(bytes));
    if ('platform' in r) for (const m of overrideMethods(r.platform)) refs.push(['multipart/workerd', m]);
    judge(input, refs, 'refused' in r ? { refused: r.refused } : { claims: r.claims, anyMethod: r.anyMethod }, stats);
  });
  return true;
});

export const workerdTargets: FuzzTarget[] = [
  {
    name: 'body/workerd',
    parser: 'edge/request-path/method-override.ts in workerd (Miniflare): checkInspectable + bodyMethodClaims (+ addClaim)',
    oracle: 'refused (4xx), or every method found by workerd formData, PHP/Rack multipart, JSON and form readers is claimed (or anyMethod)',
    stats,
    casesPerRun: BATCH,
    seedRuns: 6,
    build: () => batchProperty,
    dispose: stopWorkerd,
  },
];
