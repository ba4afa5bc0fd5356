/**
 * Where admin events land (Workers pool, real D1 and the audit sequencer): in the log of the
 * organisation of the person who acted — a token's own organisation — never in the log of the
 * host it was presented on; the host's app is named only when it is that organisation's. So a
 * token cannot hide its changes from its own auditors, leak them into another organisation's log,
 * or plant refusals there. An organisation's creation shows its first owner and app in its own log.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { listEvents } from '../../edge/audit/audit-store';
import type { AuditEvent } from '../../edge/audit/events';
import { ACME_HOST, API, as, type Caller, person, ring, seedAcme, send } from './recovery-flow';
import { seedRole } from './seed-roles';

let ada: Caller; // admin of acme
let olga: Caller; // owner of default (the operator)
let token: string; // ada's token: admin:read, admin:write
let acmeApp: string;

/** The events of `org`'s log (tenant "default") acted by `actor`. */
const logOf = async (org: string, actor: string): Promise<AuditEvent[]> =>
  (await listEvents(env.DB, ring, 'default', { org }, { limit: 500, order: 'asc' })).events
    .map((e) => e.event)
    .filter((e) => e.actor === actor);

const withToken = (host: string, method: string, path: string, body?: unknown) =>
  send(`http://${host}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

beforeAll(async () => {
  await seedAcme();
  await seedRole('olga', 'owner');
  [ada, olga] = await Promise.all([person('ada', 'acme'), person('olga')]);
  const made = await as(ada, 'POST', '/.stepgate/api/tokens', { scopes: ['admin:read', 'admin:write'], label: 'ci' });
  expect(made.status).toBe(201);
  token = ((await made.json()) as { token: string }).token;
  acmeApp = (await env.DB.prepare("SELECT id FROM apps WHERE org_id = 'acme'").first<{ id: string }>())!.id;
}, 60_000);

describe('a token of acme used on the default organisation’s host', () => {
  it('puts its changes and refusals in acme’s log, with no app of the host', async () => {
    const changed = await withToken('app.test', 'PATCH', `${API}/orgs/acme/apps/${acmeApp}`, { name: 'renamed-through-default' });
    expect(changed.status).toBe(200);
    // A role change needs a person in a browser: refused (admin.refused, session-only).
    const roles = await withToken('app.test', 'POST', `${API}/orgs/acme/roles`, { person: 'vera', role: 'auditor' });
    expect(roles.status).toBe(403);
    // Another organisation: 404, refused (admin.refused, no-role), still on acme's record only.
    expect((await withToken('app.test', 'GET', `${API}/orgs/default/apps`)).status).toBe(404);

    const acme = await logOf('acme', 'acme/ada');
    const updated = acme.filter((e) => e.type === 'app.updated');
    expect(updated).toHaveLength(1);
    expect(updated[0]).toMatchObject({ org: 'acme', app_id: null, via: 'token', details: { org: 'acme', app_id: acmeApp } });
    const refused = acme.filter((e) => e.type === 'admin.refused');
    expect(refused.map((e) => [e.org, e.app_id, e.details?.code])).toEqual([
      ['acme', null, 'session-only'],
      ['acme', null, 'no-role'],
    ]);
    // Nothing of it in the default organisation's log.
    expect(await logOf('default', 'acme/ada')).toEqual([]);
  });

  it('on acme’s own host the events name acme’s app', async () => {
    expect((await withToken(ACME_HOST, 'PATCH', `${API}/orgs/acme/apps/${acmeApp}`, { name: 'renamed-at-home' })).status).toBe(200);
    const updated = (await logOf('acme', 'acme/ada')).filter((e) => e.type === 'app.updated').at(-1);
    expect(updated).toMatchObject({ org: 'acme', app_id: acmeApp });
  });
});

describe('a new organisation', () => {
  it('has its first owner and first app in its own log, not the operator’s', async () => {
    const r = await as(olga, 'POST', `${API}/orgs`, {
      id: 'zeta',
      name: 'Zeta',
      owner: 'zed',
      app: { name: 'zeta-app', hosts: ['zeta.test'], identity: { source: 'dev' }, policy: { version: 1, rules: [] } },
    });
    expect(r.status).toBe(201);
    const zeta = await logOf('zeta', 'olga');
    expect(zeta.map((e) => [e.type, e.org, e.app_id, e.target ?? null])).toEqual([
      ['role.granted', 'zeta', null, 'zeta/zed'],
      ['app.created', 'zeta', null, null],
    ]);
    const operator = await logOf('default', 'olga');
    expect(operator.filter((e) => e.type === 'org.created')).toHaveLength(1);
    expect(operator.filter((e) => e.type === 'role.granted' || e.type === 'app.created')).toEqual([]);
  });
});
