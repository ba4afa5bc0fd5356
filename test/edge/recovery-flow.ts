/**
 * @module Helpers for the factor-recovery tests in the Workers pool: a gateway whose clock the test
 * moves (the waiting period, expiry), a one-hour waiting period, and people with an authenticator
 * app and a fresh step-up — of the default organisation (demo sessions on app.test) or of "acme"
 * (the dev identity source on acme.test, people "acme/<name>").
 */
import { env } from 'cloudflare:test';
import { createOrg } from '../../edge/admin/org-store';
import { grantRole } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { type Caller, callWith, newGateway, person as personOn, stepUp } from './admin-callers';
import { seedApp } from './seed-apps';

export { type Body, bodyOf, type Caller } from './admin-callers';

export const ring = parseKeyring(env.STEPGATE_KEYS);
/** Moved forward by tests to pass the waiting period or the expiry; the gateway's clock is now + offset. */
export const clock = { offset: 0 };
export const nowMs = () => Date.now() + clock.offset;
/** The waiting period of these tests. */
export const WAIT_MS = 60 * 60 * 1000;
// The development config sets minutes for the demo; these tests use RECOVERY_WAIT_HOURS, as production does.
export const send = newGateway({ now: nowMs, env: { ...env, RECOVERY_WAIT_HOURS: '1', RECOVERY_WAIT_MINUTES: '' } });
export const API = '/.stepgate/api/admin';
export const ACME_HOST = 'acme.test';

/** A request as a Stepgate page sends it: same-origin JSON for a write. */
export const call = (headers: Record<string, string>, host: string, method: string, path: string, body?: unknown) =>
  callWith(send, headers, host, method, path, body);
/** As `who`, with their fresh step-up. */
export const as = (who: Caller, method: string, path: string, body?: unknown) => call(who.stepped, who.host, method, path, body);
/** As `who`, identified only (no step-up): how a person who lost their factors calls. */
export const plainly = (who: Caller, method: string, path: string, body?: unknown) => call(who.plain, who.host, method, path, body);

/** A fresh step-up of `who` at the clock's time, with the authenticator app's code of that time: `who` with it. */
export async function freshStepUp(who: Omit<Caller, 'stepped'>): Promise<Caller> {
  return { ...who, stepped: await stepUp(send, who.host, who.plain, who.secret, nowMs) };
}

/** Sign in, enrol an authenticator app and step up (at the clock's time). */
export const person = (name: string, org: 'default' | 'acme' = 'default'): Promise<Caller> =>
  personOn(send, name, org === 'default' ? 'app.test' : ACME_HOST, { session: `${name}-recovery`, now: nowMs });

/** The organisation "acme" with its app on acme.test (dev identity), its owner and an admin. */
export async function seedAcme(): Promise<void> {
  const now = Date.now();
  const org = await createOrg(env.DB, { id: 'acme', name: 'Acme Corp', now, owner: { ring, sub: 'acme/boss', grantedBy: 'seed' } });
  if (!org.ok) throw new Error('acme');
  await seedApp({ org: 'acme', name: 'acme-internal', hosts: [ACME_HOST], createdBy: 'acme/boss', now });
  const r = await grantRole(env.DB, ring, { orgId: 'acme', sub: 'acme/ada', role: 'admin', grantedBy: 'acme/boss', now });
  if (!r.ok) throw new Error('acme admin');
}
