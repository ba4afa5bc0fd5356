/** @module Helpers for tests in the Workers pool: call the gateway as a browser page would, enrol TOTP, step up. */
import { exports } from 'cloudflare:workers';
import { generate } from 'otplib';
import { sessionCookie } from './session';

export const ORIGIN = 'http://app.test';
export const worker = (exports as unknown as { default: Fetcher }).default;
export const gw = (path: string, init: RequestInit = {}): Promise<Response> => worker.fetch(new Request(`${ORIGIN}${path}`, init));
/** A same-origin JSON POST, as the Stepgate pages send. */
export const post = (path: string, cookie: string, body: unknown = {}, headers: Record<string, string> = {}): Promise<Response> =>
  gw(path, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { cookie, origin: ORIGIN, 'content-type': 'application/json', ...headers },
  });
const now = () => Math.floor(Date.now() / 1000);

export interface Person {
  user: string;
  cookie: string;
  secret: string;
  recovery: string[];
  /** Every secret value this person's setup produced (for scans). */
  secrets: string[];
  /** A TOTP code not used yet: each call moves to another time step (the window allows ±1). */
  code(): Promise<string>;
}

/** Sign `user` in and enrol an authenticator app (confirmed with the previous time step's code). */
export async function enrolTotp(user: string, sid = `${user}-session`): Promise<Person> {
  const cookie = await sessionCookie(user, sid);
  const start = (await (await post('/.stepgate/api/factors/totp', cookie)).json()) as { id: string; secret: string };
  let first = await generate({ secret: start.secret, epoch: now() - 30 });
  let confirm = await post(`/.stepgate/api/factors/totp/${start.id}/confirm`, cookie, { code: first });
  if (confirm.status === 400) {
    // A time-step boundary passed between making the code and checking it (seen on loaded CI): the
    // previous step is now two back, outside the window. Once more with the new previous step's code.
    first = await generate({ secret: start.secret, epoch: now() - 30 });
    confirm = await post(`/.stepgate/api/factors/totp/${start.id}/confirm`, cookie, { code: first });
  }
  if (confirm.status !== 200) throw new Error(`enrolment of ${user} failed: ${confirm.status} ${await confirm.text()}`);
  const recovery = ((await confirm.json()) as { recovery_codes: string[] }).recovery_codes;
  let step = 0;
  // Fixed at enrolment, so two codes never fall in one time step even if a step boundary passes.
  const base = now();
  const p: Person = {
    user,
    cookie,
    secret: start.secret,
    recovery,
    secrets: [start.secret, first, ...recovery, cookie.split('=')[1]!],
    async code() {
      // Time steps now and now+30 s are accepted (the window is ±1); each may be spent once.
      if (step > 1) throw new Error('no unspent TOTP time step left in this window');
      const c = await generate({ secret: start.secret, epoch: base + 30 * step++ });
      p.secrets.push(c);
      return c;
    },
  };
  return p;
}

/** A fresh "confirm it is you" step-up (rule stepgate-factors); returns the cookie header with the grant. */
export async function factorsStepUp(p: Person): Promise<string> {
  const { challenge_id } = (await (await post('/.stepgate/api/factors/step-up', p.cookie)).json()) as { challenge_id: string };
  const ok = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, p.cookie, { method: 'totp', code: await p.code() });
  if (ok.status !== 200) throw new Error(`step-up failed: ${ok.status} ${await ok.text()}`);
  const grant = ok.headers.get('set-cookie')!.split(';')[0]!;
  p.secrets.push(grant.split('=')[1]!);
  return `${p.cookie}; ${grant}`;
}
