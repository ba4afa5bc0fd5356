/** @module What every Stepgate endpoint does first: read a small JSON body, know the caller, describe the request for the audit log. */
import type { z } from 'zod';
import { ErrorCode } from '../../shared/errors';
import { auditRequest, withoutIds } from '../audit/audit-log';
import type { Runtime } from '../deployment/runtime';
import { type PasskeyContext, relyingParty } from '../factors/webauthn/webauthn';
import { StepgateError } from '../http/stepgate-error';
import type { Identity } from '../identity/identity-source';

/** Parse a small JSON body against a schema. @throws {StepgateError} 400 naming the field */
export async function jsonBody<T>(req: Request, schema: z.ZodType<T>): Promise<T> {
  const text = await req.text();
  if (text.length > 16 * 1024) throw new StepgateError(ErrorCode.BodyTooLarge, 413, 'body: too large');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
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

/** The caller's identity, or a 401 thrown. */
export async function requireIdentity(rt: Runtime, req: Request): Promise<Identity> {
  const who = await rt.identify(req);
  if (!who.ok && who.reason === 'ambiguous')
    throw new StepgateError(
      ErrorCode.AmbiguousIdentity,
      400,
      "This request names its session in two ways; clear this site's cookies and sign in again.",
    );
  if (!who.ok) throw new StepgateError(ErrorCode.IdentityRequired, 401, 'Sign in to the application first.');
  return who.identity;
}

/** Who acted, where: the common part of an event recorded by a Stepgate endpoint. */
export async function auditBase(req: Request, me: Pick<Identity, 'sub'>, via: 'session' | 'token' = 'session') {
  const u = new URL(req.url);
  // Ids in Stepgate's own paths (challenges, tokens) are handles, not for the log: the route is.
  const path = withoutIds(u.pathname);
  return { actor: me.sub, via, app: u.hostname, request: await auditRequest(req, { method: req.method, path, query: '' }) };
}

/** The request's own origin (`https://host`), from the canonical view the middleware passed on. */
export const originOf = (url: string): string => new URL(url).origin;

/** Whether grant cookies may be set: https, or http in development (localhost demo). */
export function cookieSecurity(rt: Runtime, url: string): boolean {
  const secure = new URL(url).protocol === 'https:';
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
