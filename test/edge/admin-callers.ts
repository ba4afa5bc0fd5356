/**
 * @module Callers of the admin API for tests in the Workers pool, the one place of them: gateways in
 * which the bundled app serves app.test only (other hosts are apps in D1), on the test's clock and
 * environment if it has its own; people who sign in, enrol an authenticator app and hold a fresh
 * step-up (demo sessions on app.test, the dev identity header elsewhere); and personal API tokens
 * they make and present. `send`, and `as` and `person` called without a gateway, use one gateway
 * shared by the test file.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { generate } from 'otplib';
import demoPolicy from '../../edge/config/policy.json';
import { createGateway } from '../../edge/gateway';
import { sessionCookie } from '../support/session';

export type Send = (url: string, init?: RequestInit) => Promise<Response>;
/** A clock in ms, as `Date.now`. */
type Clock = () => number;

/**
 * A new gateway (its own app registry, loaded on first use) over the test environment: each request
 * is sent with `o.env` (settings a test changes) and the gateway runs on `o.now` when given.
 */
export function newGateway(o: { now?: Clock; env?: typeof env } = {}): Send {
  const g = createGateway(env, { ...demoPolicy, hosts: ['app.test'] }, { now: o.now });
  return async (url, init = {}) => {
    const ctx = createExecutionContext();
    const res = await g.fetch(new Request(url, init), o.env ?? env, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  };
}

let shared: Send | undefined;
/** Send a request through the test file's shared gateway, waiting for what it does after answering. */
export const send: Send = (url, init) => {
  shared ??= newGateway();
  return shared(url, init);
};

/** A signed-in person with a factor: the headers that identify them, and those that also carry a fresh step-up. */
export interface Caller {
  name: string;
  host: string;
  plain: Record<string, string>;
  stepped: Record<string, string>;
  /** Their authenticator app's secret (for another step-up). */
  secret: string;
}

/** Call `path` on `host` with `headers`; writes as same-origin JSON (a string body is sent as it is: malformed JSON). */
export const callWith = (on: Send, headers: Record<string, string>, host: string, method: string, path: string, body?: unknown) => {
  const write = method !== 'GET';
  return on(`http://${host}${path}`, {
    method,
    headers: { ...headers, ...(write ? { origin: `http://${host}`, 'content-type': 'application/json' } : {}) },
    ...(write ? { body: typeof body === 'string' ? body : JSON.stringify(body ?? {}) } : {}),
  });
};

/** Whom `as` needs: where they are, and their headers with a fresh step-up. */
type SteppedUp = Pick<Caller, 'host' | 'stepped'>;
type AsArgs = [who: SteppedUp, method: string, path: string, body?: unknown];

/** `who` calls `path` on their own host with their fresh step-up, through the gateway `on` (else the shared one). */
export function as(...a: AsArgs): Promise<Response>;
export function as(on: Send, ...a: AsArgs): Promise<Response>;
export function as(...a: AsArgs | [Send, ...AsArgs]): Promise<Response> {
  const [on, [who, method, path, body]] = typeof a[0] === 'function' ? [a[0], a.slice(1) as AsArgs] : [send, a as AsArgs];
  return callWith(on, who.stepped, who.host, method, path, body);
}

const secondsOf = (now: Clock) => Math.floor(now() / 1000);

/** The identifying headers of `name`: a demo session (`session`, else a new one) on app.test, else the dev header on `host`. */
export async function signIn(name: string, host = 'app.test', session = `${name}-${crypto.randomUUID()}`): Promise<Record<string, string>> {
  return host === 'app.test' ? { cookie: await sessionCookie(name, session) } : { 'stepgate-dev-user': name };
}

/** Enrol an authenticator app for the person `plain` identifies on `host` (at `now`'s time); its secret. */
export async function enrol(on: Send, host: string, plain: Record<string, string>, now: Clock = Date.now): Promise<string> {
  const start = await callWith(on, plain, host, 'POST', '/.stepgate/api/factors/totp', {});
  if (start.status !== 201) throw new Error(`enrolment: ${start.status} ${await start.text()}`);
  const { id, secret } = (await start.json()) as { id: string; secret: string };
  const confirmWith = async () =>
    callWith(on, plain, host, 'POST', `/.stepgate/api/factors/totp/${id}/confirm`, {
      code: await generate({ secret, epoch: secondsOf(now) - 30 }),
    });
  let confirm = await confirmWith();
  // The previous time step's code was made just before a step boundary the server had passed: once more, for the new step.
  if (confirm.status === 400 && ((await confirm.clone().json()) as { code?: string }).code === 'ERR_FACTOR_INVALID')
    confirm = await confirmWith();
  if (confirm.status !== 200) throw new Error(`confirm: ${confirm.status} ${await confirm.text()}`);
  return secret;
}

/** A fresh step-up with the authenticator app `secret`, its code of `now`'s time: the headers that carry it. */
export async function stepUp(
  on: Send,
  host: string,
  plain: Record<string, string>,
  secret: string,
  now: Clock = Date.now,
): Promise<Record<string, string>> {
  const opened = await callWith(on, plain, host, 'POST', '/.stepgate/api/factors/step-up', {});
  if (opened.status !== 201) throw new Error(`step-up: ${opened.status} ${await opened.text()}`);
  const { challenge_id } = (await opened.json()) as { challenge_id: string };
  const ok = await callWith(on, plain, host, 'POST', `/.stepgate/api/challenges/${challenge_id}/verify`, {
    method: 'totp',
    code: await generate({ secret, epoch: secondsOf(now) }),
  });
  if (ok.status !== 200) throw new Error(`verify: ${ok.status} ${await ok.text()}`);
  const grant = ok.headers.get('set-cookie')!.split(';')[0]!;
  return plain.cookie ? { ...plain, cookie: `${plain.cookie}; ${grant}` } : { ...plain, cookie: grant };
}

/** How `person` signs in and keeps time: the demo session's id, and the gateway's clock. */
export interface PersonOptions {
  session?: string;
  now?: Clock;
}

/**
 * Sign in as `name` (a demo session on app.test, else the dev header on `host`), enrol an
 * authenticator app and step up, through the gateway `on` (else the shared one).
 */
type PersonArgs = [name: string, host?: string];
export function person(...a: PersonArgs): Promise<Caller>;
export function person(on: Send, name: string, host?: string, o?: PersonOptions): Promise<Caller>;
export async function person(...a: PersonArgs | [Send, string, string?, PersonOptions?]): Promise<Caller> {
  const [on, name, host = 'app.test', o = {}] =
    typeof a[0] === 'function' ? (a as [Send, string, string?, PersonOptions?]) : [send, ...(a as PersonArgs)];
  const plain = await signIn(name, host, o.session);
  const secret = await enrol(on, host, plain, o.now);
  return { name, host, plain, secret, stepped: await stepUp(on, host, plain, secret, o.now) };
}

export type Body = Record<string, unknown> & { code?: string; detail?: string; retry_at?: string };
export const bodyOf = async (r: Response): Promise<Body> => JSON.parse(await r.text()) as Body;

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
