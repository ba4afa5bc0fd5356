/**
 * @module What a policy version must satisfy before it is written or made active, besides not
 * weakening without a second person: it validates, keeps serving the app's hosts (for the bundled
 * app, policy.json's), and keeps the organisation baseline (policy-baseline.ts) — also when an older
 * version or a proposal is activated after the app's hosts or the baseline changed.
 */
import type { Policy } from '../policy/schema';
import { AppInputError, checkPolicy, checkPolicyServes } from './app-input';
import { getApp } from './app-store';
import { checkBundledHosts, isBundledApp } from './bundled-policy';
import { baselineProblems } from './policy-baseline';
import type { AppRef } from './policy-version-reads';

/**
 * Every problem of `document` as a new version of the app: its validation, the hosts it must keep
 * serving, and the organisation baseline it must keep (policy-baseline.ts). Null: no such app.
 */
export async function versionProblems(
  db: D1Database,
  o: AppRef & { policy: unknown },
): Promise<{ problems: string[]; checked: { policy: Policy; hash: string } | null } | null> {
  const problems: string[] = [];
  const checked = await checkPolicy(o.policy, o.appId, problems);
  if (isBundledApp(o.orgId, o.appId)) {
    // Fail closed: without the deployment's policy.json, the hosts the bundled app must keep are unknown.
    if (!o.bundled) return null;
    if (checked) checkBundledHosts(o.bundled, checked.policy, problems);
  } else {
    const app = await getApp(db, o.orgId, o.appId);
    if (!app) return null;
    if (checked) checkPolicyServes(checked.policy, app.hosts, problems);
  }
  if (checked) problems.push(...(await baselineProblems(db, o.orgId, o.appId, checked.policy)));
  return { problems, checked };
}

/**
 * A version written earlier, checked as the app is now before it becomes active (approval,
 * rollback). Why: hosts added to the app and a baseline set since bind it too — activating it may
 * not leave a host unserved (the app would fail to load) nor bring back what the organisation now
 * forbids. Null: no such app.
 *
 * @throws {AppInputError} listing every problem
 */
export async function checkedVersion(db: D1Database, o: AppRef & { policy: unknown }): Promise<{ policy: Policy; hash: string } | null> {
  const found = await versionProblems(db, o);
  if (!found) return null;
  if (!found.checked || found.problems.length) throw new AppInputError(found.problems);
  return found.checked;
}
