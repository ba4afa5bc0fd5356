import { open, seal } from '../crypto/aead';
import { blindIndex, blindIndexes } from '../crypto/blind-index';
import { roleGrantGrantorAad, roleGrantPersonAad } from '../crypto/encryption-context';
import type { Keyring } from '../crypto/keyring';
import { placeholders } from '../factors/active-factors';
import { ROLES, type HeldRole, type Role } from './authorization';
import { newId } from '../crypto/random-id';

/** A role grant as listed (the person opened). */
export interface RoleGrant {
  id: string;
  orgId: string;
  /** null: the whole organisation; an app's id for app-admin. */
  appId: string | null;
  person: string;
  role: Role;
  /** Who granted it; null for the bootstrap owner (or when it no longer opens). */
  grantedBy: string | null;
  grantedAt: number;
}

export interface RoleGrantRow {
  id: string;
  org_id: string;
  app_id: string;
  person_ref: string;
  person_sealed: string;
  role: Role;
  granted_by_sealed: string | null;
  granted_at: number;
}

export const newGrantId = (): string => newId();

/** The sealed columns of a new grant row. */
export async function grantColumns(
  ring: Keyring,
  g: { id: string; orgId: string; appId: string | null; sub: string; role: Role; grantedBy: string | null },
): Promise<{ person_ref: string; person_sealed: string; granted_by_sealed: string | null }> {
  return {
    person_ref: await blindIndex(ring, 'user', g.sub),
    person_sealed: await seal(ring, 'factor-metadata', g.sub, roleGrantPersonAad(g.id, g.orgId, g.appId ?? '', g.role)),
    granted_by_sealed: g.grantedBy === null ? null : await seal(ring, 'factor-metadata', g.grantedBy, roleGrantGrantorAad(g.id)),
  };
}

/** The row, opened and checked: its sealed person must open under its own row and match its blind index. */
async function openGrant(ring: Keyring, r: RoleGrantRow): Promise<RoleGrant | null> {
  try {
    const person = await open(ring, 'factor-metadata', r.person_sealed, roleGrantPersonAad(r.id, r.org_id, r.app_id, r.role));
    if (!(await blindIndexes(ring, 'user', person)).includes(r.person_ref)) return null;
    const grantedBy =
      r.granted_by_sealed === null
        ? null
        : await open(ring, 'factor-metadata', r.granted_by_sealed, roleGrantGrantorAad(r.id)).catch(() => null);
    return {
      id: r.id,
      orgId: r.org_id,
      appId: r.app_id === '' ? null : r.app_id,
      person,
      role: r.role,
      grantedBy,
      grantedAt: r.granted_at,
    };
  } catch {
    return null; // tampered, or under a key no longer held: grants nothing
  }
}

export type GrantResult =
  | { ok: true; grant: RoleGrant }
  | { ok: false; code: 'exists'; reason: string }
  | { ok: false; code: 'no-such-app'; reason: string };

/**
 * Grant `role` to `sub` in `orgId` (for app-admin, on `appId`, an app of that organisation). Who may
 * grant is `authorize`'s decision, made before. A person holds a role once per organisation or app,
 * under any key id (checked in the inserting statement).
 *
 * @throws {TypeError} for an unknown role, or app-admin without an app (or another role with one)
 */
export async function grantRole(
  db: D1Database,
  ring: Keyring,
  g: { orgId: string; appId?: string | null; sub: string; role: Role; grantedBy: string; now: number },
): Promise<GrantResult> {
  if (!ROLES.includes(g.role)) throw new TypeError(`unknown role ${JSON.stringify(g.role)}`);
  const appId = g.appId ?? null;
  if ((g.role === 'app-admin') !== (appId !== null)) {
    throw new TypeError(
      g.role === 'app-admin' ? 'app-admin is granted for an app: name it' : `${g.role} is granted for the whole organisation`,
    );
  }
  if (g.sub === '') throw new TypeError('grant to whom? (empty person)');
  const id = newGrantId();
  const c = await grantColumns(ring, { id, orgId: g.orgId, appId, sub: g.sub, role: g.role, grantedBy: g.grantedBy });
  const refs = await blindIndexes(ring, 'user', g.sub);
  const r = await db
    .prepare(
      'INSERT INTO role_grants (id, org_id, app_id, person_ref, person_sealed, role, granted_by_sealed, granted_at) ' +
        'SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE ' +
        // app-admin: only for an app of this organisation
        "(?3 = '' OR EXISTS (SELECT 1 FROM apps WHERE id = ?3 AND org_id = ?2)) AND " +
        'NOT EXISTS (SELECT 1 FROM role_grants WHERE org_id = ?2 AND app_id = ?3 AND role = ?6 ' +
        `AND person_ref IN (${placeholders(refs.length)})) ` +
        'ON CONFLICT DO NOTHING',
    )
    .bind(id, g.orgId, appId ?? '', c.person_ref, c.person_sealed, g.role, c.granted_by_sealed, g.now, ...refs)
    .run();
  if (r.meta.changes === 1) {
    return { ok: true, grant: { id, orgId: g.orgId, appId, person: g.sub, role: g.role, grantedBy: g.grantedBy, grantedAt: g.now } };
  }
  if (appId !== null && !(await db.prepare('SELECT 1 FROM apps WHERE id = ? AND org_id = ?').bind(appId, g.orgId).first())) {
    return { ok: false, code: 'no-such-app', reason: 'no such app in this organisation' };
  }
  return { ok: false, code: 'exists', reason: `the person already holds ${g.role} here` };
}

/** SQL: the grant `g` (an alias of role_grants) is not an owner grant, or another owner of its organisation remains. */
const NOT_LAST_OWNER = (g: string) =>
  `(${g}.role <> 'owner' OR EXISTS (SELECT 1 FROM role_grants o WHERE o.org_id = ${g}.org_id AND o.role = 'owner' AND o.id <> ${g}.id))`;

export type RevokeResult = { ok: true; grant: RoleGrant | null } | { ok: false; code: 'not-found' | 'last-owner' };

/**
 * Revoke one grant of `orgId` by its id. An owner grant is deleted only while another owner of
 * the organisation remains, decided in the deleting statement: of two racing revocations of the
 * last two owners, exactly one succeeds.
 */
export async function revokeRole(db: D1Database, ring: Keyring, o: { orgId: string; grantId: string }): Promise<RevokeResult> {
  const { results } = await db
    .prepare(`DELETE FROM role_grants AS g WHERE g.id = ? AND g.org_id = ? AND ${NOT_LAST_OWNER('g')} RETURNING *`)
    .bind(o.grantId, o.orgId)
    .all<RoleGrantRow>();
  if (results[0]) return { ok: true, grant: await openGrant(ring, results[0]) };
  const still = await db
    .prepare('SELECT role FROM role_grants WHERE id = ? AND org_id = ?')
    .bind(o.grantId, o.orgId)
    .first<{ role: Role }>();
  return { ok: false, code: still?.role === 'owner' ? 'last-owner' : 'not-found' };
}

/**
 * Remove every role `sub` holds in `orgId` (someone leaving the organisation): all or nothing,
 * refused while they are its last owner (in the same statement).
 */
export async function removePersonRoles(
  db: D1Database,
  ring: Keyring,
  o: { orgId: string; sub: string },
): Promise<{ ok: true; removed: number } | { ok: false; code: 'last-owner' }> {
  const refs = await blindIndexes(ring, 'user', o.sub);
  const ph = placeholders(refs.length);
  const r = await db
    .prepare(
      `DELETE FROM role_grants WHERE org_id = ? AND person_ref IN (${ph}) AND (` +
        `NOT EXISTS (SELECT 1 FROM role_grants s WHERE s.org_id = ? AND s.role = 'owner' AND s.person_ref IN (${ph})) OR ` +
        `EXISTS (SELECT 1 FROM role_grants x WHERE x.org_id = ? AND x.role = 'owner' AND x.person_ref NOT IN (${ph})))`,
    )
    .bind(o.orgId, ...refs, o.orgId, ...refs, o.orgId, ...refs)
    .run();
  if (r.meta.changes > 0) return { ok: true, removed: r.meta.changes };
  const owner = await db
    .prepare(`SELECT 1 FROM role_grants WHERE org_id = ? AND role = 'owner' AND person_ref IN (${ph})`)
    .bind(o.orgId, ...refs)
    .first();
  return owner ? { ok: false, code: 'last-owner' } : { ok: true, removed: 0 };
}

/** The grants of an organisation, optionally of one app or one person (each opened and checked). */
export async function listRoleGrants(
  db: D1Database,
  ring: Keyring,
  o: { orgId: string; appId?: string; sub?: string },
): Promise<RoleGrant[]> {
  const where = ['org_id = ?'];
  const args: string[] = [o.orgId];
  if (o.appId !== undefined) {
    where.push('app_id = ?');
    args.push(o.appId);
  }
  if (o.sub !== undefined) {
    const refs = await blindIndexes(ring, 'user', o.sub);
    where.push(`person_ref IN (${placeholders(refs.length)})`);
    args.push(...refs);
  }
  const { results } = await db
    .prepare(`SELECT * FROM role_grants WHERE ${where.join(' AND ')} ORDER BY granted_at, role, app_id, id`)
    .bind(...args)
    .all<RoleGrantRow>();
  const opened = await Promise.all(results.map((r) => openGrant(ring, r)));
  return opened.filter((g): g is RoleGrant => g !== null && (o.sub === undefined || g.person === o.sub));
}

/** The roles `sub` holds in `orgId`: what `authorize` is given as the actor's roles. */
export async function rolesOf(db: D1Database, ring: Keyring, orgId: string, sub: string): Promise<HeldRole[]> {
  return (await listRoleGrants(db, ring, { orgId, sub })).map((g) => ({ role: g.role, appId: g.appId }));
}

/** The organisations in which `sub` holds any role (ids). */
export async function orgIdsOf(db: D1Database, ring: Keyring, sub: string): Promise<string[]> {
  const refs = await blindIndexes(ring, 'user', sub);
  const { results } = await db
    .prepare(`SELECT * FROM role_grants WHERE person_ref IN (${placeholders(refs.length)}) ORDER BY org_id`)
    .bind(...refs)
    .all<RoleGrantRow>();
  const opened = await Promise.all(results.map((r) => openGrant(ring, r)));
  return [...new Set(opened.filter((g) => g !== null && g.person === sub).map((g) => g!.orgId))];
}
