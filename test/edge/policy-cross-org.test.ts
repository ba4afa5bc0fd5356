/**
 * Cross-organisation reads and writes through the policy endpoints (versions, tools, canary,
 * baseline): another organisation's app id, under mine or under its own, and "bundled" outside
 * "default", are refused (403/404) and nothing is written.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { as, type Caller, newGateway, person, type Send } from './admin-callers';
import { seedApp } from './seed-apps';

const ring = parseKeyring(env.STEPGATE_KEYS);
const HOST = 'policy-cross-org-1.test';
const OTHER_HOST = 'policy-cross-org-2.test';
const gw: Send = newGateway();
let mine: string;
let theirs: string;
let olga: Caller; // owner of rv13x1

const rule = { id: 'r', match: { path: '/secret/**' }, require: { factors: ['webauthn'], bind: 'session' } };

beforeAll(async () => {
  const now = Date.now();
  for (const id of ['rv13x1', 'rv13x2'])
    expect((await createOrg(env.DB, { id, name: id, now, owner: { ring, sub: `${id}/olga`, grantedBy: 'seed' } })).ok).toBe(true);
  mine = (
    await seedApp({ org: 'rv13x1', name: 'mine', hosts: [HOST], originUrl: inject('originUrl'), policy: { version: 1, rules: [rule] } })
  ).id;
  theirs = (
    await seedApp({
      org: 'rv13x2',
      name: 'theirs',
      hosts: [OTHER_HOST],
      originUrl: inject('originUrl'),
      policy: { version: 1, rules: [rule] },
    })
  ).id;
  olga = await person(gw, 'olga', HOST);
}, 60_000);

describe('policies across organisations', () => {
  it('another organisation’s app, by id under my organisation or under its own, and "bundled" outside default', async () => {
    const draft = { version: 1, rules: [] };
    const paths = [
      // their app id under my organisation
      ['POST', `/.stepgate/api/admin/orgs/rv13x1/apps/${theirs}/policy/test`, { method: 'GET', url: '/secret/x' }],
      ['POST', `/.stepgate/api/admin/orgs/rv13x1/apps/${theirs}/policy/replay`, { policy: draft }],
      ['POST', `/.stepgate/api/admin/orgs/rv13x1/apps/${theirs}/policy/check`, { policy: draft }],
      ['POST', `/.stepgate/api/admin/orgs/rv13x1/apps/${theirs}/policy/versions`, { policy: draft }],
      ['POST', `/.stepgate/api/admin/orgs/rv13x1/apps/${theirs}/policy/versions/1/reject`, {}],
      ['POST', `/.stepgate/api/admin/orgs/rv13x1/apps/${theirs}/policy/canary`, { percent: 50 }],
      ['GET', `/.stepgate/api/admin/orgs/rv13x1/apps/${theirs}/policy/versions`, undefined],
      ['PUT', `/.stepgate/api/admin/orgs/rv13x1/apps/${theirs}/policy`, { policy: draft }],
      // their organisation directly
      ['GET', `/.stepgate/api/admin/orgs/rv13x2/apps/${theirs}/policy`, undefined],
      ['PUT', '/.stepgate/api/admin/orgs/rv13x2/policy-baseline', { policy: draft }],
      // the bundled app from a non-default organisation, and the default organisation itself
      ['GET', '/.stepgate/api/admin/orgs/rv13x1/apps/bundled/policy', undefined],
      ['PUT', '/.stepgate/api/admin/orgs/rv13x1/apps/bundled/policy', { policy: draft }],
      ['POST', '/.stepgate/api/admin/orgs/rv13x1/apps/bundled/policy/test', { method: 'GET', url: '/' }],
      ['GET', '/.stepgate/api/admin/orgs/default/apps/bundled/policy', undefined],
    ] as const;
    for (const [method, path, body] of paths) {
      const r = await as(gw, olga, method, path, body);
      expect([403, 404], `${method} ${path}`).toContain(r.status);
    }
    const stored = await env.DB.prepare('SELECT COUNT(*) AS n FROM policy_versions WHERE app_id = ?').bind(theirs).first<{ n: number }>();
    expect(stored!.n).toBe(1);
    void mine;
  });
});
