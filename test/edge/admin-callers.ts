/**
 * @module Callers of the admin API for tests in the Workers pool: one gateway in which the bundled
 * app serves app.test only (other hosts are apps in D1), people who sign in, enrol an authenticator
 * app and hold a fresh step-up (demo sessions on app.test, the dev identity header elsewhere), and
 * personal API tokens they make and present.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { generate } from 'otplib';
import demoPolicy from '../../edge/config/policy.json';
import { createGateway } from '../../edge/gateway';
import { sessionCookie } from '../support/session';

const g = createGateway(env, { ...demoPolicy, hosts: ['app.test'] });

/** Send a request through the gateway, waiting for what it does after answering. */
export async function send(url: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await g.fetch(new Request(url, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A signed-in person with a factor: the headers that identify them, and those that also carry a fresh step-up. */
export interface Caller {
  name: string;
  host: string;
  plain: Record<string, string>;
  stepped: Record<string, string>;
}

const call = (headers: Record<string, string>, host: string, method: string, path: string, body?: unknown) => {
  const write = method !== 'GET';
  return send(`http://${host}${path}`, {
    method,
    headers: { ...headers, ...(write ? { origin: `http://${host}`, 'content-type': 'application/json' } : {}) },
    ...(write ? { body: JSON.stringify(body ?? {}) } : {}),
  });
};

/** `who` calls `path` on their own host with their fresh step-up; writes as same-origin JSON. */
export const as = (who: Caller, method: string, path: string, body?: unknown) => call(who.stepped, who.host, method, path, body);

const seconds = () => Math.floor(Date.now() / 1000);

/** Sign in as `name` (a demo session on app.test, else the dev header on `host`), enrol an authenticator app, step up. */
export async function person(name: string, host = 'app.test'): Promise<Caller> {
  const plain: Record<string, string> =
    host === 'app.test' ? { cookie: await sessionCookie(name, `${name}-${crypto.randomUUID()}`) } : { 'stepgate-dev-user': name };
  const post = (path: string, body: unknown = {}) => call(plain, host, 'POST', path, body);
  const start = (await (await post('/.stepgate/api/factors/totp')).json()) as { id: string; secret: string };
  const confirm = await post(`/.stepgate/api/factors/totp/${start.id}/confirm`, {
    code: await generate({ secret: start.secret, epoch: seconds() - 30 }),
  });
  if (confirm.status !== 200) throw new Error(`enrolment of ${name}: ${confirm.status} ${await confirm.text()}`);
  const { challenge_id } = (await (await post('/.stepgate/api/factors/step-up')).json()) as { challenge_id: string };
  const ok = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, {
    method: 'totp',
    code: await generate({ secret: start.secret, epoch: seconds() }),
  });
  if (ok.status !== 200) throw new Error(`step-up of ${name}: ${ok.status} ${await ok.text()}`);
  const grant = ok.headers.get('set-cookie')!.split(';')[0]!;
  const stepped = plain.cookie ? { ...plain, cookie: `${plain.cookie}; ${grant}` } : { ...plain, cookie: grant };
  return { name, host, plain, stepped };
}

/** `who` makes a personal API token with `scopes`: the answer's status and body, and the token and its id when made. */
export async function makeToken(
  who: Caller,
  scopes: string[],
  label = 'test',
): Promise<{ status: number; body: Record<string, unknown> & { detail?: string }; token: string; id: string }> {
  const r = await as(who, 'POST', '/.stepgate/api/tokens', { scopes, label });
  const body = (await r.json()) as Record<string, unknown> & { detail?: string };
  return { status: r.status, body, token: String(body.token ?? ''), id: String(body.id ?? '') };
}

/** Call `path` on `host` with a personal API token (no session, no Origin: as the CLI does); a body goes as JSON. */
export const withToken = (token: string, host: string, method: string, path: string, body?: unknown) =>
  send(`http://${host}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
