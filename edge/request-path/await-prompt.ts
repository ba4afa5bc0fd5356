/**
 * @module awaitPrompt(): hold a request from the extension while the person answers its prompt;
 * the step-up to pass it on, a 403 for "deny", or null (timed out: the normal 401 follows).
 */
import { ErrorCode } from '../../shared/errors';
import { problem } from '../http/responses';
import type { Identity } from '../identity/identity-source';
import type { CompiledRule } from '../policy/compile-policy';
import type { Challenge } from '../user-state/challenge';
import type { UserState } from '../user-state/user-state';
import type { Runtime } from '../deployment/runtime';
import { type ActionToApprove, actionApproval, type StepUp } from './check-grant';

export async function awaitPrompt(
  rt: Runtime,
  gate: DurableObjectStub<UserState>,
  me: Identity,
  rule: CompiledRule,
  subject: ActionToApprove,
  challenge: Challenge,
): Promise<StepUp | Response | null> {
  const d = await gate.awaitDecision(challenge.id, me.sid, rt.holdMs);
  if (d.kind === 'denied') return problem(ErrorCode.StepUpDenied, 403, 'You denied this action.');
  if (d.kind !== 'approved') return null;
  // Spend what the approval produced, exactly as a repeated request would.
  const details = { held: true, prompt: true };
  if (subject.digest) return actionApproval(gate, me, rule, subject, details);
  return { amr: d.amr, authTime: Math.floor(rt.now() / 1000), act: null, details };
}
