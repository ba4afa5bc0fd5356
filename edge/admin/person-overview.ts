/**
 * @module What an administrator sees of one person (GET …/people/:user, the console's people page):
 * their factors (kinds, labels and dates, never a secret), lockout, roles in the organisation,
 * personal API tokens and open factor recovery. Reads only (the person's Durable Object only when
 * they have a factor, so a lookup creates no state); who may read is the caller's check.
 */
import { blindIndexes } from '../crypto/blind-index';
import type { Keyring } from '../crypto/keyring';
import { placeholders } from '../factors/active-factors';
import { NOT_A_REVOCATION_MARK } from '../factors/invites/invite-store';
import { webauthnCredentials } from '../factors/webauthn/passkey-store';
import type { UserState } from '../user-state/user-state';
import { listTokens, type TokenInfo } from './api-tokens';
import { openRecoveryOf } from './recovery-store';
import { listRoleGrants, type RoleGrant } from './role-store';

/** A factor as an administrator sees it; recovery codes are one entry, with how many are left. */
export interface FactorEntry {
  kind: 'webauthn' | 'totp' | 'recovery-codes' | 'invite';
  label?: string;
  createdAt: number;
}

export interface PersonOverview {
  factors: FactorEntry[];
  lock: { consecutive: number; lockedUntil: number; lockedOut: boolean };
  roles: RoleGrant[];
  tokens: TokenInfo[];
  /** Their open factor recovery (recovery-store.ts), if any: `effective_at` in ms, null until approved. */
  recovery: Awaited<ReturnType<typeof openRecoveryOf>>;
}

/** The lockout of a person with no factor: none (their Durable Object is not asked). */
const NO_LOCK: PersonOverview['lock'] = { consecutive: 0, lockedUntil: 0, lockedOut: false };

/** At most this many passkeys are listed (the rest are still revoked by a revocation). */
const MAX_LISTED = 50;

/** The person's factors: passkeys (nicknames opened), active authenticator apps, unused recovery codes, open invitations. */
async function factorsOf(db: D1Database, keys: Keyring, person: string, now: number): Promise<FactorEntry[]> {
  const refs = await blindIndexes(keys, 'user', person);
  const ph = placeholders(refs.length);
  // Only dates and counts: no TOTP secret is opened to list them.
  const [totp, codes, invites] = await db.batch<{ created_at: number; n?: number }>([
    db.prepare(`SELECT created_at FROM totp_factors WHERE status = 'active' AND user_ref IN (${ph}) LIMIT ${MAX_LISTED}`).bind(...refs),
    db
      .prepare(`SELECT COUNT(*) AS n, MAX(created_at) AS created_at FROM recovery_codes WHERE used_at IS NULL AND user_ref IN (${ph})`)
      .bind(...refs),
    db
      .prepare(
        `SELECT created_at FROM enrolment_invites WHERE used_at IS NULL AND expires_at > ? AND ${NOT_A_REVOCATION_MARK} ` +
          `AND user_ref IN (${ph}) LIMIT ${MAX_LISTED}`,
      )
      .bind(now, ...refs),
  ]);
  const passkeys = (await webauthnCredentials(db, keys, person)).slice(0, MAX_LISTED);
  const left = codes!.results[0]?.n ?? 0;
  return [
    ...passkeys.map((p): FactorEntry => ({ kind: 'webauthn', ...(p.nickname ? { label: p.nickname } : {}), createdAt: p.createdAt })),
    ...totp!.results.map((t): FactorEntry => ({ kind: 'totp', createdAt: t.created_at })),
    ...(left > 0 ? [{ kind: 'recovery-codes', label: `${left} left`, createdAt: codes!.results[0]!.created_at } as FactorEntry] : []),
    ...invites!.results.map((i): FactorEntry => ({ kind: 'invite', label: 'invitation to enrol, not used yet', createdAt: i.created_at })),
  ];
}

/** Everything an administrator of `org` sees of `person` (Stepgate's key for them). */
export async function personOverview(o: {
  db: D1Database;
  keys: Keyring;
  userState: DurableObjectStub<UserState>;
  org: string;
  person: string;
  now: number;
}): Promise<PersonOverview> {
  const [factors, roles, tokens, recovery] = await Promise.all([
    factorsOf(o.db, o.keys, o.person, o.now),
    listRoleGrants(o.db, o.keys, { orgId: o.org, sub: o.person }),
    listTokens(o.db, o.keys, o.person),
    openRecoveryOf(o.db, o.keys, o.org, o.person, o.now),
  ]);
  // Why: asking the person's Durable Object creates its storage, and anyone who may look people up can
  // type any subject. Lockout only matters to someone with a factor to fail, so only they are asked.
  const lock = factors.some((f) => f.kind !== 'invite') ? await o.userState.lockState() : NO_LOCK;
  return { factors, lock, roles, tokens, recovery };
}
