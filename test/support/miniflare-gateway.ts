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

/**
 * The D1 migrations are applied by a Worker of their own beside the gateway, on the same D1
 * database, sent as one request: not through Miniflare's binding proxy (`mf.getD1Database`), whose
 * synchronous round trips (a Node worker thread and Atomics.wait, several per statement) lost a reply
 * once in a loaded CI run and failed the gateway's start with a bare AssertionError.
 */
const MIGRATIONS_WORKER = 'stepgate-test-migrations';
const MIGRATIONS_HOST = `${MIGRATIONS_WORKER}.invalid`;

/** Miniflare options of the migrations Worker, to put in `workers` beside the gateway(s) it serves. */
export function migrationsWorker(options: { d1Databases?: unknown; compatibilityDate?: string }) {
  return {
    name: MIGRATIONS_WORKER,
    modules: true,
    script: `export default {
      async fetch(request, env) {
        const statements = await request.json();
        for (const sql of statements) await env.DB.prepare(sql).run();
        return new Response(String(statements.length));
      },
    };`,
    compatibilityDate: options.compatibilityDate,
    d1Databases: options.d1Databases,
    routes: [`${MIGRATIONS_HOST}/*`],
  };
}

/** Apply every statement of edge/migrations, in file order, through the migrations Worker. */
export async function applyMigrations(mf: Miniflare): Promise<void> {
  const dir = join(ROOT, 'edge/migrations');
  const statements = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .flatMap((file) => unstable_splitSqlQuery(readFileSync(join(dir, file), 'utf8')));
  const res = await mf.dispatchFetch(`http://${MIGRATIONS_HOST}/`, { method: 'POST', body: JSON.stringify(statements) });
  const applied = await res.text();
  if (!res.ok || applied !== String(statements.length))
    throw new Error(`the D1 migrations failed (${res.status}): ${applied.slice(0, 500)}`);
}

/** Start the gateway under Miniflare. */
export async function startGateway(opts: GatewayOptions): Promise<RunningGateway> {
  const scriptPath = opts.scriptPath ?? (await gatewayBundle());
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, 'wrangler.toml'));
  const { assets, ...options } = workerOptions as { assets?: unknown; d1Databases?: unknown; compatibilityDate?: string };
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: 0,
    d1Persist: false,
    durableObjectsPersist: false,
    cf: false, // the placeholder Request.cf, never a download from workers.cloudflare.com
    ...(opts.inspectorPort ? { inspectorPort: opts.inspectorPort } : {}),
    workers: [
      {
        ...options,
        ...(opts.pageScriptAssets === false ? {} : { assets }),
        name: 'stepgate',
        modules: true,
        scriptPath,
        modulesRules: undefined,
        modulesRoot: dirname(scriptPath),
        bindings: {
          ...((options as { bindings?: Record<string, unknown> }).bindings ?? {}),
          ORIGIN_URL: opts.originUrl,
          IDENTITY_JWT_SECRET: opts.jwtSecret,
          STEPGATE_KEYS: JSON.stringify({ primary: 'test1', keys: { test1: 'dGVzdC1vbmx5LWtleXJpbmctbWFzdGVyLWtleS0wMDE=' } }),
          ...opts.bindings,
        },
      },
      migrationsWorker(options),
    ],
  } as ConstructorParameters<typeof Miniflare>[0]);
  const url = await mf.ready;
  await opts.onReady?.(mf);
  await applyMigrations(mf).catch(async (e: unknown) => {
    await mf.dispose();
    throw e;
  });
  return { mf, url, port: Number(url.port), dispose: () => mf.dispose() };
}
