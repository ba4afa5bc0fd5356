/**
 * @module AppDefinition: one app the gateway serves — its organisation, hosts, compiled policy,
 * identity configuration and origin — as the registry holds it, validated and ready to run.
 */
import { IdentityConfig } from '../identity/identity-config';
import type { CanonicalizeOptions } from '../policy/canonical-request';
import type { CompiledPolicy } from '../policy/compile-policy';

/** The organisation of the bundled app (policy.json, IDENTITY, ORIGIN_URL); its people keep their plain subjects. */
export const DEFAULT_ORG = 'default';

/** The app id of the bundled app. */
export const BUNDLED_APP_ID = 'bundled';

/** The version active before a canary, and the share of people (1–99 %) the new one enforces for. */
export interface PolicyCanary {
  base: CompiledPolicy;
  percent: number;
}

export interface AppDefinition {
  id: string;
  org: string;
  /** The bundled app: served for the hosts its policy allows, forwarded to ORIGIN_URL. */
  bundled: boolean;
  /** Exact lower-case host names (D1 apps); empty for the bundled app, which its policy's `hosts` decide. */
  hosts: readonly string[];
  /** The active version (with the organisation's baseline rules first). */
  policy: CompiledPolicy;
  /** During a canary: the version active before, for the people outside its share. Null: none. */
  canary: PolicyCanary | null;
  identityConfig: IdentityConfig;
  /** The identity configuration as given: what the production checks judge. */
  identitySetting: unknown;
  /**
   * Where a D1 app's requests go: a bare http(s) origin, or null for the request's own URL (the
   * Cloudflare-proxied origin). Undefined for the bundled app: forward()'s own ORIGIN_URL.
   */
  originUrl: string | null | undefined;
  canonicalize: CanonicalizeOptions;
}

/** The canonicalization a policy asks for (path case, PATH_INFO). */
export const canonicalizeOptionsOf = (policy: CompiledPolicy): CanonicalizeOptions => ({
  caseSensitive: policy.caseSensitive,
  allowPathInfo: policy.policy.allowPathInfo ?? false,
});

/** Whether two canonicalizations are the same (so a request canonicalized for one is canonical for the other). */
export const sameCanonicalization = (a: CanonicalizeOptions, b: CanonicalizeOptions): boolean =>
  (a.caseSensitive ?? false) === (b.caseSensitive ?? false) && (a.allowPathInfo ?? false) === (b.allowPathInfo ?? false);

/** The bundled app, from the already compiled bundled policy and parsed IDENTITY. */
export function bundledApp(policy: CompiledPolicy, identityConfig: IdentityConfig, identitySetting: unknown): AppDefinition {
  return {
    id: BUNDLED_APP_ID,
    org: DEFAULT_ORG,
    bundled: true,
    hosts: [],
    policy,
    canary: null,
    identityConfig,
    identitySetting,
    originUrl: undefined,
    canonicalize: canonicalizeOptionsOf(policy),
  };
}

/** A D1 app as its rows give it (apps + app_hosts + app_policies). */
export interface AppRecord {
  id: string;
  org: string;
  hosts: string[];
  originUrl: string | null;
  identityJson: string;
  /** The policy document, or null: an app without a policy protects nothing. */
  policyJson: string | null;
  /** A canary of `policyJson` (migration 0016): the share of people, and the version active before. */
  canaryPercent: number | null;
  canaryBaseJson: string | null;
  /** The organisation's baseline (org_policy_baselines), enforced before the app's own rules; null: none. */
  baselineJson: string | null;
}

/** A host name as app_hosts must hold it: lower case, no port, no trailing dot. */
const HOST = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;

const EMPTY_POLICY = JSON.stringify({ version: 1, rules: [] });

/**
 * Validate a D1 app. `compile` compiles a policy document (cached by the caller).
 *
 * @throws {Error} naming the reason when the app cannot be served (bad identity, policy, origin or host)
 */
export function defineApp(record: AppRecord, compile: (documentJson: string) => CompiledPolicy): AppDefinition {
  for (const h of record.hosts) if (!HOST.test(h)) throw new Error(`host "${h}" is not a lower-case host name`);
  let identitySetting: unknown;
  try {
    identitySetting = JSON.parse(record.identityJson);
  } catch {
    throw new Error('identity_json is not JSON');
  }
  const parsed = IdentityConfig.safeParse(identitySetting);
  if (!parsed.success)
    throw new Error(`identity: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const identityConfig = parsed.data;
  // Why: IDENTITY_JWT_SECRET belongs to the bundled app; another app verifying with it could mint its sessions.
  if (identityConfig.source === 'jwt' && !identityConfig.jwksUrl) throw new Error('identity: a jwt source of an app in D1 needs a jwksUrl');
  const policy = compile(record.policyJson ?? EMPTY_POLICY);
  for (const h of record.hosts) if (!policy.servesHost(h)) throw new Error(`policy: its "hosts" do not include "${h}"`);
  return {
    id: record.id,
    org: record.org,
    bundled: false,
    hosts: record.hosts,
    policy,
    canary: null,
    identityConfig,
    identitySetting,
    originUrl: record.originUrl === null ? null : bareOrigin(record.originUrl),
    canonicalize: canonicalizeOptionsOf(policy),
  };
}

/** @throws {Error} unless `url` is a bare http(s) origin, as ORIGIN_URL must be */
function bareOrigin(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('origin_url is not a URL');
  }
  if (!/^https?:$/.test(u.protocol) || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash || u.username || u.password)
    throw new Error('origin_url must be a bare http(s) origin such as "https://app.internal"');
  return u.origin;
}
