/**
 * @module What every Stepgate endpoint does first: read a small JSON body, know the caller (and their
 * challenge), see the site, describe the request for the audit log.
 */
import type * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import { auditRequestOnStepgatePath } from '../audit/audit-log';
import type { Runtime } from '../deployment/runtime';
import { type PasskeyContext, relyingParty } from '../factors/webauthn/webauthn';
import { StepgateError } from '../http/stepgate-error';
import { identityRefusal } from '../identity/identity-refusal';
import type { Identity } from '../identity/identity-source';
import { type Challenge, isChallengeId } from '../user-state/challenge';

/** How a JSON body is read: its size limit, and what an empty body stands for (default: nothing; it is refused). */
export interface JsonBodyOptions {
  maxBytes?: number;
  emptyBody?: unknown;
}

/** Parse a small JSON body against a schema. @throws {StepgateError} 400 naming the field, 413 when too large */
export async function jsonBody<T>(req: Request, schema: z.ZodMiniType<T>, options: JsonBodyOptions = {}): Promise<T> {
  const text = await req.text();
  if (text.length > (options.maxBytes ?? 16 * 1024)) throw new StepgateError(ErrorCode.BodyTooLarge, 413, 'body: too large');
  let doc: unknown;
  try {
    doc = text === '' && options.emptyBody !== undefined ? options.emptyBody : JSON.parse(text);
  } catch {
    throw new StepgateError(ErrorCode.BadRequest, 400, 'body: not valid JSON');
  }
  const r = schema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new StepgateError(ErrorCode.BadRequest, 400, `${i.path.join('.') || 'body'}: ${i.message}`);
  }
  return r.data;
}

/** The caller's identity, or the identity refusal thrown (400 when their session reads two ways, else 401). */
export async function requireIdentity(rt: Runtime, req: Request): Promise<Identity> {
  const who = await rt.identify(req);
  if (!who.ok) throw identityRefusal(who.reason);
  return who.identity;
}

/** A pending challenge of the caller, in their own session, or a 400/401 (identity) or 404 thrown. */
export async function loadChallenge(rt: Runtime, req: Request, id: string): Promise<Challenge> {
  const me = await requireIdentity(rt, req);
  if (!isChallengeId(id)) throw new StepgateError(ErrorCode.ChallengeNotFound, 404, 'No such challenge.');
  const ch = await rt.userState(me.sub).getChallenge(id, me.sid);
  if (!ch)
    throw new StepgateError(ErrorCode.ChallengeNotFound, 404, 'No such challenge, or it has expired, or it belongs to another session.');
  return ch;
}

/** Who acted, where: the common part of an event recorded by a Stepgate endpoint. */
export async function auditBase(req: Request, me: Pick<Identity, 'sub'>, via: 'session' | 'token' = 'session') {
  const u = new URL(req.url);
  return { actor: me.sub, via, app: u.hostname, request: await auditRequestOnStepgatePath(req, { method: req.method, path: u.pathname }) };
}

/** The site a request was sent to. */
export interface RequestSite {
  /** `https://host[:port]` (no default port). */
  origin: string;
  /** `host[:port]`. */
  host: string;
  /** The host name alone: what grants are issued for (`aud`). */
  hostname: string;
  /** Sent over https. */
  https: boolean;
}

/** The site of the request, from the canonical URL the middleware passed on: the one place endpoints read their origin. */
export function siteOf(url: string): RequestSite {
  const u = new URL(url);
  return { origin: u.origin, host: u.host, hostname: u.hostname, https: u.protocol === 'https:' };
}

/** Whether grant cookies may be set: https, or http in development (localhost demo). */
export function cookieSecurity(rt: Runtime, url: string): boolean {
  const secure = siteOf(url).https;
  if (!secure && !rt.development) throw new StepgateError(ErrorCode.Forbidden, 403, 'Stepgate grants are only issued over https.');
  return secure;
}

/** The caller's passkeys at this site: their stores, and the relying party of the request (its origin and the extension's). */
export const passkeyContext = (rt: Runtime, req: Request, me: Identity): PasskeyContext => ({
  db: rt.db,
  keys: rt.keys,
  userState: rt.userState(me.sub),
  me,
  rp: relyingParty(req.url, rt.webauthnOrigins),
});
