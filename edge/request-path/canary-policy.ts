/**
 * @module Canary on the request path: while an app's new policy version enforces for a share of
 * people only (`rt.app.canary`), which version decides a request. A request both versions decide
 * the same way goes on as today (canaryViews() answers null: no identity, no hash, no body read).
 * Otherwise the person decides: a keyed hash of their key puts them in a stable bucket 0–99, and
 * buckets below the canary's percent get the new version. Nobody identified gets whichever version
 * protects (fail closed).
 */
import type { PolicyCanary } from '../apps/app-definition';
import { canonicalizeOptionsOf, sameCanonicalization } from '../apps/app-definition';
import { fromBase64url } from '../crypto/base64';
import { blindIndex } from '../crypto/blind-index';
import type { Keyring } from '../crypto/keyring';
import type { IdentityResult, IdentitySource } from '../identity/identity-source';
import { type CanonicalRequest, canonicalizeRequest } from '../policy/canonical-request';
import type { CompiledPolicy, RuleMatch } from '../policy/compile-policy';
import { bodyMayClaimMethod, matchRule, matchWithBodyClaims } from './match-rule';

/** One version's view of a request: its canonical form (or why it refuses it), its match, whether the body may change it. */
export interface VersionView {
  policy: CompiledPolicy;
  /** Null when this version's canonicalization refuses the request (`refusal`). */
  canonical: CanonicalRequest | null;
  refusal: unknown;
  match: RuleMatch | null;
  readBody: boolean;
}

/** The two versions of a canary, as they see one request. */
export interface CanaryViews {
  /** The new (active) version: `rt.policy`. */
  active: VersionView;
  /** The version active before the canary. */
  base: VersionView;
}

/** A version chosen for a request, with the body when choosing it needed one (anonymous callers only). */
export interface ChosenVersion extends VersionView {
  body: Uint8Array<ArrayBuffer> | null;
}

/** Whether two matches decide a request the same way: same rule and requirement (or both unprotected). */
export function sameDecision(a: VersionView, b: VersionView): boolean {
  if (a.match === null || b.match === null) return a.match === b.match;
  const x = a.match.rule;
  const y = b.match.rule;
  if (x.id !== y.id || a.match.method !== b.match.method || x.bind !== y.bind || x.maxAgeSeconds !== y.maxAgeSeconds) return false;
  if (x.factors.length !== y.factors.length || x.factors.some((f) => !y.factors.includes(f))) return false;
  // An action-bound rule reads the body with its policy's limit: a different limit may answer differently (413).
  return x.bind !== 'action' || a.policy.maxInspectBytes === b.policy.maxInspectBytes;
}

/**
 * Both versions' view of a request, or null when they decide it the same way without reading its
 * body: then the request goes on exactly as without a canary (the active version's match).
 */
export function canaryViews(
  active: CompiledPolicy,
  canary: PolicyCanary,
  canonical: CanonicalRequest,
  match: RuleMatch | null,
  request: Request,
): CanaryViews | null {
  const activeView: VersionView = { policy: active, canonical, refusal: null, match, readBody: bodyMayClaimMethod(active, canonical) };
  const base = viewOf(canary.base, active, canonical, request);
  if (!activeView.readBody && !base.readBody && base.canonical !== null && sameDecision(activeView, base)) return null;
  return { active: activeView, base };
}

/** The base version's view: the same canonical request when both canonicalize alike, else the request canonicalized its way. */
function viewOf(policy: CompiledPolicy, active: CompiledPolicy, canonical: CanonicalRequest, request: Request): VersionView {
  let own = canonical;
  const options = canonicalizeOptionsOf(policy);
  if (!sameCanonicalization(options, canonicalizeOptionsOf(active))) {
    try {
      own = canonicalizeRequest(request.method, request.url, request.headers, options);
    } catch (refusal) {
      return { policy, canonical: null, refusal, match: null, readBody: false };
    }
  }
  return { policy, canonical: own, refusal: null, match: matchRule(policy, own), readBody: bodyMayClaimMethod(policy, own) };
}

/**
 * The person's canary bucket, 0–99: the first 4 bytes of an HMAC-SHA-256 of their key, in a domain
 * of its own per app (`canary:<app id>`), mod 100. The same in every isolate and for every version
 * of the app's policy, so a person stays on one side while a canary runs; another app's canary
 * buckets people independently. (A new primary key reshuffles the buckets once.)
 */
export async function canaryBucket(keys: Keyring, appId: string, personKey: string): Promise<number> {
  const index = await blindIndex(keys, `canary:${appId}`, personKey);
  const mac = fromBase64url(index.slice(index.indexOf('.') + 1));
  return new DataView(mac.buffer, mac.byteOffset, 4).getUint32(0) % 100;
}

/** Whether the person gets the canary (new) version. */
export const inCanary = async (keys: Keyring, appId: string, personKey: string, percent: number): Promise<boolean> =>
  (await canaryBucket(keys, appId, personKey)) < percent;

/**
 * For a caller nobody could identify: the version that protects the request (fail closed: they are
 * refused either way, never let through because the other version would have). A version whose
 * canonicalization refuses the request wins; then a match; then, reading the body once when a
 * version needs it, a match by the body's method claims. Neither protects: the active version.
 *
 * @throws {StepgateError} 400/413 when a body that must be read cannot be inspected
 */
export async function protectingVersion(
  views: CanaryViews,
  request: Request,
  body: Uint8Array<ArrayBuffer> | null,
): Promise<ChosenVersion> {
  const order = [views.active, views.base];
  for (const v of order) if (v.refusal !== null) return { ...v, body };
  for (const v of order) if (v.match !== null) return { ...v, body };
  let read = body;
  for (const v of order) {
    if (!v.readBody || v.canonical === null) continue;
    const m = await matchWithBodyClaims(v.policy, v.canonical, null, request, read);
    read = m.body;
    if (m.match !== null) return { ...v, canonical: m.canonical, match: m.match, readBody: false, body: read };
  }
  return { ...views.active, readBody: false, body: read };
}

/** An identity source that answers `request` with what was already found (the bucket needed it), and asks for any other. */
export function knownIdentity(source: IdentitySource, request: Request, found: IdentityResult): IdentitySource {
  const known = Promise.resolve(found);
  return Object.assign((r: Request) => (r === request ? known : source(r)), { ambiguity: source.ambiguity });
}
