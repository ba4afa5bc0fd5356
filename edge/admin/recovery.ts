/**
 * @module The rules and clock of factor recovery (docs/admin.md, "Factor recovery"): a recovery is
 * started by one person (helpdesk, admin, owner), approved by a different admin or owner, and takes
 * effect only after a waiting period in which the person is told and may cancel it. Who may start
 * and approve is `authorize`'s (authorization.ts); the states and times are the store's
 * (recovery-store.ts); this module holds the durations and the two decisions `authorize` has no
 * action for: who may list open recoveries, and who may cancel one.
 */
import { type Actor, type AdminTarget, authorize } from './authorization';

export const RECOVERY_STATES = ['started', 'approved', 'cancelled', 'completed', 'expired'] as const;
export type RecoveryState = (typeof RECOVERY_STATES)[number];
/** The states of an open recovery: at most one per person. */
export const OPEN_STATES: readonly RecoveryState[] = ['started', 'approved'];

const HOUR_MS = 60 * 60 * 1000;
/** A started recovery not approved within this long expires. */
export const APPROVE_WITHIN_MS = 72 * HOUR_MS;
/** An approved recovery not completed within this long after it takes effect expires (it is not left open for ever). */
export const COMPLETE_WITHIN_MS = 7 * 24 * HOUR_MS;
/** The waiting period between approval and completion, by default. */
export const DEFAULT_WAIT_HOURS = 24;
/** The longest waiting period accepted (30 days): longer values are clamped to it. */
export const MAX_WAIT_HOURS = 720;

/** The settings that choose the waiting period (wrangler.toml). */
export interface RecoveryWaitSettings {
  RECOVERY_WAIT_HOURS?: unknown;
  RECOVERY_WAIT_MINUTES?: unknown;
}

const positiveNumber = (v: unknown): number | null => {
  if (v === undefined || v === null || String(v).trim() === '') return null;
  const n = Number(String(v).trim());
  return Number.isFinite(n) && n > 0 ? n : null;
};

/**
 * The waiting period in milliseconds. `RECOVERY_WAIT_HOURS` (default 24), at least 1 hour and at
 * most 720. In development only, `RECOVERY_WAIT_MINUTES` (at least 1) replaces it, for the demo.
 * Why clamp rather than refuse: a shorter wait than the minimum is never what protects the person,
 * and a gateway that fails to start over this setting would stop every app it serves.
 */
export function recoveryWaitMs(settings: RecoveryWaitSettings, development: boolean): number {
  const minutes = development ? positiveNumber(settings.RECOVERY_WAIT_MINUTES) : null;
  if (minutes !== null) return Math.max(1, Math.min(minutes, MAX_WAIT_HOURS * 60)) * 60 * 1000;
  const hours = positiveNumber(settings.RECOVERY_WAIT_HOURS) ?? DEFAULT_WAIT_HOURS;
  return Math.max(1, Math.min(hours, MAX_WAIT_HOURS)) * HOUR_MS;
}

/**
 * Nobody: stands for "someone other than the actor" where `authorize` needs a starter to compare
 * with. Person keys are never empty (identity sources refuse an empty subject).
 */
const NOBODY = '';

/**
 * May `actor` see the open recoveries of their organisation? Anyone who may start or approve one:
 * helpdesk, admin, owner.
 */
export function mayListRecoveries(actor: Actor): boolean {
  return (
    authorize(actor, 'recovery.start', { orgId: actor.orgId, person: NOBODY, personRoles: [] }).allowed ||
    authorize(actor, 'recovery.approve', { orgId: actor.orgId, person: NOBODY, recoveryStartedBy: NOBODY, personRoles: [] }).allowed
  );
}

/**
 * What an administrator's cancellation is authorized as: `recovery.approve` on the person (admins
 * and owners; never on oneself — the person cancels their own through /.stepgate/api/me). Cancelling
 * is the safe direction, so the one who started the recovery may cancel it too: the starter is not
 * compared.
 */
export const cancelTarget = (orgId: string, person: string): AdminTarget => ({ orgId, person, recoveryStartedBy: NOBODY });
