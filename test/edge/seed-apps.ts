/** @module Apps in D1 for tests in the Workers pool, seeded through the app store: the dev identity source, development settings. */
import { env } from 'cloudflare:test';
import { type App, createApp } from '../../edge/admin/app-store';
import { parseKeyring } from '../../edge/crypto/keyring';

/**
 * Create the app `name` of `org` (default "default") on `hosts` (its origin `originUrl`, default none:
 * the Cloudflare-proxied origin), with the dev identity source and `policy` (default: no rules),
 * written by `createdBy` (default "seed") at `now`; the app.
 */
export async function seedApp(o: {
  org?: string;
  name: string;
  hosts: string[];
  originUrl?: string | null;
  policy?: unknown;
  createdBy?: string;
  now?: number;
}): Promise<App> {
  const r = await createApp(env.DB, parseKeyring(env.STEPGATE_KEYS), {
    orgId: o.org ?? 'default',
    name: o.name,
    hosts: o.hosts,
    originUrl: o.originUrl ?? null,
    identity: { source: 'dev' },
    policy: o.policy ?? { version: 1, rules: [] },
    createdBy: o.createdBy ?? 'seed',
    now: o.now ?? Date.now(),
    development: true,
  });
  if (!r.ok) throw new Error(`seedApp(${o.name}): ${r.code}`);
  return r.app;
}
