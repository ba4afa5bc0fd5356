/**
 * @module ProtectedRequest and IdentifiedRequest: what the steps of decideProtected() share about
 * one request a rule matched, before and after its caller is known.
 */
import type { Next } from 'hono';
import type { Runtime } from '../deployment/runtime';
import type { Identity } from '../identity/identity-source';
import type { RuleMatch } from '../policy/compile-policy';
import type { UserState } from '../user-state/user-state';
import type { RequestWhere } from './denial-events';
import type { HeldRequest } from './held-request';
import type { StepgateHonoContext, WaitUntil } from './hono-context';
import type { StepgateContext } from './stepgate-context';

/** A request a rule matched, as the steps see it. */
export interface ProtectedRequest {
  c: StepgateHonoContext;
  next: Next;
  rt: Runtime;
  /** What is decided about the request (`c.var.stepgate`): canonical form, body once read, request to forward. */
  ctx: StepgateContext;
  match: RuleMatch;
  where: RequestWhere;
  ec: WaitUntil;
  /** The held request being carried out after its approval (continueHeld), else null. */
  held: HeldRequest | null;
}

/** A protected request whose caller is known. */
export interface IdentifiedRequest extends ProtectedRequest {
  me: Identity;
  /** The caller's UserState (challenges, approvals, prompts). */
  userState: DurableObjectStub<UserState>;
}
