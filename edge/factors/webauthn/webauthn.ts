/**
 * @module Passkeys and security keys with @simplewebauthn/server: registration and step-up
 * authentication, user verification required, ceremony challenges single-use in the user's
 * Durable Object, the credential bound to the identified user, the counter only moving forward.
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
  type VerifiedAuthenticationResponse,
  type VerifiedRegistrationResponse,
} from '@simplewebauthn/server';
import { decodeAttestationObject, isoBase64URL } from '@simplewebauthn/server/helpers';
import { blindIndex } from '../../crypto/blind-index';
import type { Keyring } from '../../crypto/keyring';
import type { Identity } from '../../identity/identity-source';
import type { UserState } from '../../user-state/user-state';
import type { EnrolmentKind } from '../active-factors';
import { recordWebauthnUse, webauthnCredentials, type NewCredential } from './passkey-store';

/** One registration in progress per user (a newer one replaces it), bound to the session that asked. */
const REG_KEY = 'registration';

/** A library error as a reason safe to log or show: quoted values (challenges, origins) elided. */
const reasonOf = (e: unknown): string => (e instanceof Error ? e.message : 'verification failed').replace(/"[^"]*"/g, '"…"').slice(0, 200);
const authKey = (challengeId: string) => `auth:${challengeId}`;

/** Who the ceremonies are for: the RP ID, the name authenticators show, and the origins a response may come from. */
export interface RelyingParty {
  rpID: string;
  rpName: string;
  origins: string[];
}

/** The relying party for a request: its host is the RP ID; its origin (and allow-listed extension origins) are expected. */
export function relyingParty(url: string, extraOrigins: readonly string[]): RelyingParty {
  const u = new URL(url);
  return { rpID: u.hostname, rpName: `Stepgate (${u.hostname})`, origins: [u.origin, ...extraOrigins] };
}

/** One person at one relying party: their credentials in D1 (under the keyring), their ceremony challenges in their Durable Object. */
export interface PasskeyContext {
  db: D1Database;
  keys: Keyring;
  /** The person's UserState (single-use ceremony challenges). */
  userState: DurableObjectStub<UserState>;
  me: Identity;
  rp: RelyingParty;
}

/** Creation options for a new passkey; `begun` records how the enrolment was allowed to start (checked again at completion). */
export async function registrationOptions({ db, keys, userState, me, rp, begun }: PasskeyContext & { begun: EnrolmentKind }) {
  const existing = await webauthnCredentials(db, keys, me.sub);
  const options = await generateRegistrationOptions({
    rpName: rp.rpName,
    rpID: rp.rpID,
    userName: me.sub,
    // The WebAuthn user handle is the blind index, not the name: authenticators store it.
    userID: new TextEncoder().encode(await blindIndex(keys, 'user', me.sub)) as Uint8Array<ArrayBuffer>,
    attestationType: 'none',
    excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
  });
  await userState.putWebauthnChallenge(REG_KEY, me.sid, `${begun} ${options.challenge}`);
  return options;
}

/** A registration in progress: its challenge, and how its enrolment was allowed to start (null if not recorded). */
export interface PendingRegistration {
  challenge: string;
  begun: EnrolmentKind | null;
}

/** Take this session's registration in progress: once, before it expires. */
export async function takeRegistration(userState: DurableObjectStub<UserState>, sid: string): Promise<PendingRegistration | null> {
  const stored = await userState.takeWebauthnChallenge(REG_KEY, sid);
  if (stored === null) return null;
  const cut = stored.indexOf(' ');
  if (cut < 0) return { challenge: stored, begun: null };
  const begun = stored.slice(0, cut);
  return { challenge: stored.slice(cut + 1), begun: begun === 'first-use' || begun === 'invite' || begun === 'step-up' ? begun : null };
}

/** Drop every registration in progress of this user, whichever session asked (their first factor was just enrolled). */
export const dropRegistrations = (userState: DurableObjectStub<UserState>): Promise<void> => userState.dropWebauthnChallenges(REG_KEY);

/** Attestation formats that always carry a certificate chain (x5c): refused, see attestationProblem. */
const CERTIFICATE_FORMATS = new Set(['packed', 'fido-u2f', 'android-key', 'android-safetynet', 'tpm', 'apple']);

/**
 * Why a registration's attestation is refused, or null for the two Stepgate accepts: "none" (what it
 * asks browsers for: `attestationType: 'none'`) and "packed" self attestation (signed with the new
 * credential's own key, no certificate). Why refuse the rest: Stepgate trusts no attestation CA and
 * uses nothing a certificate would prove, and the deployed bundle leaves out certificate parsing
 * (wrangler.toml `[alias]`, docs/architecture.md "The bundle"), so a chain is refused here, before the
 * library is asked — fail closed with a clear reason rather than a parse error deep inside it.
 */
export function attestationProblem(response: RegistrationResponseJSON): string | null {
  let fmt: unknown;
  let hasCertificates = false;
  try {
    const decoded = decodeAttestationObject(isoBase64URL.toBuffer(String(response?.response?.attestationObject ?? '')));
    fmt = decoded.get('fmt');
    const statement = decoded.get('attStmt') as Map<string, unknown> | undefined;
    hasCertificates = statement instanceof Map && statement.has('x5c');
  } catch {
    return 'its attestation object could not be read';
  }
  if (fmt === 'none' || (fmt === 'packed' && !hasCertificates)) return null;
  // The format is the client's string: named only when it is one of the known ones.
  const named =
    typeof fmt === 'string' && CERTIFICATE_FORMATS.has(fmt) ? `"${fmt}" attestation with certificates` : 'its attestation format';
  return `${named} is not accepted (Stepgate accepts "none" and self attestation; create the passkey again without attestation)`;
}

/** Verify a registration against the one in progress. The credential is not stored: whether it may be is the caller's decision. */
export async function verifyRegistration({
  rp,
  pending,
  response,
  nickname,
}: {
  rp: RelyingParty;
  pending: PendingRegistration;
  response: RegistrationResponseJSON;
  nickname: string | null;
}): Promise<{ ok: true; credential: NewCredential } | { ok: false; reason: string }> {
  const refused = attestationProblem(response);
  if (refused) return { ok: false, reason: refused };
  let v: VerifiedRegistrationResponse;
  try {
    v = await verifyRegistrationResponse({
      response,
      expectedChallenge: pending.challenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.rpID,
      requireUserVerification: true,
    });
  } catch (e) {
    return { ok: false, reason: reasonOf(e) };
  }
  if (!v.verified) return { ok: false, reason: 'registration did not verify' };
  const info = v.registrationInfo;
  return {
    ok: true,
    credential: {
      id: info.credential.id,
      publicKey: info.credential.publicKey,
      counter: info.credential.counter,
      transports: info.credential.transports ?? [],
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      nickname,
    },
  };
}

/**
 * The WebAuthn challenge of a step-up bound to an exact action: 16 random bytes, then SHA-256 of the
 * action's digest. The passkey's signature covers its clientDataJSON, which carries this challenge,
 * so the recorded assertion proves that the person's authenticator signed for that exact action.
 */
export async function actionBoundChallenge(actionDigest: string): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Uint8Array(48);
  out.set(crypto.getRandomValues(new Uint8Array(16)), 0);
  out.set(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(actionDigest))), 16);
  return out;
}

/** Options to answer a step-up challenge with one of the user's credentials; for an exact action, its challenge is bound to it. */
export async function authenticationOptions({
  db,
  keys,
  userState,
  me,
  rp,
  challengeId,
  actionDigest,
}: PasskeyContext & { challengeId: string; actionDigest?: string | null }) {
  const creds = await webauthnCredentials(db, keys, me.sub);
  if (creds.length === 0) return null;
  const options = await generateAuthenticationOptions({
    ...(actionDigest ? { challenge: await actionBoundChallenge(actionDigest) } : {}),
    rpID: rp.rpID,
    allowCredentials: creds.map((c) => ({ id: c.id, transports: c.transports as never })),
    userVerification: 'required',
  });
  await userState.putWebauthnChallenge(authKey(challengeId), me.sid, options.challenge);
  return options;
}

/** What answering a step-up challenge with a passkey needs besides the PasskeyContext. */
export interface PasskeyAnswer {
  challengeId: string;
  response: AuthenticationResponseJSON;
  /** A passkey whose backup state changed since registration: accepted and logged ("flag") or refused. */
  backupChange: 'flag' | 'refuse';
  /** Clock, milliseconds (when the credential was last used). */
  now: () => number;
}

/** Verify a step-up answered with a passkey: a single-use ceremony challenge, the person's own credential, a counter moving forward. */
export async function verifyAuthentication({
  db,
  keys,
  userState,
  me,
  rp,
  challengeId,
  response,
  backupChange,
  now,
}: PasskeyContext & PasskeyAnswer): Promise<{ ok: true; amr: string[] } | { ok: false; reason: string }> {
  // Why: the credential must belong to the identified user, not just to someone.
  const [cred] = typeof response?.id === 'string' ? await webauthnCredentials(db, keys, me.sub, response.id) : [];
  const expectedChallenge = await userState.takeWebauthnChallenge(authKey(challengeId), me.sid);
  if (!expectedChallenge) return { ok: false, reason: 'no passkey request in progress (or it expired)' };
  if (!cred) return { ok: false, reason: 'this passkey is not registered to you' };
  let v: VerifiedAuthenticationResponse;
  try {
    v = await verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.rpID,
      credential: { id: cred.id, publicKey: cred.publicKey, counter: cred.counter, transports: cred.transports },
      requireUserVerification: true,
    });
  } catch (e) {
    // Includes a signature counter that went backwards: a sign of a cloned authenticator.
    return { ok: false, reason: reasonOf(e) };
  }
  if (!v.verified) return { ok: false, reason: 'passkey did not verify' };
  const info = v.authenticationInfo;
  if (info.credentialBackedUp !== cred.backedUp) {
    // A key that became synced (or stopped being) is no longer the same kind of authenticator.
    console.warn('stepgate: a passkey changed its backup state', { credential: cred.id.slice(0, 8), backedUp: info.credentialBackedUp });
    if (backupChange === 'refuse') return { ok: false, reason: 'the passkey changed its backup state since it was registered' };
  }
  // Why: a racing second use of the same assertion must not move the counter back or pass twice.
  if (!(await recordWebauthnUse(db, cred.id, info.newCounter, info.credentialBackedUp, now())) && info.newCounter !== 0) {
    return { ok: false, reason: 'signature counter did not advance' };
  }
  return { ok: true, amr: ['hwk', 'user'] };
}
