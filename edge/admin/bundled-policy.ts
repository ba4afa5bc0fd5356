/**
 * @module The bundled app (`apps` row 'bundled' of the default organisation, migration 0016) as the
 * policy-version store sees it. Its hosts, identity and origin are the deployment's (policy.json,
 * BUNDLED_APP_HOSTS, IDENTITY, ORIGIN_URL), never D1's; only its policy is versioned. Until the first
 * write D1 holds no policy for it and policy.json is its active version 1; the first write seeds that
 * version (author unknown, comment "the bundled policy.json") and its app_policies row in the same batch.
 */
import { canonicalJson } from '../audit/canonical-json';
import { BUNDLED_APP_ID, DEFAULT_ORG } from '../apps/app-definition';
import { sha256b64u } from '../crypto/base64';
import { compilePolicy } from '../policy/compile-policy';
import type { Policy } from '../policy/schema';

/** Why the bundled app's hosts, identity or origin cannot be changed (nor the app deleted) through the admin API. */
export const BUNDLED_REFUSAL = 'The bundled app is defined by the deployment (policy.json, IDENTITY, ORIGIN_URL)';

/** The comment of the bundled app's version 1. */
export const BUNDLED_FIRST_COMMENT = 'the bundled policy.json';

/** Whether `appId` of `orgId` is the bundled app. */
export const isBundledApp = (orgId: string, appId: string): boolean => orgId === DEFAULT_ORG && appId === BUNDLED_APP_ID;

/**
 * The batch statements that write policy.json as the bundled app's version 1 (active) and as its
 * app_policies row, each only when D1 holds nothing for it yet — so racing first writes seed once.
 */
export async function bundledSeedStatements(db: D1Database, policyJson: Policy): Promise<D1PreparedStatement[]> {
  const doc = JSON.stringify(policyJson);
  const hash = await sha256b64u(canonicalJson(policyJson));
  return [
    db
      .prepare(
        'INSERT INTO policy_versions (app_id, version, document_json, hash, comment, author_ref, author_sealed, created_at, state) ' +
          "SELECT ?1, 1, ?2, ?3, ?4, NULL, NULL, 0, 'active' " +
          'WHERE NOT EXISTS (SELECT 1 FROM policy_versions WHERE app_id = ?1) ' +
          'AND NOT EXISTS (SELECT 1 FROM app_policies WHERE app_id = ?1)',
      )
      .bind(BUNDLED_APP_ID, doc, hash, BUNDLED_FIRST_COMMENT),
    db
      .prepare(
        'INSERT INTO app_policies (app_id, document_json, hash, updated_at, updated_by_sealed) SELECT ?1, ?2, ?3, 0, NULL ' +
          'WHERE NOT EXISTS (SELECT 1 FROM app_policies WHERE app_id = ?1)',
      )
      .bind(BUNDLED_APP_ID, doc, hash),
  ];
}

/**
 * What a new version of the bundled app must keep: serving the hosts policy.json names. Without a
 * `hosts` list in policy.json its hosts are BUNDLED_APP_HOSTS or every host, which a version cannot
 * narrow: it may not list `hosts` either.
 */
export function checkBundledHosts(deployment: Policy, next: Policy, problems: string[]): void {
  if (deployment.hosts === undefined) {
    if (next.hosts !== undefined)
      problems.push('policy: "hosts" of the bundled app are the deployment\'s (policy.json, BUNDLED_APP_HOSTS): leave "hosts" out');
    return;
  }
  if (next.hosts === undefined) return; // no list: every host, so each of policy.json's
  const listed = new Set(next.hosts.map((h) => h.toLowerCase()));
  const serves = compilePolicy(next).servesHost;
  // A "*.suffix" entry of policy.json is kept only by the same entry; an exact host also by a pattern covering it.
  const outside = deployment.hosts.filter((h) => !listed.has(h.toLowerCase()) && (h.startsWith('*.') || !serves(h.toLowerCase())));
  if (outside.length) problems.push(`policy: its "hosts" do not include ${outside.join(', ')} (the bundled app's, from policy.json)`);
}
