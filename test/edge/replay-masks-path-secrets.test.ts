/**
 * Replay never hands out secrets carried in paths (issue 13 review, finding 5). Recorded routes are
 * read by anyone with policy.read (an app-admin, an admin:read token) through `replay`: a draft that
 * protects just `/reset/*` must not list other people's password-reset or magic-link tokens of the
 * last two hours. The gateway masks such segments to `*` before a route is recorded
 * (edge/policy/mask-path.ts), so replay shows the route, never the token — and still shows it.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { grantRole } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { as, bodyOf, type Caller, newGateway, person, type Send } from './admin-callers';
import { seedApp } from './seed-apps';

const ring = parseKeyring(env.STEPGATE_KEYS);
const ORG = 'rv13l';
const HOST = 'replay-masks.test';
const g: Send = newGateway();
let appId: string;
let apam: Caller;

beforeAll(async () => {
  const now = Date.now();
  expect((await createOrg(env.DB, { id: ORG, name: ORG, now, owner: { ring, sub: `${ORG}/olga`, grantedBy: 'seed' } })).ok).toBe(true);
  appId = (await seedApp({ org: ORG, name: 'leak', hosts: [HOST], originUrl: inject('originUrl'), policy: { version: 1, rules: [] } })).id;
  expect(
    (await grantRole(env.DB, ring, { orgId: ORG, appId, sub: `${ORG}/apam`, role: 'app-admin', grantedBy: `${ORG}/olga`, now })).ok,
  ).toBe(true);
  apam = await person(g, 'apam', HOST);
}, 60_000);

const TOKENS = ['Zq8-victim-reset-token-4711', '9f86d081884c7d659a2feaa0c55ad015', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln'];

describe('replay and secrets in paths', () => {
  it('an app-admin replaying a draft that covers /reset/* sees the route as /reset/*, never another person’s token', async () => {
    // Someone else uses password-reset links (the token is in the path; no rule covers it), and a plain page.
    for (const t of TOKENS) await g(`http://${HOST}/reset/${t}`, { headers: { 'stepgate-dev-user': 'victim' } });
    await g(`http://${HOST}/reset/help`, { headers: { 'stepgate-dev-user': 'victim' } });
    const draft = { version: 1, rules: [{ id: 'peek', match: { path: '/reset/*' }, require: { factors: ['totp'], bind: 'session' } }] };
    const r = await as(g, apam, 'POST', `/.stepgate/api/admin/orgs/${ORG}/apps/${appId}/policy/replay`, { policy: draft });
    expect(r.status).toBe(200);
    const b = await bodyOf(r);
    const text = JSON.stringify(b);
    for (const t of TOKENS) expect(text).not.toContain(t.slice(0, 10));
    // The replay still works: the masked route and the short one both change to a step-up.
    const changed = b.changed as { method: string; host: string; path: string; requests: number; from: string; to: string }[];
    expect(changed).toContainEqual({ method: 'GET', host: HOST, path: '/reset/*', requests: TOKENS.length, from: 'pass', to: 'step-up' });
    expect(changed).toContainEqual({ method: 'GET', host: HOST, path: '/reset/help', requests: 1, from: 'pass', to: 'step-up' });
  });

  it('nothing stored for the app holds a token', async () => {
    const rows = await env.DB.prepare('SELECT path FROM route_samples WHERE app_id = ?').bind(appId).all<{ path: string }>();
    expect(rows.results.length).toBeGreaterThan(0);
    for (const t of TOKENS) expect(rows.results.some((x) => x.path.includes(t.slice(0, 10)))).toBe(false);
  });
});
