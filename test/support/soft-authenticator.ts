/**
 * @module A software WebAuthn authenticator (ES256, "none" attestation) that can also lie: wrong
 * origin, wrong RP ID, no user verification, a counter that goes backwards. Real CBOR, real
 * ECDSA signatures, so @simplewebauthn verifies its honest answers exactly like a browser's.
 */
import { base64url, fromBase64url } from '../../edge/crypto/base64';

// ---- minimal CBOR encoder (RFC 8949): unsigned/negative ints, byte and text strings, maps ----
const head = (major: number, n: number): number[] => {
  if (n < 24) return [(major << 5) | n];
  if (n < 256) return [(major << 5) | 24, n];
  if (n < 65536) return [(major << 5) | 25, n >> 8, n & 255];
  return [(major << 5) | 26, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];
};
type Cbor = number | string | Uint8Array | Cbor[] | Map<number | string, Cbor>;
function cbor(v: Cbor): number[] {
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === 'string') {
    const b = new TextEncoder().encode(v);
    return [...head(3, b.length), ...b];
  }
  if (v instanceof Uint8Array) return [...head(2, v.length), ...v];
  if (Array.isArray(v)) return [...head(4, v.length), ...v.flatMap(cbor)];
  const out = head(5, v.size);
  for (const [k, x] of v) out.push(...cbor(k), ...cbor(x));
  return out;
}

const sha256 = async (b: Uint8Array | string) =>
  new Uint8Array(await crypto.subtle.digest('SHA-256', typeof b === 'string' ? new TextEncoder().encode(b) : new Uint8Array(b)));
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
/** ECDSA raw (r||s) → DER, as WebAuthn signatures are encoded. */
const der = (raw: Uint8Array): Uint8Array => {
  const int = (x: Uint8Array) => {
    let i = 0;
    while (i < x.length - 1 && x[i] === 0) i++;
    const v = x.slice(i);
    return v[0]! & 0x80 ? [0x02, v.length + 1, 0, ...v] : [0x02, v.length, ...v];
  };
  const body = [...int(raw.slice(0, 32)), ...int(raw.slice(32))];
  return new Uint8Array([0x30, body.length, ...body]);
};

export interface Lies {
  origin?: string;
  rpId?: string;
  userVerified?: boolean;
  counter?: number;
  /** Claim the credential is now backed up (BE and BS flags). */
  backedUp?: boolean;
  /** Registration's attestation: "none" (default), "packed" self attestation, or `fmt` with a (made-up) certificate chain. */
  attestation?: 'none' | 'packed-self' | { fmt: string };
}

export class SoftAuthenticator {
  readonly id = base64url(crypto.getRandomValues(new Uint8Array(16)));
  counter = 0;
  private keys!: CryptoKeyPair;

  constructor(
    readonly origin: string,
    readonly rpId: string,
  ) {}

  /** The credential's public key: what a relying party (or an auditor) verifies its signatures with. */
  get publicKey(): CryptoKey {
    return this.keys.publicKey;
  }

  private async authData(rpId: string, flags: number, counter: number, attested?: Uint8Array) {
    const c = new Uint8Array([(counter >>> 24) & 255, (counter >> 16) & 255, (counter >> 8) & 255, counter & 255]);
    return concat(await sha256(rpId), new Uint8Array([flags]), c, attested ?? new Uint8Array(0));
  }

  /** A RegistrationResponseJSON for creation options. */
  async register(options: { challenge: string }, lies: Lies = {}) {
    this.keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const jwk = (await crypto.subtle.exportKey('jwk', this.keys.publicKey)) as JsonWebKey;
    const cose = new Uint8Array(
      cbor(
        new Map<number, Cbor>([
          [1, 2],
          [3, -7],
          [-1, 1],
          [-2, fromBase64url(jwk.x!)],
          [-3, fromBase64url(jwk.y!)],
        ]),
      ),
    );
    const credId = fromBase64url(this.id);
    const attested = concat(new Uint8Array(16), new Uint8Array([credId.length >> 8, credId.length & 255]), credId, cose);
    const flags = 0x01 | (lies.userVerified === false ? 0 : 0x04) | 0x40;
    const authData = await this.authData(lies.rpId ?? this.rpId, flags, 0, attested);
    const clientDataJSON = JSON.stringify({
      type: 'webauthn.create',
      challenge: options.challenge,
      origin: lies.origin ?? this.origin,
      crossOrigin: false,
    });
    const attestation = lies.attestation ?? 'none';
    const attStmt = new Map<string, Cbor>();
    if (attestation !== 'none') {
      // Self attestation: signed with the new credential's own key over authData and the client data hash.
      const signed = concat(authData, await sha256(clientDataJSON));
      const raw = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, this.keys.privateKey, signed));
      attStmt.set('alg', -7).set('sig', der(raw));
      if (typeof attestation === 'object') attStmt.set('x5c', [crypto.getRandomValues(new Uint8Array(64))]);
    }
    const attestationObject = new Uint8Array(
      cbor(
        new Map<string, Cbor>([
          ['fmt', typeof attestation === 'object' ? attestation.fmt : attestation === 'packed-self' ? 'packed' : 'none'],
          ['attStmt', attStmt],
          ['authData', authData],
        ]),
      ),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: base64url(new TextEncoder().encode(clientDataJSON)),
        attestationObject: base64url(attestationObject),
        transports: ['internal'],
      },
    };
  }

  /** An AuthenticationResponseJSON for request options, signed with this authenticator's key. */
  async authenticate(options: { challenge: string }, lies: Lies = {}, keyOf: SoftAuthenticator = this) {
    this.counter = lies.counter ?? this.counter + 1;
    const flags = 0x01 | (lies.userVerified === false ? 0 : 0x04) | (lies.backedUp ? 0x18 : 0);
    const authData = await this.authData(lies.rpId ?? this.rpId, flags, this.counter);
    const clientData = new TextEncoder().encode(
      JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin: lies.origin ?? this.origin, crossOrigin: false }),
    );
    const sig = new Uint8Array(
      await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keyOf.keys.privateKey, concat(authData, await sha256(clientData))),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      clientExtensionResults: {},
      response: { clientDataJSON: base64url(clientData), authenticatorData: base64url(authData), signature: base64url(der(sig)) },
    };
  }
}
