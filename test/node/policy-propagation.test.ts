/**
 * A policy version written to D1 reaches every gateway instance within MAX_AGE_MS (10 s): three
 * copies of the real gateway bundle, each its own workerd isolate with its own app registry, over
 * one D1 database, all serving traffic; the version is activated the way every activation writes it
 * (the app's `app_policies` row, edge/admin/policy-versions.ts), and each instance is polled until it
 * enforces the new rule. The figures are printed; the bound is asserted.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_AGE_MS } from '../../edge/apps/app-registry';
import { applyMigrations, bundleWorker, migrationsWorker, ROOT } from '../support/miniflare-gateway';
import { type FaultOrigin, startFaultOrigin } from '../support/fault-origin';

const INSTANCES = ['gateway-a', 'gateway-b', 'gateway-c'];
const KEYS = JSON.stringify({ primary: 'test1', keys: { test1: 'dGVzdC1vbmx5LWtleXJpbmctbWFzdGVyLWtleS0wMDE=' } });

let mf: Miniflare;
let origin: FaultOrigin;

beforeAll(async () => {
  origin = await startFaultOrigin();
  const scriptPath = await bundleWorker('edge/index.ts');
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, 'wrangler.toml'));
  const base = workerOptions as { bindings?: Record<string, unknown>; d1Databases?: unknown; compatibilityDate?: string };
  mf = new Miniflare({
    workers: [
      ...INSTANCES.map((name, i) => ({
        ...base,
        name,
        modules: true,
        scriptPath,
        modulesRoot: dirname(scriptPath),
        // Each instance on a loopback port of its own, reached directly (not through Miniflare's entry).
        unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
        bindings: { ...(base.bindings ?? {}), ORIGIN_URL: origin.url, IDENTITY_JWT_SECRET: 'x'.repeat(32), STEPGATE_KEYS: KEYS },
        // One D1 database (the same id) and one set of Durable Objects (the first instance's) for all.
        d1Databases: base.d1Databases,
        durableObjects: {
          USER_STATE: { className: 'UserState', useSQLite: true, ...(i ? { scriptName: INSTANCES[0] } : {}) },
          AUDIT_SEQUENCER: { className: 'AuditSequencer', useSQLite: true, ...(i ? { scriptName: INSTANCES[0] } : {}) },
        },
      })),
      migrationsWorker(base),
    ],
    d1Persist: false,
    durableObjectsPersist: false,
    cf: false,
  } as ConstructorParameters<typeof Miniflare>[0]);
  await mf.ready;
  await applyMigrations(mf);
}, 120_000);

afterAll(async () => {
  await mf?.dispose();
  await origin?.close();
});

/** POST /api/projects on one instance: 'forwarded' (the origin answered) or the gateway's status. */
async function createProject(instance: string): Promise<'forwarded' | number> {
  const base = await mf.unsafeGetDirectURL(instance);
  const res = await fetch(new URL('/api/projects', base), {
    method: 'POST',
    body: '{"name":"x"}',
    headers: { 'content-type': 'application/json' },
  });
  await res.arrayBuffer();
  return res.status === 200 && res.headers.get('content-type')?.includes('json') && !res.headers.has('www-authenticate')
    ? 'forwarded'
    : res.status;
}

describe('propagation of a new policy version across gateway instances', () => {
  it(`every instance enforces a version within ${MAX_AGE_MS / 1000} s of its activation`, async () => {
    for (const i of INSTANCES) expect(await createProject(i)).toBe('forwarded');

    const policy = JSON.parse(readFileSync(join(ROOT, 'edge/config/policy.json'), 'utf8')) as { rules: unknown[] };
    policy.rules.push({
      id: 'create-project',
      match: { methods: ['POST'], path: '/api/projects' },
      require: { factors: ['webauthn', 'totp'], bind: 'session' },
    });
    const db = await mf.getD1Database('DB', INSTANCES[0]);
    const activatedAt = Date.now();
    await db
      .prepare('INSERT INTO app_policies (app_id, document_json, hash, updated_at) VALUES (?, ?, ?, ?)')
      .bind('bundled', JSON.stringify(policy), 'test-hash', activatedAt)
      .run();

    // Two instances keep serving traffic; the third is quiet until the bound has passed.
    const [busy, quiet] = [INSTANCES.slice(0, 2), INSTANCES[2]!];
    const appliedAfter = new Map<string, number>();
    while (appliedAfter.size < busy.length && Date.now() - activatedAt < MAX_AGE_MS + 5_000) {
      for (const i of busy) {
        if (appliedAfter.has(i)) continue;
        const r = await createProject(i);
        if (r === 401) appliedAfter.set(i, Date.now() - activatedAt);
        else expect(r).toBe('forwarded'); // the old version, never anything else (no 5xx while it changes)
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, Math.max(0, activatedAt + MAX_AGE_MS - Date.now())));
    // Its copy is older than the bound: its first request waits for a fresh one rather than answer from it.
    if ((await createProject(quiet)) === 401) appliedAfter.set(quiet, Date.now() - activatedAt);
    console.log(`propagation: ${INSTANCES.map((i) => `${i} ${appliedAfter.get(i) ?? 'never'} ms`).join(', ')}`);
    expect(appliedAfter.size).toBe(INSTANCES.length);
    // 10 s and the time of one poll round (two requests and a 100 ms pause).
    for (const ms of appliedAfter.values()) expect(ms).toBeLessThanOrEqual(MAX_AGE_MS + 500);
  }, 60_000);
});
