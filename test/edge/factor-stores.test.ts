/** Factor storage in real D1: no plaintext users, secrets or codes; single-use recovery codes under concurrency. */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { parseKeyring } from '../../edge/crypto/keyring';
import { activeFactorCount } from '../../edge/factors/active-factors';
import { issueRecoveryCodes, recoveryCodesLeft, useRecoveryCode } from '../../edge/factors/recovery/recovery-code-store';
import { activateTotp, createPendingTotp, totpFactors } from '../../edge/factors/totp/totp-store';

const ring = parseKeyring(JSON.stringify({ primary: 'k1', keys: { k1: btoa(String.fromCharCode(...new Uint8Array(32).fill(7))) } }));
const now = 1_900_000_000_000;
const dump = async () =>
  JSON.stringify([
    ...(await env.DB.prepare('SELECT * FROM totp_factors').all()).results,
    ...(await env.DB.prepare('SELECT * FROM recovery_codes').all()).results,
  ]);

describe('TOTP factors', () => {
  it('stores a 160-bit secret sealed, the user only as a blind index, and activates only for its owner', async () => {
    const f = await createPendingTotp(env.DB, ring, 'alice@example.com', now, 'first-use');
    expect(f.secret).toMatch(/^[A-Z2-7]{32}$/); // 20 bytes
    const stored = await dump();
    expect(stored).not.toContain(f.secret);
    expect(stored).not.toContain('alice');
    expect(await activeFactorCount(env.DB, ring, 'alice@example.com')).toBe(0);
    expect(await activateTotp(env.DB, ring, 'mallory', f.id, now)).toBe(false);
    expect(await activateTotp(env.DB, ring, 'alice@example.com', f.id, now)).toBe(true);
    expect(await activateTotp(env.DB, ring, 'alice@example.com', f.id, now)).toBe(false);
    expect(await totpFactors(env.DB, ring, 'alice@example.com', 'active')).toEqual([f]);
    expect(await totpFactors(env.DB, ring, 'mallory', 'active')).toEqual([]);
  });

  it('a sealed secret copied into another user’s row does not open', async () => {
    const a = await createPendingTotp(env.DB, ring, 'ann', now, 'first-use');
    const b = await createPendingTotp(env.DB, ring, 'ben', now, 'first-use');
    await env.DB.prepare('UPDATE totp_factors SET secret_sealed = (SELECT secret_sealed FROM totp_factors WHERE id = ?) WHERE id = ?')
      .bind(a.id, b.id)
      .run();
    expect(await totpFactors(env.DB, ring, 'ben', 'pending')).toEqual([]);
  });
});

describe('recovery codes', () => {
  it('issues ten distinct ≥112-bit codes, stores only hashes, and each works once', async () => {
    const codes = await issueRecoveryCodes(env.DB, ring, 'carol', now);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^([A-Z2-7]{5}-){4}[A-Z2-7]{5}$/);
    const stored = await dump();
    for (const c of codes) expect(stored).not.toContain(c);
    expect(await useRecoveryCode(env.DB, ring, 'carol', codes[0]!.toLowerCase().replaceAll('-', ' '), now)).toBe(true);
    expect(await useRecoveryCode(env.DB, ring, 'carol', codes[0]!, now)).toBe(false);
    expect(await useRecoveryCode(env.DB, ring, 'dave', codes[1]!, now)).toBe(false); // another user's code
    expect(await recoveryCodesLeft(env.DB, ring, 'carol')).toBe(9);
  });

  it('lets exactly one of 25 concurrent uses of one code succeed', async () => {
    const [code] = await issueRecoveryCodes(env.DB, ring, 'erin', now);
    const results = await Promise.all(Array.from({ length: 25 }, () => useRecoveryCode(env.DB, ring, 'erin', code!, now)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('regenerating replaces every old code', async () => {
    const old = await issueRecoveryCodes(env.DB, ring, 'fay', now);
    await issueRecoveryCodes(env.DB, ring, 'fay', now);
    expect(await useRecoveryCode(env.DB, ring, 'fay', old[3]!, now)).toBe(false);
    expect(await recoveryCodesLeft(env.DB, ring, 'fay')).toBe(10);
  });

  it.each(['', 'AAAAA', 'not a code at all!', 'AAAAA-AAAAA-AAAAA-AAAAA-AAAA1'])(
    'refuses malformed input %j without querying',
    async (t) => {
      expect(await useRecoveryCode(env.DB, ring, 'carol', t, now)).toBe(false);
    },
  );
});
