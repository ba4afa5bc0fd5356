/** @module One environment → one Runtime: bindings, production checks, keyring, lists, audit log, hold time, and the policy's hash. */
import { sha256b64u } from '../crypto/base64';
import { auditOfApp, createAuditLog } from '../audit/audit-log';
import type { AuditSequencer } from '../audit/audit-sequencer';
import { canonicalJson } from '../audit/canonical-json';
import { consoleHostsSetting, type ListSettings, listSetting } from '../config/list-settings';
import { describeProblems, isProduction, productionProblems, type ProductionSettings } from '../config/production-checks';
import { type Keyring, parseKeyring } from '../crypto/keyring';
import { type AppDefinition, BUNDLED_APP_ID, DEFAULT_ORG } from '../apps/app-definition';
import { identitySourceOfOrg } from '../apps/app-people';
import type { IdentityConfig } from '../identity/identity-config';
import { createIdentitySource, type IdentityEnv } from '../identity/identity-source';
import type { CompiledPolicy } from '../policy/compile-policy';
import type { ApprovalNotifier } from '../notifications/approval-notifier';
import type { UserState } from '../user-state/user-state';
import type { Runtime } from './runtime';

/** The Worker's environment as read here: bindings (under configurable names), secrets and variables. */
export interface DeploymentEnv extends IdentityEnv, ListSettings {
  STEPGATE_KEYS?: string;
  [binding: string]: unknown;
}

/** What the cron needs of a deployment: D1, the keyring and the tenant's audit log. */
export type AuditRuntime = Pick<Runtime, 'db' | 'keys' | 'audit' | 'auditSequencer' | 'auditRetentionDays' | 'auditArchive' | 'now'>;

export interface AuditRuntimeOptions {
  /** The compiled policy: the audit log names it by hash. */
  policy: CompiledPolicy;
  /** Name of the D1 binding. Default `DB`. */
  dbBinding?: string | undefined;
  /** Name of the AuditSequencer Durable Object binding. Default `AUDIT_SEQUENCER`. */
  auditBinding?: string | undefined;
  /** Clock (ms), for tests. */
  now?: (() => number) | undefined;
}

export interface RuntimeOptions extends AuditRuntimeOptions {
  /** The identity configuration, parsed. */
  identityConfig: IdentityConfig;
  /** The identity configuration as given: what the production checks judge. */
  identitySetting: unknown;
  /** Name of the UserState Durable Object binding. Default `USER_STATE`. */
  userStateBinding?: string | undefined;
}

/**
 * The Runtime of an environment (build it once per env object: secrets are only visible per request).
 *
 * @throws {Error} when a binding or `STEPGATE_KEYS` is missing, or a production environment has development settings
 */
export function buildRuntime(env: DeploymentEnv, options: RuntimeOptions): Runtime {
  const userStates = bindingOf<DurableObjectNamespace<UserState>>(
    env,
    options.userStateBinding ?? 'USER_STATE',
    'UserState Durable Object',
  );
  const storage = storageOf(env, options);
  // Library mode too: a production Worker never runs with development-only settings.
  refuseDevelopmentSettings({ ...(env as ProductionSettings), IDENTITY: options.identitySetting });
  const keys = parseKeyring(env.STEPGATE_KEYS);
  const { policy, identityConfig } = options;
  const audit = auditRuntimeOf(env, storage, keys, options);
  const app = { id: BUNDLED_APP_ID, org: DEFAULT_ORG, originUrl: undefined };
  return {
    ...audit,
    // The bundled app's events are the default organisation's, under its app id.
    audit: auditOfApp(audit.audit, app),
    app,
    policy,
    bundledPolicy: policy,
    identify: createIdentitySource(identityConfig, env),
    identitySource: identityConfig.source,
    userState: (sub) => userStates.get(userStates.idFromName(`user:${sub}`)),
    development: env.ENVIRONMENT === 'development',
    loginUrl: identityConfig.loginUrl,
    enrolment: policy.policy.enrolment ?? 'first-use',
    backupChange: env.WEBAUTHN_BACKUP_CHANGE === 'refuse' ? 'refuse' : 'flag',
    webauthnOrigins: listSetting(env, 'WEBAUTHN_ORIGINS').filter((o) => /^(chrome-extension|moz-extension|https?):\/\/[\w.:-]+$/.test(o)),
    // Kept even when malformed: an entry no host matches closes the console everywhere, never opens it.
    consoleHosts: consoleHostsSetting(env),
    holdMs: Math.min(120, Math.max(1, Number.parseInt(String(env.HOLD_SECONDS ?? '60'), 10) || 60)) * 1000,
    approvalNotifier: notifierOf(env),
  };
}

/** The ApprovalNotifier of each organisation, when bound (optional: a library Worker without it sends no webhook notices). */
function notifierOf(env: DeploymentEnv): ((org: string) => DurableObjectStub<ApprovalNotifier>) | null {
  const ns = env.APPROVAL_NOTIFIER as DurableObjectNamespace<ApprovalNotifier> | undefined;
  return ns ? (org) => ns.get(ns.idFromName(`org:${org}`)) : null;
}

/**
 * The Runtime of one app of a deployment (edge/apps): the app's policy, identity source (its people
 * keyed by its organisation), login URL, enrolment and origin over the deployment's shared parts
 * (D1, keyring, audit log, UserState namespace, hold time, lists).
 *
 * @throws {Error} when the app's identity configuration cannot run here (a needed secret, the `dev`
 *   source outside development) or a production environment has development settings for it
 */
export function buildAppRuntime(shared: Runtime, env: DeploymentEnv, app: AppDefinition): Runtime {
  // The bundled app's policy is live data too (edge/apps): the deployment's rest, with its active version.
  if (app.bundled)
    return {
      ...shared,
      app: { ...shared.app, canary: app.canary },
      policy: app.policy,
      identify: identitySourceOfOrg(shared.identify, app.org),
      enrolment: app.policy.policy.enrolment ?? 'first-use',
    };
  refuseDevelopmentSettings({ ...(env as ProductionSettings), IDENTITY: app.identitySetting, ORIGIN_URL: app.originUrl ?? undefined });
  const { policy, identityConfig } = app;
  return {
    ...shared,
    app: { id: app.id, org: app.org, originUrl: app.originUrl, canary: app.canary },
    // Its events are its organisation's (read by that organisation's auditors), under its id; the
    // app's names come first, so the bundled app's (inside shared.audit) never replace them.
    audit: auditOfApp(shared.audit, app),
    policy,
    identify: identitySourceOfOrg(createIdentitySource(identityConfig, env), app.org),
    identitySource: identityConfig.source,
    loginUrl: identityConfig.loginUrl,
    enrolment: policy.policy.enrolment ?? 'first-use',
  };
}

/**
 * The audit side of an environment's Runtime, for the cron (which has no identity or UserState).
 *
 * @throws {Error} when a binding or `STEPGATE_KEYS` is missing
 */
export function buildAuditRuntime(env: DeploymentEnv, options: AuditRuntimeOptions): AuditRuntime {
  const storage = storageOf(env, options);
  return auditRuntimeOf(env, storage, parseKeyring(env.STEPGATE_KEYS), options);
}

/** @throws {Error} naming every development setting, when a production environment has any (edge/config/production-checks.ts) */
export function refuseDevelopmentSettings(settings: ProductionSettings): void {
  if (!isProduction(settings)) return;
  const problems = productionProblems(settings);
  if (problems.length) throw new Error(describeProblems(settings, problems));
}

const policyHashes = new WeakMap<CompiledPolicy, Promise<string>>();

/** The hash the audit log names a policy by (policy.changed): SHA-256 of its canonical, validated form; once per compiled policy. */
export function policyHashOf(policy: CompiledPolicy): Promise<string> {
  let hash = policyHashes.get(policy);
  if (!hash) {
    hash = sha256b64u(canonicalJson(policy.policy));
    policyHashes.set(policy, hash);
  }
  return hash;
}

interface Storage {
  db: D1Database;
  auditNamespace: DurableObjectNamespace<AuditSequencer>;
}

function storageOf(env: DeploymentEnv, options: AuditRuntimeOptions): Storage {
  return {
    db: bindingOf<D1Database>(env, options.dbBinding ?? 'DB', 'D1'),
    auditNamespace: bindingOf<DurableObjectNamespace<AuditSequencer>>(
      env,
      options.auditBinding ?? 'AUDIT_SEQUENCER',
      'AuditSequencer Durable Object',
    ),
  };
}

function auditRuntimeOf(env: DeploymentEnv, { db, auditNamespace }: Storage, keys: Keyring, options: AuditRuntimeOptions): AuditRuntime {
  const tenant = String(env.TENANT ?? 'default');
  return {
    db,
    keys,
    audit: createAuditLog({
      namespace: auditNamespace,
      tenant,
      config: async () => ({ policyHash: await policyHashOf(options.policy), primaryKid: keys.primary }),
    }),
    auditSequencer: () => auditNamespace.get(auditNamespace.idFromName(`tenant:${tenant}`)),
    auditRetentionDays: Math.max(0, Number.parseInt(String(env.AUDIT_RETENTION_DAYS ?? '0'), 10) || 0),
    // Optional: without the bucket nothing is archived (docs/audit.md, "Archive and stream").
    auditArchive: env.AUDIT_ARCHIVE
      ? { bucket: env.AUDIT_ARCHIVE as R2Bucket, afterDays: Math.max(0, Number.parseFloat(String(env.AUDIT_ARCHIVE_DAYS ?? '0')) || 0) }
      : null,
    now: options.now ?? Date.now,
  };
}

/** @throws {Error} when the environment has no binding of that name */
function bindingOf<T>(env: DeploymentEnv, name: string, what: string): T {
  const binding = env[name] as T | undefined;
  if (!binding) throw new Error(`binding ${name} (${what}) is missing`);
  return binding;
}
