/** Grant tokens never cross users, sessions, apps or rules, and cannot be forged, stretched or reused under another key. */
import { describe, expect, it } from 'vitest';
import { parseKeyring } from '../../edge/crypto/keyring';
import { mintGrant, verifyGrant, type GrantClaims } from '../../edge/grants/grant-token';

const key = (seed: number) => btoa(String.fromCharCode(...new Uint8Array(32).fill(seed)));
const ring = parseKeyring(JSON.stringify({ primary: 'k1', keys: { k1: key(1) } }));
const now = 1_900_000_000;
const claims: GrantClaims = {
  sub: 'alice',
  sid: 'sid-a',
  aud: 'app.test',
  rule: 'admin-writes',
  amr: ['otp'],
  auth_time: now,
  exp: now + 300,
  jti: 'j1',
};
const want = { sub: 'alice', sid: 'sid-a', aud: 'app.test', rule: 'admin-writes', now };

describe('grant tokens', () => {
  it('verify for the user, session, app and rule they were minted for', async () => {
    expect(await verifyGrant(ring, await mintGrant(ring, claims), want)).toEqual(claims);
  });

  it.each([
    ['another user', { sub: 'bob' }],
    ['another session', { sid: 'sid-b' }],
    ['another app', { aud: 'other.test' }],
    ['another rule', { rule: 'delete-project' }],
    ['after expiry', { now: now + 300 }],
  ])('are refused for %s', async (_n, over) => {
    expect(await verifyGrant(ring, await mintGrant(ring, claims), { ...want, ...over })).toBeNull();
  });

  it('cannot be edited: a changed claim breaks the MAC', async () => {
    const [p, k, payload, mac] = (await mintGrant(ring, claims)).split('.');
    const forged = btoa(JSON.stringify({ ...claims, exp: now + 86_400 }))
      .replace(/=+$/, '')
      .replaceAll('+', '-')
      .replaceAll('/', '_');
    expect(payload).not.toBe(forged);
    expect(await verifyGrant(ring, [p, k, forged, mac].join('.'), { ...want, now: now + 1000 })).toBeNull();
  });

  it('are refused under a key the ring does not hold, and survive rotation while the old key is kept', async () => {
    const t = await mintGrant(ring, claims);
    const rotated = parseKeyring(JSON.stringify({ primary: 'k2', keys: { k1: key(1), k2: key(2) } }));
    expect(await verifyGrant(rotated, t, want)).toEqual(claims);
    const retired = parseKeyring(JSON.stringify({ primary: 'k2', keys: { k2: key(2) } }));
    expect(await verifyGrant(retired, t, want)).toBeNull();
    const otherRing = parseKeyring(JSON.stringify({ primary: 'k1', keys: { k1: key(9) } }));
    expect(await verifyGrant(otherRing, t, want)).toBeNull();
  });

  it.each(['', 'x', 'sg1.k1.e30', 'sg1.k1.e30.AAAA', 'sg2.k1.e30.AAAA', 'sg1.k1.%%%.AAAA', 'a'.repeat(5000)])(
    'refuse junk %j',
    async (t) => {
      expect(await verifyGrant(ring, t, want)).toBeNull();
    },
  );
});
