/**
 * @module What the deployed Worker has instead of certificate parsing. wrangler.toml's `[alias]` maps
 * @peculiar/x509, reflect-metadata and the @peculiar/asn1-* modules to this file (nothing in Stepgate
 * imports it). @simplewebauthn/server needs ASN.1 for two things: attestation certificate chains,
 * which Stepgate refuses before asking the library (webauthn.ts `attestationProblem`), and the DER
 * ECDSA signature of every passkey assertion, which `AsnParser.parse(signature, ECDSASigValue)` below
 * reads. If any other path reached this file, each class throws and each identifier matches nothing,
 * so the ceremony fails: closed. About 265 KB of the minified bundle (docs/benchmarks.md, "Bundle and startup").
 */

const refuse = (): never => {
  throw new Error('attestation certificates are not parsed by Stepgate (edge/factors/webauthn/no-certificates.ts)');
};

/** Every certificate structure of the replaced modules: constructing or parsing one throws. */
class Refused {
  constructor() {
    refuse();
  }
  static parse(): never {
    return refuse();
  }
}

// @peculiar/x509
export class X509Certificate extends Refused {}
export class X509ChainBuilder extends Refused {}
export class X509Crl extends Refused {}
export class AuthorityKeyIdentifierExtension extends Refused {}
export class CRLDistributionPointsExtension extends Refused {}
export class SubjectKeyIdentifierExtension extends Refused {}
// @peculiar/asn1-x509, -android, -rsa, -ecc, -schema
export class Certificate extends Refused {}
export class BasicConstraints extends Refused {}
export class ExtendedKeyUsage extends Refused {}
export class SubjectAlternativeName extends Refused {}
export class KeyDescription extends Refused {}
export class RSAPublicKey extends Refused {}
export class ECParameters extends Refused {}
export class OctetString extends Refused {}

/** An object identifier no certificate carries (real ones are dotted numbers). */
const NO_OID = 'stepgate: certificates are not parsed';
export const id_ce_basicConstraints = NO_OID;
export const id_ce_extKeyUsage = NO_OID;
export const id_ce_subjectAltName = NO_OID;
export const id_ce_keyDescription = NO_OID;
export const id_rsaEncryption = NO_OID;
export const id_sha1WithRSAEncryption = NO_OID;
export const id_sha256WithRSAEncryption = NO_OID;
export const id_sha384WithRSAEncryption = NO_OID;
export const id_sha512WithRSAEncryption = NO_OID;
export const id_ecPublicKey = NO_OID;
export const id_secp256r1 = NO_OID;
export const id_secp384r1 = NO_OID;
export const id_ecdsaWithSHA256 = NO_OID;
export const id_ecdsaWithSHA384 = NO_OID;
export const id_ecdsaWithSHA512 = NO_OID;
// @peculiar/asn1-x509-post-quantum
export const id_ml_dsa_44 = NO_OID;
export const id_ml_dsa_65 = NO_OID;
export const id_ml_dsa_87 = NO_OID;

/** ECDSA-Sig-Value (RFC 3279): SEQUENCE { r INTEGER, s INTEGER }, each the INTEGER's content bytes. */
export class ECDSASigValue {
  r = new ArrayBuffer(0);
  s = new ArrayBuffer(0);
}

/** One DER element of `tag` at `at`: where its content starts and ends. Definite lengths up to 0xffff only. */
function element(b: Uint8Array, at: number, tag: number): { start: number; end: number } {
  if (b[at] !== tag) throw new Error('invalid signature: unexpected ASN.1 tag');
  let len = b[at + 1];
  let start = at + 2;
  if (len === undefined) throw new Error('invalid signature: truncated');
  if (len === 0x81 || len === 0x82) {
    const n = len - 0x80;
    if (start + n > b.length) throw new Error('invalid signature: truncated');
    len = n === 1 ? b[start]! : (b[start]! << 8) | b[start + 1]!;
    start += n;
  } else if (len > 0x7f) {
    throw new Error('invalid signature: unsupported ASN.1 length');
  }
  const end = start + len;
  if (end > b.length) throw new Error('invalid signature: truncated');
  return { start, end };
}

/** The one parse a passkey assertion needs: its DER ECDSA signature. Anything else is refused. */
export const AsnParser = {
  parse(data: BufferSource, type: unknown): ECDSASigValue {
    if (type !== ECDSASigValue) return refuse();
    const b = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
    const seq = element(b, 0, 0x30);
    if (seq.end !== b.length) throw new Error('invalid signature: bytes after the signature');
    const r = element(b, seq.start, 0x02);
    const s = element(b, r.end, 0x02);
    if (s.end !== seq.end || r.end === r.start || s.end === s.start) throw new Error('invalid signature: not two integers');
    const out = new ECDSASigValue();
    out.r = b.slice(r.start, r.end).buffer;
    out.s = b.slice(s.start, s.end).buffer;
    return out;
  },
};
