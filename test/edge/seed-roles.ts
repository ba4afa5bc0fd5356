/** @module Role grants for tests in the Workers pool, seeded through the role store (as an owner would grant them). */
import { env } from 'cloudflare:test';
import type { Role } from '../../edge/admin/authorization';
import { grantRole } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';

/** Grant `role` to `sub` in `org` (default "default"; app-admin needs `appId`), as the deployment's keyring seals it. */
export async function seedRole(sub: string, role: Role, o: { org?: string; appId?: string } = {}): Promise<void> {
  const r = await grantRole(env.DB, parseKeyring(env.STEPGATE_KEYS), {
    orgId: o.org ?? 'default',
    appId: o.appId ?? null,
    sub,
    role,
    grantedBy: 'test-setup',
    now: Date.now(),
  });
  if (!r.ok) throw new Error(`seedRole(${sub}, ${role}): ${r.reason}`);
}
