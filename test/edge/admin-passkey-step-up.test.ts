/**
 * Administration asks a person who has a passkey for a step-up made with it (issue 12, item 4:
 * "phishing-resistant factor where the person has one"), in the Workers pool with real D1 and
 * Durable Objects and a software authenticator. A grant made with a code (TOTP) is refused on the
 * admin API, the console pages, token creation and audit reads — with a 403 that names the passkey
 * (`Stepgate-Step-Up-Factors: webauthn`) and changes nothing — and a passkey-made grant passes. A
 * person without a passkey keeps using their code. Managing one's own factors takes any factor, so a
 * person who lost their passkey removes it with a code (and from then on their code is enough).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { STEP_UP_FACTORS_HEADER } from '../../shared/wire-shapes';
import { enrolTotp, factorsStepUp, gw, ORIGIN, type Person, post } from '../support/edge-flow';
import { SoftAuthenticator } from '../support/soft-authenticator';
import { seedRole } from './seed-roles';

const ORG_API = '/.stepgate/api/admin/orgs/default';
const get = (path: string, cookie: string, accept = 'application/json') => gw(path, { headers: { cookie, accept } });
const grantOf = (res: Response) => res.headers.get('set-cookie')!.split(';')[0]!;

/** A fresh step-up answered with `key`: the cookie header with its grant. */
async function passkeyStepUp(p: Person, key: SoftAuthenticator): Promise<string> {
  const { challenge_id } = (await (await post('/.stepgate/api/factors/step-up', p.cookie)).json()) as { challenge_id: string };
  const options = (await (await post(`/.stepgate/api/challenges/${challenge_id}/webauthn/options`, p.cookie)).json()) as {
    challenge: string;
  };
  const ok = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, p.cookie, {
    method: 'webauthn',
    response: await key.authenticate(options),
  });
  expect(ok.status).toBe(200);
  return `${p.cookie}; ${grantOf(ok)}`;
}

/** Refused for want of a passkey-made step-up: 403, the code, the passkey named in words and in the header. */
async function expectPasskeyAsked(res: Response): Promise<void> {
  expect(res.status).toBe(403);
  expect(res.headers.get(STEP_UP_FACTORS_HEADER)).toBe('webauthn');
  const body = (await res.json()) as { code: string; detail: string };
  expect(body.code).toBe('ERR_FRESH_STEP_UP_REQUIRED');
  expect(body.detail).toMatch(/passkey/);
}

const roleGrants = async (cookie: string) =>
  ((await (await get(`${ORG_API}/roles`, cookie)).json()) as { grants: { person: string; role: string }[] }).grants;
const tokensOf = async (cookie: string) => ((await (await get('/.stepgate/api/tokens', cookie)).json()) as { tokens: unknown[] }).tokens;

let pia: Person; // an admin with an authenticator app and a passkey
let key: SoftAuthenticator;
let piaCode: string; // Pia's cookie with a step-up made with her authenticator app
let piaPasskey: string; // Pia's cookie with a step-up made with her passkey
let tom: Person; // an admin with an authenticator app only
let tomCode: string;

beforeAll(async () => {
  pia = await enrolTotp('pia-admin', `pia-${crypto.randomUUID()}`);
  await seedRole(pia.user, 'admin');
  // The code-made grant is taken before the passkey exists: adding a passkey makes it too weak at once.
  piaCode = await factorsStepUp(pia);
  key = new SoftAuthenticator(ORIGIN, 'app.test');
  const options = (await (await post('/.stepgate/api/factors/webauthn/options', piaCode)).json()) as { challenge: string };
  const added = await post('/.stepgate/api/factors/webauthn/verify', piaCode, {
    response: await key.register(options),
    nickname: 'pia key',
  });
  expect(added.status).toBe(201);
  piaPasskey = await passkeyStepUp(pia, key);

  tom = await enrolTotp('tom-admin', `tom-${crypto.randomUUID()}`);
  await seedRole(tom.user, 'admin');
  tomCode = await factorsStepUp(tom);
}, 60_000);

describe('a person with a passkey, stepped up with a code', () => {
  it('is refused on admin API reads and writes, naming the passkey; the write changes nothing', async () => {
    await expectPasskeyAsked(await get(`${ORG_API}/apps`, piaCode));
    await expectPasskeyAsked(await get(`${ORG_API}/roles`, piaCode));
    await expectPasskeyAsked(await get(`${ORG_API}/dashboard`, piaCode));
    await expectPasskeyAsked(await post(`${ORG_API}/roles`, piaCode, { person: 'someone-new', role: 'auditor' }));
    expect((await roleGrants(piaPasskey)).some((g) => g.person === 'someone-new')).toBe(false);
  });

  it('is refused inviting, unlocking, reading who she is and listing organisations', async () => {
    await expectPasskeyAsked(await post('/.stepgate/api/admin/invites', piaCode, { user: 'someone-new' }));
    await expectPasskeyAsked(await post('/.stepgate/api/admin/unlock', piaCode, { user: 'someone-new' }));
    await expectPasskeyAsked(await get('/.stepgate/api/admin/me', piaCode));
    await expectPasskeyAsked(await get('/.stepgate/api/admin/orgs', piaCode));
  });

  it('is refused making an API token (none is made) and reading the audit log', async () => {
    await expectPasskeyAsked(await post('/.stepgate/api/tokens', piaCode, { scopes: ['admin:read'], label: 'weak' }));
    expect(await tokensOf(pia.cookie)).toEqual([]);
    await expectPasskeyAsked(await get('/.stepgate/api/admin/audit/events', piaCode));
  });

  it('sees a console page ask for the passkey only, and no data', async () => {
    for (const path of ['/.stepgate/admin', '/.stepgate/admin/apps', '/.stepgate/admin/tokens']) {
      const res = await get(path, piaCode, 'text/html');
      const html = await res.text();
      expect(res.status, path).toBe(200);
      expect(html).toContain('data-state="confirm"');
      expect(html).toMatch(/<section id="confirm" class="confirm">/);
      expect(html).toContain('<form id="confirm-form" novalidate hidden>');
      expect(html).toMatch(/You have a passkey, so administration needs you to confirm it is you with it/);
      expect(html).not.toContain('data-state="ready"');
    }
  });

  it('is asked for the passkey before any step-up too (the console offers it from the start)', async () => {
    await expectPasskeyAsked(await get(`${ORG_API}/apps`, pia.cookie));
    const html = await (await get('/.stepgate/admin/apps', pia.cookie, 'text/html')).text();
    expect(html).toContain('<form id="confirm-form" novalidate hidden>');
  });

  it('cannot claim a passkey by editing the grant’s amr (the MAC no longer verifies)', async () => {
    const cookie = piaCode.split('; ').at(-1)!;
    const [name, token] = cookie.split('=') as [string, string];
    const [prefix, kid, payload, mac] = token.split('.') as [string, string, string, string];
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { amr: string[] };
    claims.amr = ['hwk', 'user'];
    const forged = btoa(JSON.stringify(claims)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    await expectPasskeyAsked(await get(`${ORG_API}/apps`, `${pia.cookie}; ${name}=${prefix}.${kid}.${forged}.${mac}`));
  });
});

describe('a person with a passkey, stepped up with it', () => {
  it('is allowed on the admin API, the console pages, token creation and the audit log', async () => {
    expect((await get(`${ORG_API}/apps`, piaPasskey)).status).toBe(200);
    expect((await get('/.stepgate/api/admin/audit/events', piaPasskey)).status).toBe(200);
    const html = await (await get('/.stepgate/admin/apps', piaPasskey, 'text/html')).text();
    expect(html).toContain('data-state="ready"');
    const made = await post('/.stepgate/api/tokens', piaPasskey, { scopes: ['admin:read'], label: 'strong' });
    expect(made.status).toBe(201);
    expect(await tokensOf(pia.cookie)).toHaveLength(1);
  });

  it('is allowed for many admin calls at once with one passkey-made grant', async () => {
    const all = await Promise.all(Array.from({ length: 10 }, () => get(`${ORG_API}/roles`, piaPasskey)));
    expect(all.map((r) => r.status)).toEqual(Array(10).fill(200));
  });
});

describe('a person without a passkey', () => {
  it('keeps using their authenticator app for administration; the console offers the code', async () => {
    const res = await get(`${ORG_API}/apps`, tomCode);
    expect(res.status).toBe(200);
    expect(res.headers.get(STEP_UP_FACTORS_HEADER)).toBeNull();
    expect((await post('/.stepgate/api/tokens', tomCode, { scopes: ['admin:read'], label: 'tom' })).status).toBe(201);
    expect((await get('/.stepgate/admin/apps', tomCode, 'text/html')).status).toBe(200);
    const confirm = await (await get('/.stepgate/admin/apps', tom.cookie, 'text/html')).text();
    expect(confirm).toContain('data-state="confirm"');
    expect(confirm).toContain('<form id="confirm-form" novalidate>');
    const refused = await get(`${ORG_API}/apps`, tom.cookie);
    expect(refused.status).toBe(403);
    expect(refused.headers.get(STEP_UP_FACTORS_HEADER)).toBeNull();
  });
});

describe('managing one’s own factors takes any factor', () => {
  it('a person who lost their passkey removes it with a code, and from then on the code is enough', async () => {
    const removed = await post('/.stepgate/api/factors/remove', piaCode, { kind: 'webauthn', id: key.id });
    expect(removed.status).toBe(200);
    const factors = (await (await get('/.stepgate/api/factors', pia.cookie)).json()) as { webauthn: unknown[] };
    expect(factors.webauthn).toEqual([]);
    expect((await get(`${ORG_API}/apps`, piaCode)).status).toBe(200);
  });
});
