/**
 * Personal API tokens, made and kept (Workers pool, real D1): made only in a browser after a fresh
 * step-up, only with scopes the person's roles could use, capped per person even under racing
 * creations; one person's list never shows another's; a token stops at once when it is revoked,
 * when it expires, when its owner loses the role, or when its row is edited in D1.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { createToken, MAX_LIVE_TOKENS, MAX_STORED_TOKENS, revokeToken } from '../../edge/admin/api-tokens';
import { listRoleGrants } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { blindIndex } from '../../edge/crypto/blind-index';
import { as, type Caller, makeToken, person, send, withToken } from './admin-callers';
import { seedRole } from './seed-roles';

const ring = parseKeyring(env.STEPGATE_KEYS);
const ROLES = '/.stepgate/api/admin/orgs/default/roles';
let olga: Caller; // owner
let adam: Caller; // admin
let audrey: Caller; // auditor
let hank: Caller; // helpdesk
let nina: Caller; // no role

const rowsOf = async (sub: string) =>
  (await env.DB.prepare('SELECT COUNT(*) AS n FROM api_tokens WHERE user_ref = ?')
    .bind(await blindIndex(ring, 'user', sub))
    .first<{ n: number }>())!.n;

beforeAll(async () => {
  for (const [name, role] of [
    ['olga', 'owner'],
    ['adam', 'admin'],
    ['audrey', 'auditor'],
    ['hank', 'helpdesk'],
  ] as const)
    await seedRole(name, role);
  [olga, adam, audrey, hank, nina] = await Promise.all([person('olga'), person('adam'), person('audrey'), person('hank'), person('nina')]);
}, 60_000);

describe('making a token', () => {
  it('needs a fresh step-up, in a browser: never from another token', async () => {
    const r = await send('http://app.test/.stepgate/api/tokens', {
      method: 'POST',
      headers: { ...adam.plain, origin: 'http://app.test', 'content-type': 'application/json' },
      body: JSON.stringify({ scopes: ['admin:read'], label: 'x' }),
    });
    expect(r.status).toBe(403);
    expect(await r.json()).toMatchObject({ code: 'ERR_FRESH_STEP_UP_REQUIRED' });
    expect(await rowsOf('adam')).toBe(0);
    const { token } = await makeToken(adam, ['admin:read', 'admin:write']);
    const again = await withToken(token, 'app.test', 'POST', '/.stepgate/api/tokens', { scopes: ['admin:read'], label: 'y' });
    expect(again.status).toBe(403);
    expect(((await again.json()) as { detail: string }).detail).toMatch(/in the browser/);
    expect(await rowsOf('adam')).toBe(1);
  });

  it('only with scopes one of the person’s roles could use', async () => {
    const cases: [Caller, string, number][] = [
      [olga, 'admin:write', 201],
      [adam, 'audit:read', 201],
      [audrey, 'audit:read', 201],
      [audrey, 'admin:read', 403], // an auditor reads the log, not the apps or roles
      [audrey, 'admin:write', 403],
      [hank, 'admin:read', 403], // helpdesk only unlocks and starts recoveries: in a browser
      [hank, 'admin:write', 403],
      [hank, 'audit:read', 403],
      [nina, 'audit:read', 403],
      [nina, 'admin:read', 403],
    ];
    for (const [who, scope, status] of cases) {
      const before = await rowsOf(who.name);
      const r = await makeToken(who, [scope]);
      expect([who.name, scope, r.status]).toEqual([who.name, scope, status]);
      if (status === 403) {
        expect(r.body.detail).toBe(`scopes: none of your roles in this organisation can use ${scope}`);
        expect(await rowsOf(who.name)).toBe(before);
      } else expect(r.body).toMatchObject({ org: 'default', scopes: [scope] });
    }
    expect((await makeToken(olga, ['admin:everything'])).status).toBe(400);
    expect((await makeToken(audrey, ['audit:read', 'admin:read'])).status).toBe(403); // one unusable scope refuses all
  });

  it(`is capped: of racing creations exactly ${MAX_LIVE_TOKENS} live tokens are made; revoking one frees a place`, async () => {
    const carl = await person('carl');
    await seedRole('carl', 'admin');
    const results = await Promise.all(Array.from({ length: MAX_LIVE_TOKENS + 6 }, (_, i) => makeToken(carl, ['admin:read'], `t${i}`)));
    const made = results.filter((r) => r.status === 201);
    expect(made).toHaveLength(MAX_LIVE_TOKENS);
    expect(results.filter((r) => r.status === 409).every((r) => /too many tokens/.test(String(r.body.detail)))).toBe(true);
    expect(await rowsOf('carl')).toBe(MAX_LIVE_TOKENS);
    expect((await as(carl, 'POST', `/.stepgate/api/tokens/${made[0]!.id}/revoke`, {})).status).toBe(200);
    expect((await makeToken(carl, ['admin:read'])).status).toBe(201);
  });

  it(`keeps at most ${MAX_STORED_TOKENS} rows per person, however many are made and revoked`, async () => {
    const now = Date.now();
    let refused = 0;
    for (let i = 0; i < MAX_STORED_TOKENS + 5; i++) {
      try {
        const { info } = await createToken(env.DB, ring, 'looper', { scopes: ['audit:read'], ttlDays: 1, label: 'l', now });
        await revokeToken(env.DB, ring, 'looper', info.id, now);
      } catch {
        refused++;
      }
    }
    expect(refused).toBe(5);
    expect(await rowsOf('looper')).toBe(MAX_STORED_TOKENS);
    // A week later the ended ones are gone when the next token is made.
    await createToken(env.DB, ring, 'looper', { scopes: ['audit:read'], ttlDays: 1, label: 'l', now: now + 8 * 86_400_000 });
    expect(await rowsOf('looper')).toBe(1);
  });
});

describe('listing', () => {
  it('one person’s list never shows another’s tokens, not even one whose owner index was copied in D1', async () => {
    const mine = await makeToken(audrey, ['audit:read'], 'audrey-laptop');
    const theirs = await makeToken(adam, ['admin:read'], 'adam-ci');
    const list = async (who: Caller) =>
      ((await (await as(who, 'GET', '/.stepgate/api/tokens')).json()) as { tokens: { id: string; label: string }[] }).tokens;
    expect((await list(audrey)).map((t) => t.id)).toContain(mine.id);
    expect((await list(audrey)).map((t) => t.id)).not.toContain(theirs.id);
    expect(JSON.stringify(await list(nina))).not.toMatch(/audrey|adam/);
    // adam's row given audrey's blind index: not listed for audrey, and it no longer works for anyone.
    await env.DB.prepare('UPDATE api_tokens SET user_ref = ? WHERE id = ?')
      .bind(await blindIndex(ring, 'user', 'audrey'), theirs.id)
      .run();
    expect((await list(audrey)).map((t) => t.id)).not.toContain(theirs.id);
    expect((await withToken(theirs.token, 'app.test', 'GET', ROLES)).status).toBe(401);
  });
});

describe('a token stops at once', () => {
  const readRoles = (token: string) => withToken(token, 'app.test', 'GET', ROLES);

  it('when revoked, even with uses racing the revocation', async () => {
    const { token, id } = await makeToken(olga, ['admin:read']);
    expect((await readRoles(token)).status).toBe(200);
    const [revoked] = await Promise.all([
      as(olga, 'POST', `/.stepgate/api/tokens/${id}/revoke`, {}),
      ...Array.from({ length: 10 }, () => readRoles(token)),
    ]);
    expect(revoked.status).toBe(200);
    const after = await Promise.all(Array.from({ length: 10 }, () => readRoles(token)));
    expect(after.map((r) => r.status)).toEqual(Array(10).fill(401));
  });

  it('when it expires', async () => {
    const { token } = await createToken(env.DB, ring, 'olga', {
      scopes: ['admin:read'],
      ttlDays: 1,
      label: 'old',
      now: Date.now() - 86_400_000 - 1000,
    });
    expect((await readRoles(token)).status).toBe(401);
  });

  it('when its owner loses the role (the roles are read at each use)', async () => {
    const dora = await person('dora');
    await seedRole('dora', 'admin');
    const { token } = await makeToken(dora, ['admin:read']);
    expect((await readRoles(token)).status).toBe(200);
    const [grant] = await listRoleGrants(env.DB, ring, { orgId: 'default', sub: 'dora' });
    expect((await as(olga, 'DELETE', `${ROLES}/${grant!.id}`, {})).status).toBe(200);
    const r = await readRoles(token);
    expect(r.status).toBe(404); // no role in the organisation any more: as for a session, nothing is named
    expect(await r.json()).toMatchObject({ detail: 'No such organisation, or you hold no role in it.' });
  });

  it('when its row is moved to another organisation in D1', async () => {
    const { token, id } = await makeToken(olga, ['admin:read']);
    await env.DB.prepare("UPDATE api_tokens SET org_id = 'acme' WHERE id = ?").bind(id).run();
    expect((await readRoles(token)).status).toBe(401);
    expect((await withToken(token, 'app.test', 'GET', '/.stepgate/api/admin/orgs/acme/roles')).status).toBe(401);
  });
});

describe('GET /.stepgate/api/tokens/current', () => {
  it('tells the holder whose token it is, where it works and what it may do; nothing without a valid token', async () => {
    const { token, id } = await makeToken(adam, ['admin:read', 'admin:write'], 'ci');
    const r = await withToken(token, 'app.test', 'GET', '/.stepgate/api/tokens/current');
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ id, org: 'default', user: 'adam', label: 'ci', scopes: ['admin:read', 'admin:write'] });
    expect(JSON.stringify(await withToken(token, 'app.test', 'GET', '/.stepgate/api/tokens/current').then((x) => x.json()))).not.toContain(
      token.split('.')[2]!,
    );
    expect((await send('http://app.test/.stepgate/api/tokens/current')).status).toBe(401);
    expect((await withToken(`${token.slice(0, -1)}x`, 'app.test', 'GET', '/.stepgate/api/tokens/current')).status).toBe(401);
  });
});
