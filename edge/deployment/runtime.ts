/** @module The per-deployment runtime the request path and Stepgate's endpoints need (built by build-runtime.ts). */
import type { AuditArchive } from '../audit/archive-store';
import type { PolicyCanary } from '../apps/app-definition';
import type { AuditLog } from '../audit/audit-log';
import type { AuditSequencer } from '../audit/audit-sequencer';
import type { Keyring } from '../crypto/keyring';
import type { IdentityConfig } from '../identity/identity-config';
import type { IdentitySource } from '../identity/identity-source';
import type { ApprovalNotifier } from '../notifications/approval-notifier';
import type { CompiledPolicy } from '../policy/compile-policy';
import type { UserState } from '../user-state/user-state';

/** The app a Runtime serves: the bundled one, or one of the apps in D1 (edge/apps). */
export interface RuntimeApp {
  id: string;
  /** Its organisation ("default" for the bundled app): people are keyed by it. */
  org: string;
  /**
   * Where its requests are forwarded: a bare http(s) origin, or null for the request's own URL.
   * Undefined for the bundled app: forward()'s own `originUrl` (ORIGIN_URL).
   */
  originUrl: string | null | undefined;
  /**
   * A canary of its active policy (docs/policy.md#canary): `policy` enforces for `percent` % of
   * people, stable per person, and `base` (the version active before) for the others. Null: none.
   */
  canary?: PolicyCanary | null;
}

export interface Runtime {
  /** The app this runtime serves. Its policy, identity source and login URL are the app's; the rest is the deployment's. */
  app: RuntimeApp;
  policy: CompiledPolicy;
  /** The deployment's policy.json as compiled at start: the bundled app's version 1, whatever app this runtime serves. */
  bundledPolicy: CompiledPolicy;
  identify: IdentitySource;
  /** Where identities come from: `Cf-Access-*` headers reach the origin only from Cloudflare Access. */
  identitySource: IdentityConfig['source'];
  /** The single-writer Durable Object of one user. */
  userState(sub: string): DurableObjectStub<UserState>;
  /** D1: factors, invites, API tokens, the audit log and its checkpoints. */
  db: D1Database;
  keys: Keyring;
  development: boolean;
  /** Where browsers without an app session are sent, if configured. */
  loginUrl: string | undefined;
  /** How a person's first factor may be enrolled. */
  enrolment: 'first-use' | 'invite';
  /** The audit log of this deployment's tenant. */
  audit: AuditLog;
  /** The tenant's audit sequencer (for the read side: head, checkpoints). */
  auditSequencer(): DurableObjectStub<AuditSequencer>;
  /** Audit events older than this many days are pruned (after a checkpoint); 0 keeps them forever. */
  auditRetentionDays: number;
  /** The R2 archive of sealed audit segments (binding AUDIT_ARCHIVE, threshold AUDIT_ARCHIVE_DAYS); null when not bound. */
  auditArchive?: AuditArchive | null;
  /** A passkey whose backup state changed since registration: accepted and logged ("flag") or refused. */
  backupChange: 'flag' | 'refuse';
  /** Origins besides the site's own that may run WebAuthn ceremonies for it (the extension's). */
  webauthnOrigins: readonly string[];
  /**
   * The hosts (CONSOLE_HOSTS: lower case, exact) where the console, the admin API and the token endpoints answer;
   * empty: every host (edge/endpoints/console-hosts.ts).
   */
  consoleHosts: readonly string[];
  /** How long a request from the extension is held while its prompt is answered (HOLD_SECONDS, default 60). */
  holdMs: number;
  /**
   * The organisation's ApprovalNotifier (webhook deliveries, docs/admin.md "Webhooks"), one per
   * organisation; null or absent when the deployment binds none (`APPROVAL_NOTIFIER`).
   */
  approvalNotifier?: ((org: string) => DurableObjectStub<ApprovalNotifier>) | null;
  /** Clock, milliseconds. Injectable for tests. */
  now(): number;
}
