/**
 * @module Dual control in the Workers pool: people who ask and approve through a gateway with a clock
 * the test moves (each TOTP code is spent in its own time step), what the demo origin received, and
 * the assertion it was sent.
 */
import { inject } from 'vitest';
import { generate } from 'otplib';
import type { ApprovalJson } from '../../shared/wire-shapes';
import { callWith, enrol, newGateway, type Send, signIn } from './admin-callers';

const originUrl = inject('originUrl');

/** A gateway whose clock the test moves; `tick` moves it past the current TOTP time step. */
export function clockedGateway(): { on: Send; now: () => number; tick(ms?: number): void } {
  let t = Date.now();
  const now = () => t;
  return {
    on: newGateway({ now }),
    now,
    tick(ms = 31_000) {
      t += ms;
    },
  };
}
export type Clocked = ReturnType<typeof clockedGateway>;

export interface Actor {
  name: string;
  host: string;
  plain: Record<string, string>;
  secret: string;
}

/** Sign `name` in on `host` (a session of its own unless `session` names one) and enrol an authenticator app. */
export async function actor(g: Clocked, name: string, host = 'app.test', session?: string): Promise<Actor> {
  const plain = await signIn(name, host, session);
  const secret = await enrol(g.on, host, plain, g.now);
  g.tick();
  return { name, host, plain, secret };
}

/** The same person in another session (same factor). */
export async function otherSession(a: Actor, session: string): Promise<Actor> {
  return { ...a, plain: await signIn(a.name, a.host, session) };
}

/** A code of a time step nobody used yet: the clock moves to the next step first, and the gateway checks it at that time. */
const code = async (g: Clocked, a: Actor): Promise<string> => {
  g.tick();
  return generate({ secret: a.secret, epoch: Math.floor(g.now() / 1000) });
};

/** Send a request as `a` (a script: JSON answers), with `headers` besides their session. */
export const send = (g: Clocked, a: Actor, method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
  g.on(`http://${a.host}${path}`, { method, headers: { ...a.plain, ...headers }, ...(body === undefined ? {} : { body }) });

/** Answer a challenge with a TOTP code: the verify answer. */
export const answer = async (g: Clocked, a: Actor, challengeId: string) =>
  callWith(g.on, a.plain, a.host, 'POST', `/.stepgate/api/challenges/${challengeId}/verify`, { method: 'totp', code: await code(g, a) });

/**
 * `a` asks for `method path`: the step-up it needs answered with their code, then the request again;
 * the answer to that (202 with the approval waiting, normally).
 */
export async function ask(g: Clocked, a: Actor, method: string, path: string, body?: string): Promise<Response> {
  const first = await send(g, a, method, path, body);
  if (first.status !== 401) return first;
  const { challenge_id } = (await first.json()) as { challenge_id: string };
  const ok = await answer(g, a, challenge_id);
  if (ok.status !== 200) throw new Error(`step-up: ${ok.status} ${await ok.text()}`);
  return send(g, a, method, path, body);
}

/** `a` asks, and the approval's id from the 202. */
export async function askForApproval(g: Clocked, a: Actor, method: string, path: string, body?: string): Promise<string> {
  const r = await ask(g, a, method, path, body);
  if (r.status !== 202) throw new Error(`expected 202, got ${r.status} ${await r.text()}`);
  return ((await r.json()) as { approval_id: string }).approval_id;
}

/** `a` opens their approver step-up for approval `id`: the answer (201 with the challenge, or a refusal). */
export const approverStepUp = (g: Clocked, a: Actor, id: string) =>
  callWith(g.on, a.plain, a.host, 'POST', `/.stepgate/api/approvals/${id}/step-up`, {});

/** `a` approves approval `id` (their own step-up with a code): the verify answer, or the step-up's refusal. */
export async function approveAs(g: Clocked, a: Actor, id: string): Promise<Response> {
  const opened = await approverStepUp(g, a, id);
  if (opened.status !== 201) return opened;
  const { challenge_id } = (await opened.json()) as { challenge_id: string };
  return answer(g, a, challenge_id);
}

/** The approval as `a` sees it. */
export async function approvalAs(g: Clocked, a: Actor, id: string): Promise<ApprovalJson> {
  const r = await callWith(g.on, a.plain, a.host, 'GET', `/.stepgate/api/approvals/${id}`);
  if (r.status !== 200) throw new Error(`approval ${id}: ${r.status} ${await r.text()}`);
  return (await r.json()) as ApprovalJson;
}

/** What the demo origin received whose URL carries `marker`. */
export const seen = async (marker: string) =>
  (
    (await (await fetch(`${originUrl}/__demo/requests`)).json()) as { method: string; url: string; headers: Record<string, string> }[]
  ).filter((r) => r.url.includes(marker));

/** The claims of an assertion (its signature is checked by the assertion tests). */
export const claimsOf = (jwt: string) =>
  JSON.parse(
    new TextDecoder().decode(Uint8Array.from(atob(jwt.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0))),
  ) as {
    sub: string;
    rule: string;
    act?: string;
    approval?: { id: string; approvers: { sub: string; amr: string[]; at: number }[] };
  };

export { originUrl };
