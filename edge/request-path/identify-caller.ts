/**
 * @module identifyCaller(): who is asking, for a request a rule matched; or the answer that
 * forwards nothing (the identity refusal: 401, or 400 for an ambiguous identity; for a browser
 * navigating — a link or a form — a 303 to the app's login with the way back, navigation.ts).
 */
import type { Identity } from '../identity/identity-source';
import { anonymousDeniedEvent } from './denial-events';
import { signInAnswer, wayBackOf } from './navigation';
import type { ProtectedRequest } from './protected-request';

/** The caller of a protected request, or the answer to send instead (recorded as `request.denied`). */
export async function identifyCaller({ rt, ctx, where, ec }: ProtectedRequest): Promise<Identity | Response> {
  const req = ctx.request;
  const who = await rt.identify(req);
  if (who.ok) return who.identity;
  // Forwards nothing, so it is written after the answer.
  rt.audit.later(ec, anonymousDeniedEvent(where, `identity-${who.reason}`));
  return signInAnswer(req, rt.loginUrl, who.reason, wayBackOf(req, ctx.canonical));
}
