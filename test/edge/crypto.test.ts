/** Keyring and AEAD: per-purpose HKDF subkeys (checked against an independent RFC 5869 HKDF), and sealing bound to its row. */
import { describe, expect, it } from 'vitest';
import { open, seal, sealedKid } from '../../edge/crypto/aead';
import { KEY_PURPOSES, parseKeyring } from '../../edge/crypto/keyring';

const k1 = btoa(String.fromCharCode(...new Uint8Array(32).map((_, i) => i)));
const k2 = btoa(String.fromCharCode(...new Uint8Array(32).map((_, i) => 255 - i)));
const ring = (primary: string, keys: Record<string, string>) => parseKeyring(JSON.stringify({ primary, keys }));

/** RFC 5869 HKDF-SHA-256 for one 32-byte block, written from the RFC with HMAC only. */
async function hkdfReference(ikm: Uint8Array<ArrayBuffer>, salt: string, info: string): Promise<Uint8Array> {
  const hmac = async (key: Uint8Array, data: Uint8Array) =>
    new Uint8Array(
      await crypto.subtle.sign('HMAC', await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']), data),
    );
  const prk = await hmac(new TextEncoder().encode(salt), ikm);
  const infoBytes = new TextEncoder().encode(info);
  const t1in = new Uint8Array(infoBytes.length + 1);
  t1in.set(infoBytes);
  t1in[infoBytes.length] = 1;
  return hmac(prk, t1in);
}

describe('parseKeyring', () => {
  it.each([
    [undefined, /not set/],
    ['{', /not valid JSON/],
    [JSON.stringify({ primary: 'k1' }), /"keys" must be an object/],
    [JSON.stringify({ primary: 'k9', keys: { k1 } }), /"primary" must name one of/],
    [JSON.stringify({ primary: 'k1', keys: { k1: btoa('short') } }), /has 5 bytes, expected at least 32/],
    [JSON.stringify({ primary: 'bad id!', keys: { 'bad id!': k1 } }), /key id/],
  ])('refuses %s', (secret, message) => {
    expect(() => parseKeyring(secret)).toThrow(message);
  });

  it('never puts key material in its errors', () => {
    const secret = JSON.stringify({ primary: 'k1', keys: { k1: btoa('x'.repeat(20)) } });
    try {
      parseKeyring(secret);
    } catch (e) {
      expect((e as Error).message).not.toContain(btoa('x'.repeat(20)));
    }
  });
});

describe('derived keys', () => {
  it('match an independent RFC 5869 HKDF for each purpose', async () => {
    const r = ring('k1', { k1 });
    const ikm = Uint8Array.from(atob(k1), (c) => c.charCodeAt(0));
    for (const p of KEY_PURPOSES) {
      expect(await r.bytes(p)).toEqual(await hkdfReference(ikm, 'stepgate-keyring-v1', `stepgate/${p}/v1`));
    }
  });

  it('differ across purposes and key ids', async () => {
    const r = ring('k1', { k1, k2 });
    const all = await Promise.all([...KEY_PURPOSES.map((p) => r.bytes(p, 'k1')), ...KEY_PURPOSES.map((p) => r.bytes(p, 'k2'))]);
    expect(new Set(all.map((b) => b.join(','))).size).toBe(KEY_PURPOSES.length * 2);
  });
});

describe('seal / open', () => {
  const r1 = ring('k1', { k1 });

  it('round-trips and names its key id', async () => {
    const s = await seal(r1, 'totp-secret', 'JBSWY3DPEHPK3PXPJBSWY3DP', 'totp|alice');
    expect(sealedKid(s)).toBe('k1');
    expect(s).not.toContain('JBSWY3DP');
    expect(await open(r1, 'totp-secret', s, 'totp|alice')).toBe('JBSWY3DPEHPK3PXPJBSWY3DP');
  });

  it('uses a fresh IV every time', async () => {
    const ivs = new Set<string>();
    for (let i = 0; i < 500; i++) ivs.add((await seal(r1, 'held-request', 'same', 'row')).split('.')[2]!);
    expect(ivs.size).toBe(500);
  });

  it.each([
    ['another row (AAD)', (s: string) => open(r1, 'totp-secret', s, 'totp|bob')],
    ['another purpose', (s: string) => open(r1, 'held-request', s, 'totp|alice')],
    [
      'a flipped ciphertext bit',
      (s: string) => open(r1, 'totp-secret', s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1), 'totp|alice'),
    ],
    ['a swapped key id', (s: string) => open(ring('k1', { k1, k2 }), 'totp-secret', s.replace('.k1.', '.k2.'), 'totp|alice')],
    ['a truncated value', (s: string) => open(r1, 'totp-secret', s.split('.').slice(0, 3).join('.'), 'totp|alice')],
  ])('refuses to open under %s', async (_n, attempt) => {
    const s = await seal(r1, 'totp-secret', 'secret', 'totp|alice');
    await expect(attempt(s)).rejects.toThrow();
  });

  it('keeps old values readable through rotation, and unreadable once the old key is retired', async () => {
    const old = await seal(r1, 'totp-secret', 'before rotation', 'row-1');
    const rotated = ring('k2', { k1, k2 });
    expect(await open(rotated, 'totp-secret', old, 'row-1')).toBe('before rotation');
    const fresh = await seal(rotated, 'totp-secret', 'after rotation', 'row-2');
    expect(sealedKid(fresh)).toBe('k2');
    await expect(open(ring('k2', { k2 }), 'totp-secret', old, 'row-1')).rejects.toThrow(/unknown key id/);
  });
});
