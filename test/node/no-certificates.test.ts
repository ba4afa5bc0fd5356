/**
 * @module The deployed bundle's stand-in for certificate parsing (edge/factors/webauthn/no-certificates.ts,
 * wired by wrangler.toml's `[alias]`): its DER ECDSA signature parser reads what the real
 * @peculiar/asn1-schema reads and refuses malformed input; everything else in it throws. Then, through
 * the bundle built as wrangler deploys it (minified, aliased): passkeys still register ("none" and
 * self attestation) and step up, a certificate chain gets a clear 400, and no certificate code is in it.
 */
import { readFileSync } from 'node:fs';
import { AsnParser as RealParser } from '@peculiar/asn1-schema';
import { ECDSASigValue as RealSig } from '@peculiar/asn1-ecc';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as stub from '../../edge/factors/webauthn/no-certificates';
import { bundleWorker, type RunningGateway, startGateway } from '../support/miniflare-gateway';
import { sessionCookie, TEST_JWT_SECRET } from '../support/session';
import { type Lies, SoftAuthenticator } from '../support/soft-authenticator';

const len = (n: number) => (n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 255]);
const tlv = (tag: number, body: number[]) => [tag, ...len(body.length), ...body];
const derSig = (r: Uint8Array, s: Uint8Array) => new Uint8Array(tlv(0x30, [...tlv(0x02, [...r]), ...tlv(0x02, [...s])]));
const hex = (b: ArrayBuffer) => Buffer.from(b).toString('hex');

describe('the ECDSA signature parser', () => {
  it('reads r and s exactly as @peculiar/asn1-schema does, for any integer sizes (P-256 to P-521 and beyond)', () => {
    const int = fc.uint8Array({ minLength: 1, maxLength: 140 });
    fc.assert(
      fc.property(int, int, (r, s) => {
        const der = derSig(r, s);
        const mine = stub.AsnParser.parse(der, stub.ECDSASigValue);
        const real = RealParser.parse(der, RealSig);
        expect([hex(mine.r), hex(mine.s)]).toEqual([hex(real.r), hex(real.s)]);
        expect([hex(mine.r), hex(mine.s)]).toEqual([Buffer.from(r).toString('hex'), Buffer.from(s).toString('hex')]);
      }),
      { numRuns: 500 },
    );
  });

  it('reads from any view of a buffer (an offset into a larger one)', () => {
    const der = derSig(new Uint8Array([1, 2]), new Uint8Array([3]));
    const big = new Uint8Array(der.length + 7);
    big.set(der, 5);
    const mine = stub.AsnParser.parse(big.subarray(5, 5 + der.length), stub.ECDSASigValue);
    expect([hex(mine.r), hex(mine.s)]).toEqual(['0102', '03']);
  });

  it.each<[string, number[]]>([
    ['empty', []],
    ['not a SEQUENCE', [0x31, 6, 2, 1, 1, 2, 1, 1]],
    ['a truncated SEQUENCE', [0x30, 7, 2, 1, 1, 2, 1, 1]],
    ['bytes after the signature', [0x30, 6, 2, 1, 1, 2, 1, 1, 0]],
    ['one integer only', [0x30, 3, 2, 1, 1]],
    ['three integers', [0x30, 9, 2, 1, 1, 2, 1, 1, 2, 1, 1]],
    ['an empty integer', [0x30, 5, 2, 0, 2, 1, 1]],
    ['an integer that is not an INTEGER', [0x30, 6, 4, 1, 1, 2, 1, 1]],
    ['an indefinite length', [0x30, 0x80, 2, 1, 1, 2, 1, 1, 0, 0]],
    ['a three-byte length', [0x30, 0x83, 0, 0, 6, 2, 1, 1, 2, 1, 1]],
    ['an integer running past the sequence', [0x30, 6, 2, 1, 1, 2, 3, 1]],
  ])('refuses %s', (_n, bytes) => {
    expect(() => stub.AsnParser.parse(new Uint8Array(bytes), stub.ECDSASigValue)).toThrow(/invalid signature/);
  });

  it('parses nothing but an ECDSA signature; every certificate class throws; no identifier is a real OID', () => {
    expect(() => stub.AsnParser.parse(new Uint8Array([0x30, 0]), stub.Certificate)).toThrow(/not parsed by Stepgate/);
    for (const C of [stub.X509Certificate, stub.X509ChainBuilder, stub.X509Crl, stub.Certificate, stub.KeyDescription, stub.RSAPublicKey]) {
      expect(() => new C()).toThrow(/not parsed by Stepgate/);
    }
    for (const [name, v] of Object.entries(stub)) if (name.startsWith('id_')) expect(v, name).not.toMatch(/^\d+(\.\d+)+$/);
  });
});

describe('passkeys through the bundle as wrangler deploys it', () => {
  let gw: RunningGateway;
  const origin = () => `http://127.0.0.1:${gw.port}`;
  const api = (path: string, cookie: string, body: unknown = {}) =>
    fetch(`${origin()}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { cookie, origin: origin(), 'content-type': 'application/json' },
    });
  const enrol = async (cookie: string, key: SoftAuthenticator, attestation: Lies['attestation']) => {
    const options = (await (await api('/.stepgate/api/factors/webauthn/options', cookie)).json()) as { challenge: string };
    return api('/.stepgate/api/factors/webauthn/verify', cookie, { response: await key.register(options, { attestation }) });
  };

  beforeAll(async () => {
    gw = await startGateway({ originUrl: 'http://127.0.0.1:9', jwtSecret: TEST_JWT_SECRET });
  }, 60_000);
  afterAll(async () => {
    await gw?.dispose();
  });

  it('has no certificate parser in it', async () => {
    const text = readFileSync(await bundleWorker('edge/index.ts'), 'utf8');
    expect(text).toContain('attestation certificates are not parsed by Stepgate');
    expect(text).not.toContain('End of input reached before message was fully decoded'); // asn1js
    expect(text).not.toContain('Cannot inject the dependency'); // tsyringe (@peculiar/x509)
  });

  it.each<[string, Lies['attestation']]>([
    ['"none"', 'none'],
    ['"packed" self attestation', 'packed-self'],
  ])('%s registers, then the passkey steps up (its DER signature read by the stand-in)', async (_n, attestation) => {
    const c = await sessionCookie(`bundle-${crypto.randomUUID()}`);
    const key = new SoftAuthenticator(origin(), '127.0.0.1');
    expect((await enrol(c, key, attestation)).status).toBe(201);
    const { challenge_id } = (await (await api('/.stepgate/api/factors/step-up', c)).json()) as { challenge_id: string };
    const options = (await (await api(`/.stepgate/api/challenges/${challenge_id}/webauthn/options`, c)).json()) as { challenge: string };
    const ok = await api(`/.stepgate/api/challenges/${challenge_id}/verify`, c, {
      method: 'webauthn',
      response: await key.authenticate(options),
    });
    expect(ok.status).toBe(200);
    // A signature by another key is still refused.
    const again = (await (await api('/.stepgate/api/factors/step-up', c)).json()) as { challenge_id: string };
    const o2 = (await (await api(`/.stepgate/api/challenges/${again.challenge_id}/webauthn/options`, c)).json()) as { challenge: string };
    const other = new SoftAuthenticator(origin(), '127.0.0.1');
    await other.register({ challenge: 'AAAA' });
    const forged = await api(`/.stepgate/api/challenges/${again.challenge_id}/verify`, c, {
      method: 'webauthn',
      response: await key.authenticate(o2, {}, other),
    });
    expect(forged.status).toBe(401);
  });

  it('a registration with a certificate chain gets a clear 400', async () => {
    const c = await sessionCookie(`bundle-x5c-${crypto.randomUUID()}`);
    const r = await enrol(c, new SoftAuthenticator(origin(), '127.0.0.1'), { fmt: 'fido-u2f' });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { detail: string }).detail).toContain('"fido-u2f" attestation with certificates is not accepted');
  });
});
