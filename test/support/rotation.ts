/** @module Test helper: a personal API token created straight in D1 (as the tokens endpoint does after a step-up). */
import { createToken } from '../../edge/admin/api-tokens';
import type { Keyring } from '../../edge/crypto/keyring';

export async function createApiTokenForTest(db: D1Database, ring: Keyring, sub: string): Promise<string> {
  return (await createToken(db, ring, sub, { scopes: ['audit:read'], ttlDays: 1, label: 'rotation test', now: Date.now() })).token;
}
