/**
 * @module revokePerson: take away what lets a person pass a step-up, at once (docs/admin.md,
 * "Revocation"). Factors are every passkey, authenticator app, recovery code and open invitation
 * in D1; grants are everything in the person's Durable Object (grants stepped up until now stop
 * counting on the next request; challenges, held requests, approvals and ceremonies are dropped);
 * tokens are their personal API tokens. Who may, and the audit record, are the caller's. An
 * administrator's revocation of factors (`by`) bars that administrator from inviting the person back
 * (invite-store.ts): one person alone must not turn "revoke, then invite" into a factor recovery.
 */
import { blindIndexes } from '../crypto/blind-index';
import type { Keyring } from '../crypto/keyring';
import { deleteOpenInvitesOf, markRevokedBy, REVOKER_BARRED_MS } from '../factors/invites/invite-store';
import { deleteRecoveryCodesOf } from '../factors/recovery/recovery-code-store';
import { deleteTotpOf } from '../factors/totp/totp-store';
import { deletePasskeysOf } from '../factors/webauthn/passkey-store';
import type { UserState } from '../user-state/user-state';
import { revokeAllTokensOf } from './api-tokens';

/** What to revoke. Factors always take the grants with them. */
export interface RevokeWhat {
  factors: boolean;
  grants: boolean;
  tokens: boolean;
}

/** What was revoked: `factors` is the sum of `kinds`; `challenges`, `held` and `approvals` were dropped from the Durable Object. */
export interface Revoked {
  factors: number;
  tokens: number;
  challenges: number;
  held: number;
  approvals: number;
  kinds: { passkeys: number; totp: number; recovery_codes: number; invites: number };
}

/** Revoke a person's factors, grants and/or tokens; returns what went. @throws when D1 or the Durable Object fails (nothing claimed) */
export async function revokePerson(o: {
  db: D1Database;
  keys: Keyring;
  userState: DurableObjectStub<UserState>;
  person: string;
  what: RevokeWhat;
  now: number;
  /** Who revoked, when an administrator did (not the person's own recovery): barred from inviting them. */
  by?: string;
}): Promise<Revoked> {
  const out: Revoked = {
    factors: 0,
    tokens: 0,
    challenges: 0,
    held: 0,
    approvals: 0,
    kinds: { passkeys: 0, totp: 0, recovery_codes: 0, invites: 0 },
  };
  const dropState = async () => {
    const d = await o.userState.revokeEverything(o.now);
    out.challenges += d.challenges;
    out.held += d.held;
    out.approvals += d.approvals;
  };
  if (o.what.tokens) out.tokens = await revokeAllTokensOf(o.db, o.keys, o.person, o.now);
  if (o.what.factors) {
    // A grant outliving its factor is a hole, so factors always take the grants with them, on both
    // sides of the delete: before it, so no step-up begun earlier completes while factors still
    // exist; after it, so a step-up that verified a factor just before the delete is revoked too.
    await dropState();
    const refs = await blindIndexes(o.keys, 'user', o.person);
    // One batch (one transaction): every kind goes, or none; the mark (first: it looks for the factors) with them.
    const mark = o.by === undefined ? [] : [await markRevokedBy(o.db, o.keys, { sub: o.person, refs, revokedBy: o.by, now: o.now })];
    const [passkeys, totp, codes, invites] = (
      await o.db.batch([
        ...mark,
        deletePasskeysOf(o.db, refs),
        deleteTotpOf(o.db, refs),
        deleteRecoveryCodesOf(o.db, refs),
        deleteOpenInvitesOf(o.db, refs),
      ])
    ).slice(mark.length);
    out.kinds = {
      passkeys: passkeys!.meta.changes,
      totp: totp!.meta.changes,
      recovery_codes: codes!.meta.changes,
      invites: invites!.meta.changes,
    };
    out.factors = out.kinds.passkeys + out.kinds.totp + out.kinds.recovery_codes + out.kinds.invites;
  }
  if (o.what.factors || o.what.grants) await dropState();
  return out;
}

/** How long the person's notice of a revocation of their factors is shown (as long as the revoker is barred). */
export const REVOCATION_NOTICE_MS = REVOKER_BARRED_MS;

/**
 * Tell the person their factors were revoked (a notice in their Durable Object, shown where Stepgate
 * shows notices), so that a revocation they did not expect is noticed. Best effort: the revocation
 * stands either way (it is the safe direction), and a failure is logged.
 */
export async function tellOfRevocation(userState: DurableObjectStub<UserState>, now: number): Promise<void> {
  await userState
    .putNotice({ id: 'factors-revoked', kind: 'factors-revoked', revokedAt: now, expiresAt: now + REVOCATION_NOTICE_MS })
    .catch((err: unknown) =>
      console.error('stepgate: a revocation notice was not kept:', err instanceof Error ? err.message : 'non-error'),
    );
}
