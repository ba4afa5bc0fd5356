/**
 * @module D1 queries for organisations (`orgs`): the top of the administration model. The org
 * "default" always exists (migration 0009) and holds the bundled app.
 */
import type { Keyring } from '../crypto/keyring';
import { grantColumns, newGrantId, orgIdsOf } from './role-store';

export const DEFAULT_ORG = 'default';

export interface Org {
  id: string;
  name: string;
  createdAt: number;
}

/**
 * An organisation id: 2–32 lower-case letters, digits and "-", not starting or ending with "-".
 * It prefixes its people's keys (`<org id>/<subject>`), so it never holds "/".
 */
export const ORG_ID = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])$/;

/** A display name: 1–100 characters, no control characters, trimmed. */
export function checkName(name: string, what: string): string {
  const n = name.trim();
  if (n.length < 1 || n.length > 100 || /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(n)) {
    throw new TypeError(`${what} name: 1 to 100 characters, no control characters`);
  }
  return n;
}

interface OrgRow {
  id: string;
  name: string;
  created_at: number;
}
const toOrg = (r: OrgRow): Org => ({ id: r.id, name: r.name, createdAt: r.created_at });

/**
 * Create an organisation, with its first owner in the same transaction when `owner` is given (a
 * person of the new organisation, `<org id>/<subject>`), so that no organisation is left without one.
 *
 * @throws {TypeError} for an invalid id or name
 */
export async function createOrg(
  db: D1Database,
  o: { id: string; name: string; now: number; owner?: { ring: Keyring; sub: string; grantedBy: string } },
): Promise<{ ok: true; org: Org; ownerGrantId: string | null } | { ok: false; code: 'exists'; reason: string }> {
  if (!ORG_ID.test(o.id))
    throw new TypeError('organisation id: 2 to 32 lower-case letters, digits or "-", not starting or ending with "-"');
  const name = checkName(o.name, 'organisation');
  // A plain INSERT: an existing id fails the whole batch, so an owner is never added to an existing organisation.
  const statements = [db.prepare('INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)').bind(o.id, name, o.now)];
  let ownerGrantId: string | null = null;
  if (o.owner) {
    if (o.owner.sub === '') throw new TypeError('owner: empty person');
    ownerGrantId = newGrantId();
    const g = { id: ownerGrantId, orgId: o.id, appId: null, sub: o.owner.sub, role: 'owner' as const, grantedBy: o.owner.grantedBy };
    const c = await grantColumns(o.owner.ring, g);
    statements.push(
      db
        .prepare(
          'INSERT INTO role_grants (id, org_id, app_id, person_ref, person_sealed, role, granted_by_sealed, granted_at) ' +
            "VALUES (?, ?, '', ?, ?, 'owner', ?, ?)",
        )
        .bind(ownerGrantId, o.id, c.person_ref, c.person_sealed, c.granted_by_sealed, o.now),
    );
  }
  try {
    await db.batch(statements);
  } catch (e) {
    if (await getOrg(db, o.id)) return { ok: false, code: 'exists', reason: `an organisation "${o.id}" already exists` };
    throw e;
  }
  return { ok: true, org: { id: o.id, name, createdAt: o.now }, ownerGrantId };
}

/** One organisation, or null. */
export async function getOrg(db: D1Database, id: string): Promise<Org | null> {
  const r = await db.prepare('SELECT * FROM orgs WHERE id = ?').bind(id).first<OrgRow>();
  return r ? toOrg(r) : null;
}

/** The organisations in which `sub` holds a role. */
export async function orgsOf(db: D1Database, ring: Keyring, sub: string): Promise<Org[]> {
  const ids = await orgIdsOf(db, ring, sub);
  if (ids.length === 0) return [];
  const { results } = await db
    .prepare(`SELECT * FROM orgs WHERE id IN (${ids.map(() => '?').join(', ')}) ORDER BY id`)
    .bind(...ids)
    .all<OrgRow>();
  return results.map(toOrg);
}
