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

/** Most organisations a deployment holds (the default one included): creation beyond it is refused. */
export const MAX_ORGS = 1000;

export type CreateOrgResult = { ok: true; org: Org; ownerGrantId: string | null } | { ok: false; code: 'exists' | 'limit'; reason: string };

/**
 * Create an organisation, with its first owner in the same transaction when `owner` is given (a
 * person of the new organisation, `<org id>/<subject>`), so that no organisation is left without one.
 * At most MAX_ORGS organisations exist, decided in the inserting statement.
 *
 * @throws {TypeError} for an invalid id or name
 */
export async function createOrg(
  db: D1Database,
  o: { id: string; name: string; now: number; owner?: { ring: Keyring; sub: string; grantedBy: string } },
): Promise<CreateOrgResult> {
  if (!ORG_ID.test(o.id))
    throw new TypeError('organisation id: 2 to 32 lower-case letters, digits or "-", not starting or ending with "-"');
  const name = checkName(o.name, 'organisation');
  if (o.owner && o.owner.sub === '') throw new TypeError('owner: empty person');
  // No VALUES: an existing id still fails the whole batch (a plain INSERT's conflict), so an owner
  // is never added to an existing organisation; past the cap no row is inserted, and no owner either.
  const statements = [
    db
      .prepare('INSERT INTO orgs (id, name, created_at) SELECT ?1, ?2, ?3 WHERE (SELECT COUNT(*) FROM orgs) < ?4')
      .bind(o.id, name, o.now, MAX_ORGS),
  ];
  let ownerGrantId: string | null = null;
  if (o.owner) {
    ownerGrantId = newGrantId();
    const g = { id: ownerGrantId, orgId: o.id, appId: null, sub: o.owner.sub, role: 'owner' as const, grantedBy: o.owner.grantedBy };
    const c = await grantColumns(o.owner.ring, g);
    statements.push(
      db
        .prepare(
          'INSERT INTO role_grants (id, org_id, app_id, person_ref, person_sealed, role, granted_by_sealed, granted_at) ' +
            "SELECT ?1, ?2, '', ?3, ?4, 'owner', ?5, ?6 WHERE EXISTS (SELECT 1 FROM orgs WHERE id = ?2 AND created_at = ?6)",
        )
        .bind(ownerGrantId, o.id, c.person_ref, c.person_sealed, c.granted_by_sealed, o.now),
    );
  }
  let inserted: number;
  try {
    inserted = (await db.batch(statements))[0]!.meta.changes;
  } catch (e) {
    if (await getOrg(db, o.id)) return { ok: false, code: 'exists', reason: `an organisation "${o.id}" already exists` };
    throw e;
  }
  if (inserted !== 1) return { ok: false, code: 'limit', reason: `this deployment holds its most organisations (${MAX_ORGS})` };
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

/** Every organisation (at most MAX_ORGS), by id: for the deployment's operator only. */
export async function listOrgs(db: D1Database): Promise<Org[]> {
  const { results } = await db.prepare('SELECT * FROM orgs ORDER BY id LIMIT ?').bind(MAX_ORGS).all<OrgRow>();
  return results.map(toOrg);
}

/**
 * Undo the creation of organisation `id` while it has no app (its first app was refused): the
 * organisation and its grants, in one transaction. Never the default organisation, never one with an app.
 */
export async function removeEmptyOrg(db: D1Database, id: string): Promise<void> {
  if (id === DEFAULT_ORG) throw new TypeError('the default organisation is never removed');
  const empty = 'NOT EXISTS (SELECT 1 FROM apps WHERE org_id = ?1)';
  await db.batch([
    db.prepare(`DELETE FROM role_grants WHERE org_id = ?1 AND ${empty}`).bind(id),
    db.prepare(`DELETE FROM orgs WHERE id = ?1 AND ${empty}`).bind(id),
  ]);
}
