/**
 * @module Helpers for the factor-recovery tests in the Workers pool: a gateway whose clock the test
 * moves (the waiting period, expiry), a one-hour waiting period, and people with an authenticator
 * app and a fresh step-up — of the default organisation (demo sessions on app.test) or of "acme"
 * (the dev identity source on acme.test, people "acme/<name>").
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { generate } from 'otplib';
import { createApp } from '../../edge/admin/app-store';
import { createOrg } from '../../edge/admin/org-store';
import { grantRole } from '../../edge/admin/role-store';
import demoPolicy from '../../edge/config/policy.json';
import { parseKeyring } from '../../edge/crypto/keyring';
import { createGateway } from '../../edge/gateway';
import { sessionCookie } from '../support/session';

export const ring = parseKeyring(env.STEPGATE_KEYS);
/** Moved forward by tests to pass the waiting period or the expiry; the gateway's clock is now + offset. */
export const clock = { offset: 0 };
export const nowMs = () => Date.now() + clock.offset;
const g = createGateway(env, { ...demoPolicy, hosts: ['app.test'] }, { now: nowMs });
/** The waiting period of these tests. */
export const WAIT_MS = 60 * 60 * 1000;
// The development config sets minutes for the demo; these tests use RECOVERY_WAIT_HOURS, as production does.
const testEnv = { ...env, RECOVERY_WAIT_HOURS: '1', RECOVERY_WAIT_MINUTES: '' };
export const API = '/.stepgate/api/admin';
export const ACME_HOST = 'acme.test';

export async function send(url: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await g.fetch(new Request(url, init), testEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A signed-in person: headers that identify them (`plain`), and with a fresh step-up (`stepped`). */
export interface Caller {
  name: string;
  host: string;
  plain: Record<string, string>;
  stepped: Record<string, string>;
  secret: string;
}

/** A request as a Stepgate page sends it: same-origin JSON for a write. */
export const call = (headers: Record<string, string>, host: string, method: string, path: string, body?: unknown) => {
  const write = method !== 'GET';
  return send(`http://${host}${path}`, {
    method,
    headers: { ...headers, ...(write ? { origin: `http://${host}`, 'content-type': 'application/json' } : {}) },
    ...(write ? { body: JSON.stringify(body ?? {}) } : {}),
  });
};
/** As `who`, with their fresh step-up. */
export const as = (who: Caller, method: string, path: string, body?: unknown) => call(who.stepped, who.host, method, path, body);
/** As `who`, identified only (no step-up): how a person who lost their factors calls. */
export const plainly = (who: Caller, method: string, path: string, body?: unknown) => call(who.plain, who.host, method, path, body);

export type Body = Record<string, unknown> & { code?: string; detail?: string; retry_at?: string };
export const bodyOf = async (r: Response): Promise<Body> => JSON.parse(await r.text()) as Body;
const seconds = () => Math.floor(nowMs() / 1000);

/** A fresh step-up of `who` at the clock's time, with the authenticator app's code of that time: `who` with it. */
export async function freshStepUp(who: Omit<Caller, 'stepped'>): Promise<Caller> {
  const post = (path: string, body: unknown = {}) => call(who.plain, who.host, 'POST', path, body);
  const { challenge_id } = (await (await post('/.stepgate/api/factors/step-up')).json()) as { challenge_id: string };
  const ok = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, {
    method: 'totp',
    code: await generate({ secret: who.secret, epoch: seconds() }),
  });
  if (ok.status !== 200) throw new Error(`step-up of ${who.name}: ${ok.status} ${await ok.text()}`);
  const grant = ok.headers.get('set-cookie')!.split(';')[0]!;
  const stepped = who.plain.cookie ? { ...who.plain, cookie: `${who.plain.cookie}; ${grant}` } : { ...who.plain, cookie: grant };
  return { ...who, stepped };
}

/** Sign in, enrol an authenticator app and step up (at the clock's time). */
export async function person(name: string, org: 'default' | 'acme' = 'default'): Promise<Caller> {
  const host = org === 'default' ? 'app.test' : ACME_HOST;
  const plain: Record<string, string> =
    org === 'default' ? { cookie: await sessionCookie(name, `${name}-recovery`) } : { 'stepgate-dev-user': name };
  const post = (path: string, body: unknown = {}) => call(plain, host, 'POST', path, body);
  const start = (await (await post('/.stepgate/api/factors/totp')).json()) as { id: string; secret: string };
  const confirm = await post(`/.stepgate/api/factors/totp/${start.id}/confirm`, {
    code: await generate({ secret: start.secret, epoch: seconds() - 30 }),
  });
  if (confirm.status !== 200) throw new Error(`enrolment of ${name}: ${confirm.status} ${await confirm.text()}`);
  return freshStepUp({ name, host, plain, secret: start.secret });
}

/** The organisation "acme" with its app on acme.test (dev identity), its owner and an admin. */
export async function seedAcme(): Promise<void> {
  const now = Date.now();
  const org = await createOrg(env.DB, { id: 'acme', name: 'Acme Corp', now, owner: { ring, sub: 'acme/boss', grantedBy: 'seed' } });
  if (!org.ok) throw new Error('acme');
  const a = await createApp(env.DB, ring, {
    orgId: 'acme',
    name: 'acme-internal',
    hosts: [ACME_HOST],
    originUrl: null,
    identity: { source: 'dev' },
    policy: { version: 1, rules: [] },
    createdBy: 'acme/boss',
    now,
    development: true,
  });
  if (!a.ok) throw new Error('acme app');
  const r = await grantRole(env.DB, ring, { orgId: 'acme', sub: 'acme/ada', role: 'admin', grantedBy: 'acme/boss', now });
  if (!r.ok) throw new Error('acme admin');
}
