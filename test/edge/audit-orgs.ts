/**
 * @module Organisations with an app each, for the audit tests in the Workers pool: an organisation
 * created with its owner, an app on its own host (the dev identity source, a rule that asks for a
 * step-up on POST /api/**, forwarded to the demo origin), and the audit log as its readers see it.
 */
import { env } from 'cloudflare:test';
import { inject } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import type { AuditRow } from '../../edge/audit/audit-chain';
import type { ChainedEvent } from '../../edge/audit/events';
import { parseKeyring } from '../../edge/crypto/keyring';
import { as, type Caller, type Send } from './admin-callers';
import { seedApp } from './seed-apps';

export const ring = parseKeyring(env.STEPGATE_KEYS);

/** The rule of every test app: POST /api/** needs a step-up (TOTP), granted for the session. */
export const auditTestPolicy = {
  version: 1,
  rules: [{ id: 'writes', match: { methods: ['POST'], path: '/api/**' }, require: { factors: ['totp'], bind: 'session', maxAge: '5m' } }],
};

/** Create organisation `org` (owner `<org>/boss`) with one app on `host`; the app's id. */
export async function orgWithApp(org: string, host: string): Promise<string> {
  const now = Date.now();
  const o = await createOrg(env.DB, { id: org, name: `${org} Ltd`, now, owner: { ring, sub: `${org}/boss`, grantedBy: 'seed' } });
  if (!o.ok) throw new Error(`org ${org}: ${o.reason}`);
  const app = await seedApp({
    org,
    name: `${org}-app`,
    hosts: [host],
    originUrl: inject('originUrl'),
    policy: auditTestPolicy,
    createdBy: `${org}/boss`,
    now,
  });
  return app.id;
}

/** Every event `who` may list (all pages, oldest first), or the refusal's status. */
export async function listAll(send: Send, who: Caller, query = ''): Promise<ChainedEvent[]> {
  const out: ChainedEvent[] = [];
  let cursor: string | null = null;
  do {
    const r = await as(
      send,
      who,
      'GET',
      `/.stepgate/api/admin/audit/events?order=asc&limit=500${query}${cursor ? `&cursor=${cursor}` : ''}`,
    );
    if (r.status !== 200) throw new Error(`listing as ${who.name}: ${r.status} ${await r.text()}`);
    const page = (await r.json()) as { events: ChainedEvent[]; next_cursor: string | null };
    out.push(...page.events);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

/** The stored rows of the default tenant whose app (host) is `host`. */
export const rowsOfHost = async (host: string): Promise<AuditRow[]> =>
  (await env.DB.prepare("SELECT * FROM audit_events WHERE tenant = 'default' AND app = ? ORDER BY seq").bind(host).all<AuditRow>()).results;
