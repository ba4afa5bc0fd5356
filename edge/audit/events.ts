/**
 * @module The audit event catalogue: every decision the edge makes, its outcome, and the OCSF class
 * it exports as. docs/audit.md is this file in prose; a test keeps the two in step.
 */

import { type EventKind, OcsfClass } from './event-kind';
import { APPROVAL_EVENTS } from './approval-events';
import { POLICY_VERSION_EVENTS } from './policy-events';

export { OcsfClass, type OcsfClassUid } from './event-kind';

export type AuditOutcome = 'success' | 'failure' | 'denied' | 'info';

/** Every event type. Adding one is a catalogue change: docs/audit.md must say what it means. */
export const AUDIT_EVENTS = {
  'challenge.issued': {
    summary: 'A protected request needs a step-up; a challenge bound to the user, session, rule (and action) was issued.',
    ocsf: OcsfClass.Authentication,
    activity: 99,
  },
  'factor.verified': { summary: 'A factor answered a challenge.', ocsf: OcsfClass.Authentication, activity: 1 },
  'factor.failed': {
    summary:
      'A factor did not answer a challenge; `reason` says why (invalid, replayed, no-factor, ' +
      'not-allowed, attempts, locked, already-answered, number-mismatch, or why a passkey was refused).',
    ocsf: OcsfClass.Authentication,
    activity: 1,
  },
  'user.locked_out': {
    summary:
      'Too many failures: the user is locked out until `details.retry_at`; at 100 consecutive ' +
      'failures `retry_at` is null and the lock lasts until an administrator unlocks (user.unlocked).',
    ocsf: OcsfClass.Authentication,
    activity: 1,
  },
  'user.unlocked': {
    summary:
      'An administrator (`actor`) cleared a person’s (`target`) failure count and lock; `details.consecutive_failures` is what it was.',
    ocsf: OcsfClass.AccountChange,
    activity: 2,
  },
  'person.revoked': {
    summary:
      'An owner or admin (`actor`) revoked a person’s (`target`) factors, grants and/or API tokens in `details.org` ' +
      '(what: `details.factors`, `details.grants`, `details.tokens`; how many went: the counts).',
    ocsf: OcsfClass.AccountChange,
    activity: 99,
  },
  'grant.issued': {
    summary: 'A verified challenge produced a grant: a session grant (`bind: session`) or a one-use approval (`bind: action`).',
    ocsf: OcsfClass.Authentication,
    activity: 99,
  },
  'grant.used': {
    summary:
      'A protected request carried a valid grant or approval and is about to be forwarded. ' +
      'Written before forwarding: if it cannot be written, nothing is forwarded.',
    ocsf: OcsfClass.Authentication,
    activity: 99,
  },
  'request.forwarded': {
    summary: "A protected request was forwarded; `details.status` is the origin's status (outcome failure for 5xx or unreachable).",
    ocsf: OcsfClass.ApiActivity,
    activity: 99,
  },
  'request.denied': {
    summary:
      'A protected request was refused: no or invalid identity, a held action that was not approved, ' +
      'too many prompts (rationed), or the person denied it in the extension.',
    ocsf: OcsfClass.ApiActivity,
    activity: 99,
  },
  'request.denied_summary': {
    summary:
      'Denials folded in one window (anonymous ones per network, reason and rule; ' +
      'a person’s repeated refusals per person, reason and rule): how many a client (or, ' +
      'past the table, all other clients or people) had, and how many of them were recorded in full.',
    ocsf: OcsfClass.ApiActivity,
    activity: 99,
  },
  'factor.enrolled': {
    summary: 'A factor was added (passkey or authenticator app), or recovery codes were issued.',
    ocsf: OcsfClass.AccountChange,
    activity: 10,
  },
  'factor.removed': { summary: 'A factor was removed.', ocsf: OcsfClass.AccountChange, activity: 11 },
  'invite.created': {
    summary: 'An administrator invited a person (`target`) to enrol a first factor.',
    ocsf: OcsfClass.AccountChange,
    activity: 1,
  },
  'org.owner_claimed': {
    summary: 'The person BOOTSTRAP_OWNER names (`actor`) claimed ownership of the default organisation (`details.org`); once only.',
    ocsf: OcsfClass.AccountChange,
    activity: 7,
  },
  'org.created': {
    summary:
      'The deployment’s operator (`actor`, an owner of `details.org`, the default organisation) created an organisation ' +
      '(`details.created_org`, `details.name`) with its first owner (`target`, grant `details.grant`).',
    ocsf: OcsfClass.ApiActivity,
    activity: 1,
  },
  'role.granted': {
    summary: 'An owner or admin (`actor`) granted a role (`details.role`) to a person (`target`) in `details.org` (for `details.app_id`).',
    ocsf: OcsfClass.AccountChange,
    activity: 7,
  },
  'role.revoked': {
    summary: 'An owner or admin (`actor`) revoked a person’s (`target`) role (`details.role`) in `details.org` (for `details.app_id`).',
    ocsf: OcsfClass.AccountChange,
    activity: 8,
  },
  'app.created': {
    summary: 'An app (`details.app_id`, its hosts and policy hash) was created in `details.org`.',
    ocsf: OcsfClass.ApiActivity,
    activity: 1,
  },
  'app.updated': {
    summary: 'An app (`details.app_id`) of `details.org` was changed (`details.fields`).',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'app.deleted': {
    summary: 'An app (`details.app_id`) of `details.org` was deleted, with its hosts, policy and app-admin grants.',
    ocsf: OcsfClass.ApiActivity,
    activity: 4,
  },
  'app.policy_updated': {
    summary: 'The policy of an app (`details.app_id`) of `details.org` was replaced (`details.policy`: its hash).',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  ...POLICY_VERSION_EVENTS,
  ...APPROVAL_EVENTS,
  'admin.refused': {
    summary:
      'An administrative action (`details.action`) of a signed-in person was refused: `details.code` and `reason` say ' +
      'which rule; `details.org`, `details.app_id` and `target` what it was aimed at.',
    ocsf: OcsfClass.ApiActivity,
    activity: 99,
  },
  'recovery.started': {
    summary:
      'Someone (`actor`: helpdesk, admin or owner) started recovering the factors of a person (`target`) who lost them, ' +
      'in `details.org` (`details.recovery`); the person is told and may cancel.',
    ocsf: OcsfClass.AccountChange,
    activity: 99,
  },
  'recovery.approved': {
    summary:
      'A second person (`actor`: admin or owner) approved a recovery (`details.recovery`) that `details.started_by` started ' +
      'for `target`; it takes effect at `details.effective_at`.',
    ocsf: OcsfClass.AccountChange,
    activity: 99,
  },
  'recovery.cancelled': {
    summary:
      'A recovery (`details.recovery`) of `target` was cancelled by the person (`details.by`: person) or an admin or owner ' +
      '(admin); `details.started_by` and `details.approved_by` name who started and approved it.',
    ocsf: OcsfClass.AccountChange,
    activity: 99,
  },
  'recovery.completed': {
    summary:
      'The person (`actor`) completed their recovery (`details.recovery`, started by `details.started_by`, approved by ' +
      '`details.approved_by`): their old factors, grants and API tokens were revoked (the counts) and an invitation issued.',
    ocsf: OcsfClass.AccountChange,
    activity: 99,
  },
  'token.created': {
    summary: 'A person created a personal API token (scopes, expiry); the token itself only as a hash.',
    ocsf: OcsfClass.AccountChange,
    activity: 99,
  },
  'token.revoked': { summary: 'A personal API token was revoked.', ocsf: OcsfClass.AccountChange, activity: 99 },
  'audit.read': {
    summary:
      'An owner, admin or auditor read their organisation’s audit log: events (the filters used), ' +
      'checkpoints, key status or the dashboard.',
    ocsf: OcsfClass.ApiActivity,
    activity: 2,
  },
  'audit.exported': {
    summary: 'An administrator or auditor exported audit events (format, filters).',
    ocsf: OcsfClass.ApiActivity,
    activity: 2,
  },
  'audit.verified': { summary: 'The chain was verified (range and result).', ocsf: OcsfClass.ApiActivity, activity: 2 },
  'audit.pruned': {
    summary: 'Retention removed events up to `details.through_seq`, after a signed checkpoint of that point.',
    ocsf: OcsfClass.ApiActivity,
    activity: 4,
  },
  'audit.archived': {
    summary: 'Maintenance moved sealed segments of the chain, up to `details.through_seq`, from D1 to the R2 archive.',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'policy.changed': {
    summary: 'The edge started enforcing a policy different from the last one recorded (`details.from`, `details.to` are policy hashes).',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'keys.rotated': {
    summary: 'The edge started writing under a new primary key id (`details.from`, `details.to`).',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'keys.reencrypted': {
    summary: 'Background re-encryption moved stored data to the primary key (rows moved per table, and `to`, the primary key id).',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
} as const satisfies Record<string, EventKind>;

export type AuditType = keyof typeof AUDIT_EVENTS;
export const AUDIT_TYPES = Object.keys(AUDIT_EVENTS) as AuditType[];
export const isAuditType = (t: string): t is AuditType => Object.hasOwn(AUDIT_EVENTS, t);

/** Where a decision was made: the request, as Stepgate saw it. Never its body, cookies or headers beyond these. */
export interface AuditRequest {
  method: string;
  path: string;
  /** Query parameter names only; values may carry tokens. `query_sha256` identifies the exact query. */
  query_keys?: string[];
  query_sha256?: string;
  ip: string | null;
  user_agent: string | null;
}

/** Event-specific facts: flat values and string lists only. */
export type AuditDetails = Record<string, string | number | boolean | null | string[]>;

/** What a caller records. The sequencer adds id, tenant, seq, time and salt. */
export interface AuditInput {
  type: AuditType;
  outcome: AuditOutcome;
  /** The person who acted (user id), or null for the system (cron) or an anonymous request. */
  actor: string | null;
  /** How the actor was identified. */
  via?: 'session' | 'token' | 'system' | 'anonymous';
  /** The person acted upon, when not the actor (an invitation, an admin removal). */
  target?: string;
  /** The app (canonical host). */
  app?: string | null;
  /**
   * The organisation the event belongs to, whose readers see it (docs/audit.md, "Organisations").
   * An app's Runtime fills it with the app's organisation (`auditOfApp`); absent, the sequencer
   * records "default", the deployment's own organisation (cron, maintenance, configuration).
   */
  org?: string;
  /** The app's id (apps.id, or "bundled"); filled like `org`; null for the deployment's own events. */
  app_id?: string | null;
  request?: AuditRequest;
  rule?: string;
  factor?: 'webauthn' | 'totp' | 'recovery';
  reason?: string;
  /** Event-specific facts: ids, statuses, hashes. Never a secret, code, cookie or token. */
  details?: AuditDetails;
  /** Milliseconds; defaults to the sequencer's clock. */
  ts?: number;
}

/** A recorded event: exactly what is sealed, hashed into the chain and exported. */
export interface AuditEvent extends Omit<AuditInput, 'ts'> {
  v: 1;
  /** Random event id (UUID). */
  id: string;
  tenant: string;
  seq: number;
  /** UTC, ISO 8601 with milliseconds. */
  time: string;
  /** 128 random bits, so the chain hash stored beside the ciphertext reveals nothing guessable. */
  salt: string;
}

/** An event as exported: the event and its place in the chain. */
export interface ChainedEvent {
  event: AuditEvent;
  prev_hash: string;
  hash: string;
}
