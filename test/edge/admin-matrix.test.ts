/**
 * @module The role × endpoint × same-organisation/other-organisation matrix of the admin API and the
 * console (issue 12), through the gateway in workerd with real D1 and Durable Objects. The operations
 * come from the OpenAPI document: one without a row in admin-matrix-table.ts fails the test, so a new
 * endpoint cannot skip the matrix. Two organisations, "default" and "acme", each with two apps and a
 * person in every role (app-admin of the app they come through, and of the other app), each with a
 * fresh step-up and a personal token. Every call is checked for its status (allowed exactly where the
 * table says, 403 or 404 elsewhere), refused writes aimed at the other organisation change nothing
 * there, and no answer to a person carries the other organisation's names, people or ids.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../shared/errors';
import { createToken } from '../../edge/admin/api-tokens';
import type { Role } from '../../edge/admin/authorization';
import { createOrg } from '../../edge/admin/org-store';
import { startRecovery } from '../../edge/admin/recovery-store';
import { grantRole } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { openapi } from '../../edge/endpoints/openapi';
import {
  type Call,
  COVERED_PREFIXES,
  type Ctx,
  type Org,
  type Outcome,
  type Row,
  TABLE,
  type Targets,
  TEST_POLICY,
  WHO,
  type Who,
} from './admin-matrix-table';
import { type Caller, callWith, newGateway, person, stepUp } from './admin-callers';
import { seedApp } from './seed-apps';
import { seedRole } from './seed-roles';

const ring = parseKeyring(env.STEPGATE_KEYS);
const send = newGateway();
const ORGS: Org[] = ['default', 'acme'];
const otherOf = (o: Org): Org => (o === 'default' ? 'acme' : 'default');
/** Distinct prefixes, so that any of an organisation's names in the other's answers is found. */
const P: Record<Org, string> = { default: 'dmx', acme: 'amx' };
const ORG_NAME: Record<Org, string> = { default: 'Dmx Holdings', acme: 'Amx Corp' };
const keyOf = (org: Org, subject: string) => (org === 'default' ? subject : `${org}/${subject}`);

interface OrgFixture {
  callers: Record<Who, Caller & { token: string }>;
  /** Its fixed targets (aimed at by the other organisation's people). */
  fixed: Targets;
  /** What never leaves the organisation: its name, apps' names and hosts, its people. */
  names: string[];
  /** Its ids: never in an answer to the other organisation's people, except in their own audit log (what they sent). */
  ids: string[];
}
const fx = {} as Record<Org, OrgFixture>;
let seq = 0;
const next = () => `${++seq}`;

const newApp = async (org: Org, name: string, host: string) =>
  (await seedApp({ org, name, hosts: [host], policy: TEST_POLICY, createdBy: 'matrix-setup' })).id;
async function newGrant(org: Org, subject: string, role: Role = 'auditor'): Promise<string> {
  const r = await grantRole(env.DB, ring, { orgId: org, sub: keyOf(org, subject), role, grantedBy: 'matrix-setup', now: Date.now() });
  if (!r.ok) throw new Error(`grant: ${r.reason}`);
  return r.grant.id;
}
async function newRecovery(org: Org, subject: string): Promise<string> {
  const startedBy = keyOf(org, `${P[org]}-helpdesk`);
  const r = await startRecovery(env.DB, ring, { orgId: org, person: keyOf(org, subject), startedBy, now: Date.now() });
  if (!r.ok) throw new Error(`recovery: ${r.reason}`);
  return r.recovery.id;
}
const newToken = async (sub: string) =>
  createToken(env.DB, ring, sub, { scopes: ['audit:read'], ttlDays: 1, label: 'matrix', now: Date.now() });

let steppedAt = 0;
beforeAll(async () => {
  // Why: the default organisation's seeded name ("Default") is a word any answer may use; a distinct one can be searched for.
  await env.DB.prepare('UPDATE orgs SET name = ? WHERE id = ?').bind(ORG_NAME.default, 'default').run();
  const made = await createOrg(env.DB, { id: 'acme', name: ORG_NAME.acme, now: Date.now() });
  expect(made.ok).toBe(true);
  // Every app first: the gateway loads its registry of apps on its first request.
  const hosts = (org: Org) => [`${P[org]}1.mx.test`, `${P[org]}2.mx.test`];
  const appNames = (org: Org) => [`${P[org]} Ledger`, `${P[org]} Wiki`];
  const apps = {} as Record<Org, string[]>;
  for (const org of ORGS)
    apps[org] = [await newApp(org, appNames(org)[0]!, hosts(org)[0]!), await newApp(org, appNames(org)[1]!, hosts(org)[1]!)];
  for (const org of ORGS) {
    const p = P[org];
    const [app1, app2] = apps[org] as [string, string];
    const callers = {} as OrgFixture['callers'];
    for (const who of WHO) {
      const subject = `${p}-${who}`;
      if (who === 'app-admin') await seedRole(keyOf(org, subject), 'app-admin', { org, appId: app1 });
      else if (who === 'other-app-admin') await seedRole(keyOf(org, subject), 'app-admin', { org, appId: app2 });
      else if (who !== 'none') await seedRole(keyOf(org, subject), who, { org });
      const c = await person(send, subject, hosts(org)[0]);
      callers[who] = { ...c, token: (await newToken(keyOf(org, subject))).token };
    }
    const fixedUser = `${p}-fixed-user`;
    const fixed: Targets = {
      app: app1,
      appName: appNames(org)[0]!,
      freshApp: app2,
      grant: await newGrant(org, `${p}-fixed-grantee`),
      recovery: await newRecovery(org, `${p}-fixed-lost`),
      token: (await newToken(keyOf(org, `${p}-owner`))).info.id,
      user: fixedUser,
    };
    const people = [...WHO.map((w) => `${p}-${w}`), `${p}-fixed-grantee`, `${p}-fixed-lost`];
    const ids = [app1, app2, fixed.grant, fixed.recovery, fixed.token, fixedUser, ...(org === 'default' ? [] : [org])];
    fx[org] = { callers, fixed, names: [ORG_NAME[org], ...appNames(org), ...hosts(org), ...people], ids };
  }
  steppedAt = Date.now();
}, 120_000);

/** Fresh step-ups last 5 minutes: step everyone up again well before. */
async function keepFresh(): Promise<void> {
  if (Date.now() - steppedAt < 150_000) return;
  for (const org of ORGS) for (const c of Object.values(fx[org].callers)) c.stepped = await stepUp(send, c.host, c.plain, c.secret);
  steppedAt = Date.now();
}

/** Throwaway targets in `org` for one call by `caller`: an app (its app-admin administers it), a grant, a recovery, a token. */
async function targetsFor(row: Row, org: Org, caller: Caller): Promise<Targets> {
  const n = next();
  const t: Targets = { ...fx[org].fixed, user: `tmp-${n}` };
  const needs = row.needs ?? [];
  if (needs.includes('app')) {
    t.freshApp = await newApp(org, `tmp-app-${n}`, `tmp-${n}.mx.test`);
    await seedRole(keyOf(org, `${P[org]}-app-admin`), 'app-admin', { org, appId: t.freshApp });
  }
  if (needs.includes('grant')) t.grant = await newGrant(org, `tmp-grantee-${n}`);
  if (needs.includes('recovery')) t.recovery = await newRecovery(org, `tmp-lost-${n}`);
  if (needs.includes('token')) t.token = (await newToken(keyOf(org, caller.name))).info.id;
  return t;
}

/** What an organisation holds, as far as a call of the matrix could change it (organisations, apps, grants, recoveries, tokens). */
async function snapshot(org: Org): Promise<string> {
  const q = async (sql: string) => (await env.DB.prepare(sql).bind(org).all()).results;
  return JSON.stringify([
    (await env.DB.prepare('SELECT id, name FROM orgs ORDER BY id').all()).results,
    await q(
      'SELECT a.id, a.name, a.updated_at, p.hash FROM apps a LEFT JOIN app_policies p ON p.app_id = a.id WHERE a.org_id = ? ORDER BY a.id',
    ),
    await q('SELECT h.host, h.app_id FROM app_hosts h JOIN apps a ON a.id = h.app_id WHERE a.org_id = ? ORDER BY h.host'),
    await q('SELECT id, role FROM role_grants WHERE org_id = ? ORDER BY id'),
    await q('SELECT id, state FROM recoveries WHERE org_id = ? ORDER BY id'),
    await q('SELECT id, revoked_at FROM api_tokens WHERE org_id = ? ORDER BY id'),
  ]);
}

function request(method: string, who: Caller & { token: string }, c: Call): Promise<Response> {
  if (c.bearer) return send(`http://${who.host}${c.path}`, { headers: { authorization: `Bearer ${who.token}` } });
  const headers = c.html ? { ...who.stepped, accept: 'text/html' } : who.stepped;
  return callWith(send, headers, who.host, method, c.path, c.body);
}

const cells = { same: 0, other: 0, mixed: 0 };
const opsChecked = new Set<string>();

/** One call: its status against the table, nothing of the other organisation in the answer; the problems found. */
async function check(key: string, row: Row, home: Org, who: Who, kind: 'same' | 'other' | 'mixed'): Promise<string[]> {
  const method = key.split(' ')[0]!;
  const other = otherOf(home);
  const caller = fx[home].callers[who];
  const aimed = kind === 'other' ? other : home;
  const t =
    kind === 'same'
      ? await targetsFor(row, home, caller)
      : { ...fx[other].fixed, user: kind === 'other' ? fx[other].fixed.user : `tmp-${next()}` };
  const ctx: Ctx = { home, org: aimed, cross: kind !== 'same', t, n: next() };
  const call = row.req(ctx);
  const expected: Outcome | null | undefined =
    kind === 'same' ? row.same(home)[who] : kind === 'other' ? row.other?.(home)?.[who] : row.same(home)[who];
  if (!call || expected === undefined || expected === null) return [];
  const where = { same: 'own organisation', other: `aimed at ${other}`, mixed: `${other}'s target on its own path` }[kind];
  const label = `${key} — ${who} of ${home}, ${where}`;
  // A refused write changes nothing: in the other organisation, or in one's own.
  const watched = kind === 'same' ? home : other;
  const watch = method !== 'GET' && (kind !== 'same' || expected !== 'ok');
  const before = watch ? await snapshot(watched) : '';
  const res = await request(method, caller, call);
  const text = await res.text();
  cells[kind]++;
  opsChecked.add(key);
  const problems: string[] = [];
  // Another organisation's target named on one's own path: allowed roles find nothing (404); the others may be refused first (403).
  const ok = kind === 'mixed' ? (expected === 'ok' || expected === 404 ? [404] : [403, 404]) : [expected === 'ok' ? row.ok : expected];
  if (!ok.includes(res.status)) problems.push(`${label}: ${res.status}, expected ${ok.join(' or ')} — ${text.slice(0, 200)}`);
  if (res.status === 403 && text.includes(ErrorCode.FreshStepUpRequired)) problems.push(`${label}: the step-up was not fresh`);
  if (watch && (await snapshot(watched)) !== before) problems.push(`${label}: changed ${watched}`);
  if (!(row.operatorSeesAll && home === 'default' && who === 'owner')) {
    const leaks = [...fx[other].names, ...(row.auditLog ? [] : fx[other].ids)].filter((s) => text.includes(s));
    if (leaks.length > 0) problems.push(`${label}: the answer names ${other}'s ${leaks.join(', ')}`);
  }
  return problems;
}

/** The operations of the OpenAPI document the matrix covers, as `METHOD path`. */
const documented = Object.entries(openapi.paths as Record<string, Record<string, unknown>>)
  .filter(([path]) => COVERED_PREFIXES.some((p) => path.startsWith(p)))
  .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));

describe('the matrix covers every admin operation of the OpenAPI document', () => {
  it('every operation has a row (a new endpoint cannot skip it), and every row is an operation', () => {
    expect(documented.length).toBeGreaterThan(30);
    expect(documented.filter((k) => !(k in TABLE))).toEqual([]);
    expect(Object.keys(TABLE).filter((k) => !documented.includes(k))).toEqual([]);
  });
});

describe('role × operation × own organisation / other organisation', () => {
  for (const key of documented) {
    const row = TABLE[key];
    if (!row) continue; // reported above
    it(key, async () => {
      await keepFresh();
      const problems: string[] = [];
      for (const home of ORGS)
        for (const who of WHO)
          for (const kind of ['same', 'other', ...(row.mixed ? ['mixed' as const] : [])] as const)
            problems.push(...(await check(key, row, home, who, kind)));
      expect(problems).toEqual([]);
    }, 120_000);
  }

  it('checked every operation, in both organisations, for every role', () => {
    const total = cells.same + cells.other + cells.mixed;
    console.log(`admin matrix: ${opsChecked.size} operations, ${WHO.length} roles × 2 organisations; ${total} calls`, cells);
    expect(opsChecked.size).toBe(documented.length);
    expect(cells.same).toBe(documented.length * WHO.length * ORGS.length);
  });
});
