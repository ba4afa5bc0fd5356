/**
 * @module carryOutApproval(): the approval page's **Carry it out** posts to
 * `/.stepgate/approvals/:id/carry-out`; the exact request that waited for approval is opened and goes
 * through the same decision in place of this one, which finds it approved and forwards it, once.
 * Only the person who asked, from the session that asked, on the app's own site.
 */
import type { Next } from 'hono';
import { ErrorCode } from '../../shared/errors';
import { isRequester, sessionHash } from '../approvals/approval-flow';
import { getApproval } from '../approvals/approval-store';
import { approvalAad } from '../crypto/encryption-context';
import type { Runtime } from '../deployment/runtime';
import { isSameOrigin } from '../http/csrf';
import { errorResponse, problem } from '../http/responses';
import { canonicalizeRequest, canonicalOrigin, type CanonicalizeOptions, type CanonicalRequest } from '../policy/canonical-request';
import { decideRequest } from './decide-request';
import { openRequest } from './held-request';
import type { RequestPathResult, StepgateHonoContext } from './hono-context';
import { signInAnswer } from './navigation';

const APPROVAL_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{15}$/;

/** The approval id of `POST /.stepgate/approvals/:id/carry-out`, else null. */
export function approvalCarryOutOf(c: CanonicalRequest): string | null {
  const s = c.matchSegments;
  if (c.method !== 'POST' || s.length !== 4 || s[0] !== '.stepgate' || s[1] !== 'approvals' || s[3] !== 'carry-out') return null;
  const id = c.path.split('/')[3]!;
  return APPROVAL_ID.test(id) ? id : null;
}

/** The page of dual-control request `id`: where its Carry it out form was sent from. */
export const approvalPagePath = (id: string): string => `/.stepgate/approvals/${id}`;

/** Back to the request's page, which says where it stands (a browser is never shown raw JSON). */
const backToPage = (id: string): Response =>
  new Response(null, { status: 303, headers: { location: approvalPagePath(id), 'cache-control': 'no-store' } });

/**
 * Library mode: the page cannot carry a request out (nothing is consumed); it says to send the
 * identical request again from the app, which is carried out once approved.
 */
export function carryOutInLibraryMode(id: string): Response {
  return problem(
    ErrorCode.ApprovalPending,
    409,
    'This app runs Stepgate inside its own Worker: carry the approved request out by sending it again from the app ' +
      `(the same request, from the same session). Its state: /.stepgate/approvals/${id}`,
  );
}

/** Open the approved request of `id` (the requester's own session) and decide it as if it had just arrived. */
export async function carryOutApproval(
  c: StepgateHonoContext,
  next: Next,
  rt: Runtime,
  canonical: CanonicalRequest,
  id: string,
  canonicalizeOptions: CanonicalizeOptions,
): RequestPathResult {
  try {
    const req = c.req.raw;
    // Why: a cross-site form could otherwise make a signed-in person carry out their approved action.
    if (!isSameOrigin(req, canonicalOrigin(canonical)))
      return problem(ErrorCode.Forbidden, 403, 'This request must come from the Stepgate page on this site.');
    const who = await rt.identify(req);
    // A browser whose session ended meanwhile signs in again and comes back to the request's page.
    if (!who.ok) return signInAnswer(req, rt.loginUrl, who.reason, approvalPagePath(id));
    const row = await getApproval(rt.db, id);
    const mine =
      row !== null &&
      row.org_id === rt.app.org &&
      row.app_id === rt.app.id &&
      (await isRequester(rt.keys, row, who.identity.sub)) &&
      row.session_hash === (await sessionHash(who.identity.sid));
    if (!mine) return backToPage(id);
    if (row.state !== 'approved' || row.request_sealed === null || row.expires_at <= rt.now()) return backToPage(id);
    const opened = await openRequest(rt.keys, approvalAad(row.id, row.org_id, 'request'), row.request_sealed, req.headers);
    const held = { challenge: '', approval: row.id, ...opened };
    const heldCanonical = canonicalizeRequest(held.request.method, held.request.url, held.request.headers, canonicalizeOptions);
    return await decideRequest(c, next, rt, heldCanonical, held);
  } catch (err) {
    return errorResponse(err);
  }
}
