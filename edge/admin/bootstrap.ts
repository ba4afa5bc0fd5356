/**
 * @module Bootstrap without a shared account: the person named by BOOTSTRAP_OWNER becomes the first
 * owner of the default organisation — only while it has no owner, only once they have an active
 * factor, and exactly once under concurrency (one conditional INSERT decides). From then on the
 * variable is not a source of roles. The fresh step-up before the claim is the caller's check.
 */
import { blindIndexes } from '../crypto/blind-index';
import type { Keyring } from '../crypto/keyring';
import { noActiveFactor, placeholders } from '../factors/active-factors';
import { DEFAULT_ORG } from './org-store';
import { grantColumns, newGrantId, type RoleGrant } from './role-store';

export type BootstrapOutcome =
  | { outcome: 'claimed'; grant: RoleGrant }
  | { outcome: 'refused'; code: 'not-configured' | 'not-bootstrap-owner' | 'owner-exists' | 'no-factor'; reason: string };

const REASONS = {
  'not-configured': 'BOOTSTRAP_OWNER is not set: there is no first owner to claim',
  'not-bootstrap-owner': 'you are not the person BOOTSTRAP_OWNER names',
  'owner-exists': 'the default organisation already has an owner: ask them for a role',
  'no-factor': 'enrol a factor first: the first owner must be able to step up',
} as const;

const refused = (code: keyof typeof REASONS): BootstrapOutcome => ({ outcome: 'refused', code, reason: REASONS[code] });

/**
 * Make `caller` (Identity.sub, a person of the default organisation) its owner, if BOOTSTRAP_OWNER
 * (`bootstrapOwner`) names them, the organisation has no owner, and they have an active factor.
 */
export async function claimBootstrapOwner(
  db: D1Database,
  ring: Keyring,
  o: { bootstrapOwner: string | undefined; caller: string; now: number },
): Promise<BootstrapOutcome> {
  const named = o.bootstrapOwner?.trim();
  if (!named) return refused('not-configured');
  if (o.caller !== named) return refused('not-bootstrap-owner');
  const id = newGrantId();
  const c = await grantColumns(ring, { id, orgId: DEFAULT_ORG, appId: null, sub: o.caller, role: 'owner', grantedBy: null });
  const refs = await blindIndexes(ring, 'user', o.caller);
  const ph = placeholders(refs.length);
  // One statement: "no owner yet" and "has a factor" are decided with the insert, so of racing
  // claims exactly one is stored.
  const r = await db
    .prepare(
      'INSERT INTO role_grants (id, org_id, app_id, person_ref, person_sealed, role, granted_by_sealed, granted_at) ' +
        `SELECT ?, ?, '', ?, ?, 'owner', NULL, ? WHERE ` +
        `NOT EXISTS (SELECT 1 FROM role_grants WHERE org_id = ? AND role = 'owner') AND NOT (${noActiveFactor(ph)}) ` +
        'ON CONFLICT DO NOTHING',
    )
    .bind(id, DEFAULT_ORG, c.person_ref, c.person_sealed, o.now, DEFAULT_ORG, ...refs, ...refs)
    .run();
  if (r.meta.changes === 1) {
    return {
      outcome: 'claimed',
      grant: { id, orgId: DEFAULT_ORG, appId: null, person: o.caller, role: 'owner', grantedBy: null, grantedAt: o.now },
    };
  }
  const owner = await db.prepare("SELECT 1 FROM role_grants WHERE org_id = ? AND role = 'owner'").bind(DEFAULT_ORG).first();
  return refused(owner ? 'owner-exists' : 'no-factor');
}
