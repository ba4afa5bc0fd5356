/**
 * @module awaitPrompt(): hold a request from the extension while the person answers its prompt;
 * the step-up to pass it on, a 403 for "deny", or null (timed out: the normal 401 follows).
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
  const d = await userState.awaitDecision(challenge.id, me.sid, rt.holdMs);
  if (d.kind === 'denied') return problem(ErrorCode.StepUpDenied, 403, 'You denied this action.');
  if (d.kind !== 'approved') return null;
  // Spend what the approval produced, exactly as a repeated request would.
  const details = { held: true, prompt: true };
  if (action.digest) return actionApproval(r, action, details);
  return { amr: d.amr, authTime: Math.floor(rt.now() / 1000), act: null, details };
}
