/**
 * What administrators can make Stepgate store for a person is bounded (docs/admin.md), in the
 * Workers pool with real D1 and Durable Objects, each cap also under racing calls: unspent
 * invitations per person, invitations per issuer per day, recovery starts per person and per starter
 * per day (cancelled ones count); and looking a made-up person up creates no Durable Object.
 */
import { env, listDurableObjectIds } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_RECOVERY_STARTS_PER_PERSON_PER_DAY, MAX_RECOVERY_STARTS_PER_STARTER_PER_DAY } from '../../edge/admin/recovery-limits';
import { parseKeyring } from '../../edge/crypto/keyring';
import {
  issueInvite,
  issueRecoveryInvite,
  MAX_INVITES_PER_ISSUER_PER_DAY,
  MAX_OPEN_INVITES_PER_PERSON,
} from '../../edge/factors/invites/invite-store';
import { as, type Caller, person } from './admin-callers';
import { seedRole } from './seed-roles';

const ring = parseKeyring(env.STEPGATE_KEYS);
const ORGS = '/.stepgate/api/admin/orgs/default';
const statuses = (rs: Response[]) => rs.map((r) => r.status).sort();
const count = (xs: number[], x: number) => xs.filter((s) => s === x).length;

let ivy: Caller; // admin
let hal: Caller; // helpdesk

beforeAll(async () => {
  [ivy, hal] = await Promise.all([person('cap-ivy'), person('cap-hal')]);
  await seedRole('cap-ivy', 'admin');
  await seedRole('cap-hal', 'helpdesk');
});

describe('invitations', () => {
  it(`a person has at most ${MAX_OPEN_INVITES_PER_PERSON} unspent: more are refused (409), not the oldest dropped`, async () => {
    const rs = await Promise.all(
      Array.from({ length: MAX_OPEN_INVITES_PER_PERSON + 4 }, () => as(ivy, 'POST', '/.stepgate/api/admin/invites', { user: 'cap-p1' })),
    );
    const s = statuses(rs);
    expect(count(s, 201)).toBe(MAX_OPEN_INVITES_PER_PERSON);
    expect(count(s, 409)).toBe(4);
    const refused = rs.find((r) => r.status === 409)!;
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/already has 5 unused invitations/);
    // The invitations made still work: none was dropped for the refused ones.
    const codes = await Promise.all(rs.filter((r) => r.status === 201).map(async (r) => ((await r.json()) as { invite: string }).invite));
    expect(new Set(codes).size).toBe(MAX_OPEN_INVITES_PER_PERSON);
  });

  it(`one issuer issues at most ${MAX_INVITES_PER_ISSUER_PER_DAY} in 24 hours, however the calls race`, async () => {
    const now = Date.now();
    const tries = Array.from({ length: MAX_INVITES_PER_ISSUER_PER_DAY + 10 }, (_, i) =>
      issueInvite(env.DB, ring, `cap-many-${i}`, 'cap-issuer', now).then(
        () => 'ok',
        (e: { status?: number }) => e.status,
      ),
    );
    const out = await Promise.all(tries);
    expect(out.filter((x) => x === 'ok')).toHaveLength(MAX_INVITES_PER_ISSUER_PER_DAY);
    expect(out.filter((x) => x === 409)).toHaveLength(10);
    // Another issuer is not held back; the same one is again a day later.
    await expect(issueInvite(env.DB, ring, 'cap-many-0', 'cap-other-issuer', now)).resolves.toMatch(/-/);
    await expect(issueInvite(env.DB, ring, 'cap-later', 'cap-issuer', now + 24 * 60 * 60 * 1000 + 1)).resolves.toMatch(/-/);
  });

  it('the invitation that completes a recovery is not an administrator’s: it is not refused by their caps', async () => {
    const now = Date.now();
    for (let i = 0; i < MAX_OPEN_INVITES_PER_PERSON; i++) await issueInvite(env.DB, ring, 'cap-rec', `cap-rec-issuer-${i}`, now);
    await expect(issueInvite(env.DB, ring, 'cap-rec', 'cap-rec-issuer-x', now)).rejects.toMatchObject({ status: 409 });
    await expect(issueRecoveryInvite(env.DB, ring, 'cap-rec', 'cap-rec-issuer-x', now)).resolves.toMatch(/-/);
  });
});

describe('recovery starts', () => {
  const start = (who: Caller, user: string) => as(who, 'POST', `${ORGS}/recoveries`, { user });
  const cancel = async (r: Response) => {
    const { recovery } = (await r.json()) as { recovery: { id: string } };
    expect((await as(ivy, 'POST', `${ORGS}/recoveries/${recovery.id}/cancel`, {})).status).toBe(200);
  };

  it(`at most ${MAX_RECOVERY_STARTS_PER_PERSON_PER_DAY} a day for one person, cancelled ones counted`, async () => {
    for (let i = 0; i < MAX_RECOVERY_STARTS_PER_PERSON_PER_DAY; i++) {
      const r = await start(hal, 'cap-lost');
      expect(r.status).toBe(201);
      await cancel(r);
    }
    const refused = await start(hal, 'cap-lost');
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/3 times in the last 24 hours/);
    // Nothing was stored for the refused start, and another person is not affected.
    const n = await env.DB.prepare('SELECT COUNT(*) AS n FROM recoveries').first<{ n: number }>();
    expect((await start(hal, 'cap-lost-2')).status).toBe(201);
    expect((await env.DB.prepare('SELECT COUNT(*) AS n FROM recoveries').first<{ n: number }>())!.n).toBe(n!.n + 1);
  });

  it(`at most ${MAX_RECOVERY_STARTS_PER_STARTER_PER_DAY} a day by one starter: racing starts past it are taken back`, async () => {
    const extra = 6;
    const rs = await Promise.all(
      Array.from({ length: MAX_RECOVERY_STARTS_PER_STARTER_PER_DAY + extra }, (_, i) => start(ivy, `cap-race-${i}`)),
    );
    const s = statuses(rs);
    expect(count(s, 201)).toBe(MAX_RECOVERY_STARTS_PER_STARTER_PER_DAY);
    expect(count(s, 409)).toBe(extra);
    // What the answers say is what stands: exactly the cap is open.
    const { recoveries } = (await (await as(ivy, 'GET', `${ORGS}/recoveries`)).json()) as {
      recoveries: { user: string; started_by: string }[];
    };
    expect(recoveries.filter((r) => r.started_by === 'cap-ivy' && r.user.startsWith('cap-race-'))).toHaveLength(
      MAX_RECOVERY_STARTS_PER_STARTER_PER_DAY,
    );
    expect((await start(ivy, 'cap-race-late')).status).toBe(409);
  });
});

describe('looking a person up', () => {
  it('creates no Durable Object for a subject with no factor, and reads the lockout of one who has', async () => {
    const before = (await listDurableObjectIds(env.USER_STATE)).map((id) => id.toString());
    const made = env.USER_STATE.idFromName('user:cap-nobody-at-all').toString();
    expect(before).not.toContain(made);
    const r = await as(ivy, 'GET', `${ORGS}/people/cap-nobody-at-all`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { locked: unknown }).locked).toEqual({ consecutive_failures: 0, backoff_until: null, locked_out: false });
    const after = (await listDurableObjectIds(env.USER_STATE)).map((id) => id.toString());
    expect(after).not.toContain(made);
    expect((await as(ivy, 'GET', `${ORGS}/people/cap-hal`)).status).toBe(200);
  });
});
