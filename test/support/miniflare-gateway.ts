/**
 * @module Run the real gateway bundle under Miniflare (workerd) on a loopback port, configured from
 * wrangler.toml, with local D1 (migrations applied) and Durable Objects. Used by the node tests and the bench.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions, unstable_readConfig, unstable_splitSqlQuery } from 'wrangler';
import { ensureClientAssets } from './client-assets';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Bundle a Worker entry the way wrangler does (ESM, workerd conditions, cloudflare:* external, and
 * wrangler.toml's `minify` and `[alias]`, so that the tests run what deploys), after making the
 * generated page scripts, as wrangler.toml's `[build]` does for wrangler.
 */
export async function bundleWorker(entry: string): Promise<string> {
  await ensureClientAssets();
  const { minify, alias } = unstable_readConfig({ config: join(ROOT, 'wrangler.toml') });
  const outdir = mkdtempSync(join(tmpdir(), 'stepgate-bundle-'));
  await build({
    entryPoints: [join(ROOT, entry)],
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*', 'node:*'],
    minify: minify === true,
    alias: Object.fromEntries(Object.entries<string>(alias ?? {}).map(([from, to]) => [from, to.startsWith('.') ? join(ROOT, to) : to])),
    logLevel: 'error',
  });
  return join(outdir, entry.split('/').pop()!.replace(/\.ts$/, '.js'));
}

export interface GatewayOptions {
  originUrl: string;
  jwtSecret: string;
  /** Extra bindings, overriding wrangler.toml's vars. */
  bindings?: Record<string, unknown>;
  scriptPath?: string;
  /** Open workerd's V8 inspector on this port (the bench's CPU profile, test/bench/profile.ts). */
  inspectorPort?: number;
  /** Called once workerd is listening, before the D1 migrations run (the startup bench reads workerd's CPU there). */
  onReady?: (mf: Miniflare) => void | Promise<void>;
  /**
   * The page scripts as Workers static assets (wrangler.toml's `[assets]`), default true. Miniflare
   * serves them through a router Worker of its own in front of the gateway, a hop a deployed
   * `run_worker_first` Worker does not have; the request-path bench leaves them out (false): the
   * gateway then serves no page script, and nothing else changes.
   */
  pageScriptAssets?: boolean;
}

export interface RunningGateway {
  mf: Miniflare;
  url: URL;
  port: number;
  dispose(): Promise<void>;
}

let cachedBundle: Promise<string> | null = null;
const gatewayBundle = (): Promise<string> => {
  cachedBundle ??= bundleWorker('edge/index.ts');
  return cachedBundle;
};

/** Start the gateway under Miniflare. */
export async function startGateway(opts: GatewayOptions): Promise<RunningGateway> {
  const scriptPath = opts.scriptPath ?? (await gatewayBundle());
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, 'wrangler.toml'));
  const { assets, ...options } = workerOptions as { assets?: unknown };
  const mf = new Miniflare({
    ...options,
    ...(opts.pageScriptAssets === false ? {} : { assets }),
    name: 'stepgate',
    modules: true,
    scriptPath,
    modulesRules: undefined,
    modulesRoot: dirname(scriptPath),
    host: '127.0.0.1',
    port: 0,
    bindings: {
      ...((options as { bindings?: Record<string, unknown> }).bindings ?? {}),
      ORIGIN_URL: opts.originUrl,
      IDENTITY_JWT_SECRET: opts.jwtSecret,
      STEPGATE_KEYS: JSON.stringify({ primary: 'test1', keys: { test1: 'dGVzdC1vbmx5LWtleXJpbmctbWFzdGVyLWtleS0wMDE=' } }),
      ...opts.bindings,
    },
    d1Persist: false,
    durableObjectsPersist: false,
    cf: false, // the placeholder Request.cf, never a download from workers.cloudflare.com
    ...(opts.inspectorPort ? { inspectorPort: opts.inspectorPort } : {}),
  } as ConstructorParameters<typeof Miniflare>[0]);
  const url = await mf.ready;
  await opts.onReady?.(mf);
  const db = await mf.getD1Database('DB');
  const dir = join(ROOT, 'edge/migrations');
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    for (const q of unstable_splitSqlQuery(readFileSync(join(dir, file), 'utf8'))) await db.prepare(q).run();
  }
  return { mf, url, port: Number(url.port), dispose: () => mf.dispose() };
}
