/**
 * @module The audit record of a change to a factor recovery (docs/admin.md, "Factor recovery"), by
 * an administrator (recovery-routes.ts) or by the person (me-routes.ts): always with who started and
 * who approved it, so that the two people the rule asks for are in the log.
 */
import type { Recovery } from '../admin/recovery-store';
import type { AuditDetails } from '../audit/events';
import type { Runtime } from '../deployment/runtime';
import type { Identity } from '../identity/identity-source';
import { auditBase } from './endpoint-helpers';

/** Record what `me` did to the recovery `r` (after it is stored and the person told, before the answer); its target is the person. */
export async function recordRecoveryChange(
  rt: Runtime,
  req: Request,
  me: Pick<Identity, 'sub'>,
  type: 'recovery.started' | 'recovery.approved' | 'recovery.cancelled' | 'recovery.completed',
  r: Recovery,
  details: AuditDetails,
): Promise<void> {
  await rt.audit.record({
    type,
    outcome: 'success',
    ...(await auditBase(req, me)),
    target: r.person,
    details: { org: r.orgId, recovery: r.id, started_by: r.startedBy, approved_by: r.approvedBy, ...details },
  });
}
