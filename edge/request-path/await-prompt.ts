/**
 * @module awaitPrompt(): hold a request from the extension while the person answers its prompt;
 * the step-up to pass it on, a 403 for "deny", or null (timed out, or revoked while held: the
 * normal 401 follows).
 */
import { ErrorCode } from '../../shared/errors';
import { problem } from '../http/responses';
import type { Challenge } from '../user-state/challenge';
import type { ActionToApprove } from './action-to-approve';
import { actionApproval } from './grant-or-approval';
import type { StepUp } from './pass-step-up';
import type { IdentifiedRequest } from './protected-request';

export async function awaitPrompt(r: IdentifiedRequest, action: ActionToApprove, challenge: Challenge): Promise<StepUp | Response | null> {
  const { rt, userState, me } = r;
  // The approval this request may wake on is given after this moment (the challenge is pending).
  const heldSince = rt.now();
  const d = await userState.awaitDecision(challenge.id, me.sid, rt.holdMs);
  if (d.kind === 'denied') return problem(ErrorCode.StepUpDenied, 403, 'You denied this action.');
  if (d.kind !== 'approved') return null;
  // Why: an approval released just before the person was revoked wakes this request "approved"
  // after the revocation. Any revocation since the hold began came after the approval (one before
  // it would have dropped the challenge and woken this "gone"), so the approval no longer counts.
  if ((await userState.grantsRevokedAt()) >= heldSince) return null;
  // Spend what the approval produced, exactly as a repeated request would.
  const details = { held: true, prompt: true };
  if (action.digest) return actionApproval(r, action, details);
  // The approval's time is not known here, only that it came after `heldSince`: stepping up then is
  // the safe side (a grant made from this is never younger than the approval, so a revocation
  // after this check still reaches it).
  return { amr: d.amr, authTime: Math.floor(heldSince / 1000), act: null, details };
}
