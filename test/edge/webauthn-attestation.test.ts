/**
 * @module Which attestation a passkey registration may carry: "none" and "packed" self attestation
 * register (and the passkey then steps up); every format with a certificate chain (packed with x5c,
 * fido-u2f, apple, android-key, tpm, android-safetynet) and any unknown format get a clear 400 and
 * store nothing (webauthn.ts `attestationProblem`: the deployed bundle has no certificate parser).
 */
import { exports } from 'cloudflare:workers';
import { decodeAttestationObject, isoBase64URL, isoCBOR } from '@simplewebauthn/server/helpers';
import { describe, expect, it } from 'vitest';
import { attestationProblem } from '../../edge/factors/webauthn/webauthn';
import { sessionCookie } from '../support/session';
import { SoftAuthenticator, type Lies } from '../support/soft-authenticator';

const worker = (exports as unknown as { default: Fetcher }).default;
const ORIGIN = 'http://app.test';
const gw = (path: string, init: RequestInit = {}) => worker.fetch(new Request(`${ORIGIN}${path}`, init));
const api = (path: string, cookie: string, body: unknown = {}) =>
  gw(path, { method: 'POST', body: JSON.stringify(body), headers: { cookie, origin: ORIGIN, 'content-type': 'application/json' } });

async function enrol(cookie: string, auth: SoftAuthenticator, attestation: Lies['attestation']) {
  const options = (await (await api('/.stepgate/api/factors/webauthn/options', cookie)).json()) as { challenge: string };
  return api('/.stepgate/api/factors/webauthn/verify', cookie, { response: await auth.register(options, { attestation }), nickname: 'k' });
}
const passkeys = async (cookie: string) =>
  ((await (await gw('/.stepgate/api/factors', { headers: { cookie } })).json()) as { webauthn: unknown[] }).webauthn;

describe('attestation formats accepted at registration', () => {
  it.each<[string, Lies['attestation']]>([
    ['"none"', 'none'],
    ['"packed" self attestation', 'packed-self'],
  ])('%s registers, and the passkey then answers a step-up', async (_n, attestation) => {
    const c = await sessionCookie(`att-ok-${crypto.randomUUID()}`, 's');
    const key = new SoftAuthenticator(ORIGIN, 'app.test');
    const r = await enrol(c, key, attestation);
    expect(r.status).toBe(201);
    expect(await passkeys(c)).toHaveLength(1);

    const { challenge_id } = (await (await api('/.stepgate/api/factors/step-up', c)).json()) as { challenge_id: string };
    const options = (await (await api(`/.stepgate/api/challenges/${challenge_id}/webauthn/options`, c)).json()) as { challenge: string };
    const v = await api(`/.stepgate/api/challenges/${challenge_id}/verify`, c, {
      method: 'webauthn',
      response: await key.authenticate(options),
    });
    expect(v.status).toBe(200);
  });

  it('a "packed" self attestation signed by another key is refused (the library still checks the signature)', async () => {
    const c = await sessionCookie(`att-forged-${crypto.randomUUID()}`, 's');
    const key = new SoftAuthenticator(ORIGIN, 'app.test');
    const options = (await (await api('/.stepgate/api/factors/webauthn/options', c)).json()) as { challenge: string };
    const response = await key.register(options, { attestation: 'packed-self' });
    // Its authData (this key), with the self-attestation signature of another key over other data.
    const other = await new SoftAuthenticator(ORIGIN, 'app.test').register(options, { attestation: 'packed-self' });
    const mine = decodeAttestationObject(isoBase64URL.toBuffer(response.response.attestationObject)) as unknown as Map<string, unknown>;
    const theirs = decodeAttestationObject(isoBase64URL.toBuffer(other.response.attestationObject));
    mine.set('attStmt', theirs.get('attStmt'));
    response.response.attestationObject = isoBase64URL.fromBuffer(isoCBOR.encode(mine as never));
    const r = await api('/.stepgate/api/factors/webauthn/verify', c, { response });
    expect(r.status).toBe(400);
    expect(await passkeys(c)).toEqual([]);
  });
});

describe('attestation formats refused at registration', () => {
  it.each(['packed', 'fido-u2f', 'apple', 'android-key', 'tpm', 'android-safetynet'])(
    '"%s" with a certificate chain: 400 naming the format, nothing stored',
    async (fmt) => {
      const c = await sessionCookie(`att-x5c-${fmt}-${crypto.randomUUID()}`, 's');
      const r = await enrol(c, new SoftAuthenticator(ORIGIN, 'app.test'), { fmt });
      expect(r.status).toBe(400);
      const body = (await r.json()) as { code: string; detail: string };
      expect(body.code).toBe('ERR_FACTOR_INVALID');
      expect(body.detail).toContain(`"${fmt}" attestation with certificates is not accepted`);
      expect(body.detail).toContain('Stepgate accepts "none" and self attestation');
      expect(await passkeys(c)).toEqual([]);
    },
  );

  it('an unknown format is refused without echoing it', async () => {
    const c = await sessionCookie(`att-odd-${crypto.randomUUID()}`, 's');
    const r = await enrol(c, new SoftAuthenticator(ORIGIN, 'app.test'), { fmt: '<script>x</script>' });
    expect(r.status).toBe(400);
    const body = (await r.json()) as { detail: string };
    expect(body.detail).toContain('its attestation format is not accepted');
    expect(body.detail).not.toContain('<script>');
    expect(await passkeys(c)).toEqual([]);
  });

  it('an attestation object that is not CBOR is refused', async () => {
    const key = new SoftAuthenticator(ORIGIN, 'app.test');
    const response = await key.register({ challenge: 'AAAA' });
    response.response.attestationObject = 'bm90LWNib3I';
    expect(attestationProblem(response as never)).toBe('its attestation object could not be read');
    expect(attestationProblem({} as never)).toBe('its attestation object could not be read');
  });
});
