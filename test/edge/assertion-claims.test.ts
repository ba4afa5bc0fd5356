/**
 * Stepgate-Assertion names the organisation and app a request is for (`org`, `app`), for the bundled
 * app and for an app in D1 (Workers pool, the real demo origin on loopback). One key signs for every
 * app of the deployment, so the signature alone does not tell an origin the assertion is its own:
 * an origin that checks `iss`, `aud`, `typ`, `org` and `app` as docs/security.md says accepts its
 * own assertion and refuses another app's, though both verify against the same keys.
 */
import { env } from 'cloudflare:test';
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { generate } from 'otplib';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { callWith, enrol, newGateway, signIn } from './admin-callers';
import { seedApp } from './seed-apps';

const send = newGateway();
const ACME_HOST = 'acme-shop.test';
let acmeApp: string;

beforeAll(async () => {
  const now = Date.now();
  expect((await createOrg(env.DB, { id: 'acme', name: 'Acme', now })).ok).toBe(true);
  const acme = await seedApp({
    org: 'acme',
    name: 'shop',
    hosts: [ACME_HOST],
    originUrl: inject('originUrl'),
    policy: {
      version: 1,
      rules: [
        { id: 'acme-delete', match: { methods: ['DELETE'], path: '/api/projects/*' }, require: { factors: ['totp'], bind: 'action' } },
      ],
    },
    now,
  });
  acmeApp = acme.id;
});

/** `who` approves DELETE `path` on `host` with TOTP; the assertion the origin received with it. */
async function assertionFor(host: string, headers: Record<string, string>, secret: string, path: string): Promise<string> {
  const first = await send(`http://${host}${path}`, { method: 'DELETE', headers });
  expect(first.status).toBe(401);
  const { challenge_id } = (await first.json()) as { challenge_id: string };
  const ok = await callWith(send, headers, host, 'POST', `/.stepgate/api/challenges/${challenge_id}/verify`, {
    method: 'totp',
    code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) }),
  });
  expect(ok.status).toBe(200);
  await send(`http://${host}${path}`, { method: 'DELETE', headers });
  const seen = (
    (await (await fetch(`${inject('originUrl')}/__demo/requests`)).json()) as { url: string; headers: Record<string, string> }[]
  ).filter((r) => r.url === path);
  expect(seen).toHaveLength(1);
  return seen[0]!.headers['stepgate-assertion']!;
}

/** An origin's check (docs/security.md): the signature, issuer, audience, type, and that it is for this organisation and app. */
async function originAccepts(token: string, own: { host: string; org: string; app: string }): Promise<JWTPayload | null> {
  const jwks = createLocalJWKSet((await (await send(`http://${own.host}/.well-known/stepgate/jwks.json`)).json()) as { keys: [] });
  try {
    const { payload } = await jwtVerify(token, jwks, {
      algorithms: ['EdDSA'],
      issuer: 'stepgate',
      audience: own.host,
      typ: 'stepgate-assertion+jwt',
    });
    return payload.org === own.org && payload.app === own.app ? payload : null;
  } catch {
    return null;
  }
}

const bundled = { host: 'app.test', org: 'default', app: 'bundled' };

describe('the assertion’s org and app claims', () => {
  let bundledToken: string;
  let acmeToken: string;

  it('the bundled app: org "default", app "bundled"', async () => {
    const headers = await signIn('asa');
    const secret = await enrol(send, 'app.test', headers);
    bundledToken = await assertionFor('app.test', headers, secret, '/api/projects/5?m=claims-bundled');
    const payload = await originAccepts(bundledToken, bundled);
    expect(payload).toMatchObject({ sub: 'asa', aud: 'app.test', org: 'default', app: 'bundled', rule: 'delete-project' });
  });

  it('an app in D1: its organisation and its id; `sub` the app’s own subject', async () => {
    const headers = await signIn('ann', ACME_HOST);
    const secret = await enrol(send, ACME_HOST, headers);
    acmeToken = await assertionFor(ACME_HOST, headers, secret, '/api/projects/6?m=claims-acme');
    const own = { host: ACME_HOST, org: 'acme', app: acmeApp };
    expect(await originAccepts(acmeToken, own)).toMatchObject({
      sub: 'ann',
      aud: ACME_HOST,
      org: 'acme',
      app: acmeApp,
      rule: 'acme-delete',
    });
  });

  it('an origin that checks the claims refuses another app’s assertion, though its signature verifies', async () => {
    const jwks = createLocalJWKSet((await (await send('http://app.test/.well-known/stepgate/jwks.json')).json()) as { keys: [] });
    await expect(jwtVerify(acmeToken, jwks)).resolves.toBeDefined(); // one key for every app
    // The bundled app's origin: another host, organisation and app.
    expect(await originAccepts(acmeToken, bundled)).toBeNull();
    // Even were the host the same, another organisation or app is refused.
    expect(await originAccepts(acmeToken, { host: ACME_HOST, org: 'default', app: acmeApp })).toBeNull();
    expect(await originAccepts(acmeToken, { host: ACME_HOST, org: 'acme', app: 'bundled' })).toBeNull();
    expect(await originAccepts(bundledToken, { ...bundled, org: 'acme' })).toBeNull();
  });

  it('the claims cannot be edited: a changed org breaks the signature', async () => {
    const [h, p, s] = acmeToken.split('.') as [string, string, string];
    const claims = JSON.parse(
      new TextDecoder().decode(Uint8Array.from(atob(p.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))),
    );
    const forged = btoa(JSON.stringify({ ...claims, org: 'default', app: 'bundled', aud: 'app.test' }))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
    expect(await originAccepts(`${h}.${forged}.${s}`, bundled)).toBeNull();
  });
});
