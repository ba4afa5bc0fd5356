/**
 * @module Callers of the admin API for tests in the Workers pool: a gateway in which the bundled app
 * serves app.test only (every other host is an app in D1), and people who sign in, enrol an
 * authenticator app and hold a fresh step-up — through demo sessions on app.test (organisation
 * "default") or the dev identity header on an app in D1.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { generate } from 'otplib';
import demoPolicy from '../../edge/config/policy.json';
import { createGateway } from '../../edge/gateway';
import { sessionCookie } from '../support/session';

export type Send = (url: string, init?: RequestInit) => Promise<Response>;

/** A new gateway (its own app registry, loaded on first use) over the test environment. */
export function newGateway(): Send {
  const g = createGateway(env, { ...demoPolicy, hosts: ['app.test'] });
  return async (url, init = {}) => {
    const ctx = createExecutionContext();
    const res = await g.fetch(new Request(url, init), env, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  };
}

/** A signed-in person: the headers that identify them, and with a fresh step-up (after `stepUp`). */
export interface Caller {
  name: string;
  host: string;
  plain: Record<string, string>;
  stepped: Record<string, string>;
  secret: string;
}

/** Call `path` on `host` with `headers`; writes as same-origin JSON. */
export const callWith = (send: Send, headers: Record<string, string>, host: string, method: string, path: string, body?: unknown) => {
  const write = method !== 'GET';
  return send(`http://${host}${path}`, {
    method,
    headers: { ...headers, ...(write ? { origin: `http://${host}`, 'content-type': 'application/json' } : {}) },
    ...(write ? { body: JSON.stringify(body ?? {}) } : {}),
  });
};

/** `who` calls with their fresh step-up, on their own host. */
export const as = (send: Send, who: Caller, method: string, path: string, body?: unknown) =>
  callWith(send, who.stepped, who.host, method, path, body);

const seconds = () => Math.floor(Date.now() / 1000);

/** The identifying headers of `name`: a demo session on app.test, else the dev header on `host`. */
export async function signIn(name: string, host = 'app.test'): Promise<Record<string, string>> {
  return host === 'app.test' ? { cookie: await sessionCookie(name, `${name}-${crypto.randomUUID()}`) } : { 'stepgate-dev-user': name };
}

/** Enrol an authenticator app for the person `plain` identifies on `host`; its secret. */
export async function enrol(send: Send, host: string, plain: Record<string, string>): Promise<string> {
  const start = await callWith(send, plain, host, 'POST', '/.stepgate/api/factors/totp', {});
  if (start.status !== 201) throw new Error(`enrolment: ${start.status} ${await start.text()}`);
  const { id, secret } = (await start.json()) as { id: string; secret: string };
  const confirm = await callWith(send, plain, host, 'POST', `/.stepgate/api/factors/totp/${id}/confirm`, {
    code: await generate({ secret, epoch: seconds() - 30 }),
  });
  if (confirm.status !== 200) throw new Error(`confirm: ${confirm.status} ${await confirm.text()}`);
  return secret;
}

/** A fresh step-up with the authenticator app `secret`: the headers that carry it. */
export async function stepUp(send: Send, host: string, plain: Record<string, string>, secret: string): Promise<Record<string, string>> {
  const opened = await callWith(send, plain, host, 'POST', '/.stepgate/api/factors/step-up', {});
  if (opened.status !== 201) throw new Error(`step-up: ${opened.status} ${await opened.text()}`);
  const { challenge_id } = (await opened.json()) as { challenge_id: string };
  const ok = await callWith(send, plain, host, 'POST', `/.stepgate/api/challenges/${challenge_id}/verify`, {
    method: 'totp',
    code: await generate({ secret, epoch: seconds() }),
  });
  if (ok.status !== 200) throw new Error(`verify: ${ok.status} ${await ok.text()}`);
  const grant = ok.headers.get('set-cookie')!.split(';')[0]!;
  return plain.cookie ? { ...plain, cookie: `${plain.cookie}; ${grant}` } : { ...plain, cookie: grant };
}

/** Sign in as `name` on `host`, enrol and step up. */
export async function person(send: Send, name: string, host = 'app.test'): Promise<Caller> {
  const plain = await signIn(name, host);
  const secret = await enrol(send, host, plain);
  return { name, host, plain, secret, stepped: await stepUp(send, host, plain, secret) };
}

export type Body = Record<string, unknown> & { code?: string; detail?: string };
export const bodyOf = async (r: Response): Promise<Body> => JSON.parse(await r.text()) as Body;
