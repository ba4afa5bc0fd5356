/** TOTP: RFC 6238 Appendix B vectors, ±1 step, and each time step accepted once per user under concurrency. */
import { env } from 'cloudflare:test';
import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import { verifyTotp } from '../../edge/factors/totp/verify-totp';

/** RFC 4648 base32 of ASCII, to feed the RFC's ASCII seeds to a base32 API. */
const base32 = (ascii: string): string => {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of ascii) bits += c.charCodeAt(0).toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i < bits.length; i += 5) out += A[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
  return out;
};

// RFC 6238 Appendix B: seeds are "12345678901234567890" repeated to 20, 32 and 64 bytes.
const SEED = { sha1: '12345678901234567890', sha256: '12345678901234567890123456789012', sha512: `${'1234567890'.repeat(6)}1234` };
const VECTORS: [number, string, string, string][] = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

describe('verifyTotp against RFC 6238 test vectors', () => {
  it.each(VECTORS)('T=%i: sha1 %s, sha256 %s, sha512 %s', async (t, c1, c256, c512) => {
    for (const [alg, code] of [
      ['sha1', c1],
      ['sha256', c256],
      ['sha512', c512],
    ] as const) {
      const r = await verifyTotp(base32(SEED[alg]), code, t, { algorithm: alg, digits: 8 });
      expect(r, alg).toEqual({ ok: true, timeStep: Math.floor(t / 30) });
    }
  });
});

describe('verifyTotp with authenticator-app defaults (SHA-1, 6 digits, 30 s)', () => {
  const secret = base32('stepgate-demo-secret!'); // 21 bytes ≥ 160 bits
  const at = 1_800_000_000;
  const code = (epoch: number) => generate({ secret, epoch });

  it('accepts the current step and one step either side, and nothing further', async () => {
    const now = await code(at);
    expect(await verifyTotp(secret, now, at)).toEqual({ ok: true, timeStep: at / 30 });
    expect((await verifyTotp(secret, await code(at - 30), at)).ok).toBe(true);
    expect((await verifyTotp(secret, await code(at + 30), at)).ok).toBe(true);
    expect(await verifyTotp(secret, await code(at - 60), at)).toEqual({ ok: false, reason: 'invalid' });
    expect(await verifyTotp(secret, await code(at + 60), at)).toEqual({ ok: false, reason: 'invalid' });
  });

  it.each(['', '12345', '1234567', '12 345', 'abcdef', '１２３４５６', '123456\n'])('refuses the malformed code %j', async (c) => {
    expect(await verifyTotp(secret, c, at)).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('UserState.acceptTotpStep', () => {
  const gate = (n: string) => env.USER_STATE.get(env.USER_STATE.idFromName(n));

  it('accepts each time step once, and never an older one after a newer', async () => {
    const g = gate('user:totp-1');
    expect(await g.acceptTotpStep('f1', 100)).toBe(true);
    expect(await g.acceptTotpStep('f1', 100)).toBe(false);
    expect(await g.acceptTotpStep('f1', 99)).toBe(false);
    expect(await g.acceptTotpStep('f1', 101)).toBe(true);
    expect(await g.acceptTotpStep('f2', 100)).toBe(true); // another factor has its own steps
  });

  it('lets exactly one of 50 concurrent submissions of the same step through', async () => {
    const g = gate('user:totp-2');
    const results = await Promise.all(Array.from({ length: 50 }, () => g.acceptTotpStep('f1', 123_456)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('refuses nonsense steps', async () => {
    const g = gate('user:totp-3');
    expect(await g.acceptTotpStep('f1', -1)).toBe(false);
    expect(await g.acceptTotpStep('f1', 1.5)).toBe(false);
  });
});
