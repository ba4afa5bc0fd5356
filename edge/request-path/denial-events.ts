/**
 * @module The `request.denied` events of requests Stepgate refuses before forwarding, built in one
 * place: a signed-in person's (`deniedEvent`) and an anonymous caller's (`anonymousDeniedEvent`).
 */
import type { AuditInput } from '../audit/events';

/** Where a protected request was decided, as its audit events name it. */
export type RequestWhere = Required<Pick<AuditInput, 'app' | 'request' | 'rule'>>;

/** A signed-in person's refusal that forwards nothing (`request.denied`, for recordRefusal). */
export const deniedEvent = (actor: string, where: RequestWhere, reason: string): AuditInput => ({
  type: 'request.denied',
  outcome: 'denied',
  actor,
  via: 'session',
  ...where,
  reason,
});

/**
 * A refusal of a caller with no usable identity (`via: anonymous`; `rule` only once a rule matched).
 * Written after the answer (`audit.later`): the sequencer folds such denials per network, so a
 * flood of them is counted, not stored one by one (docs/audit.md).
 */
export const anonymousDeniedEvent = (where: Pick<AuditInput, 'app' | 'request' | 'rule'>, reason: string): AuditInput => ({
  type: 'request.denied',
  outcome: 'denied',
  actor: null,
  via: 'anonymous',
  ...where,
  reason,
});
