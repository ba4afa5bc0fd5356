/**
 * @module The audit events of policies as live data (docs/policy.md): versions proposed, approved,
 * rejected and rolled back, canaries, promoted report-only rules and the organisation baseline.
 * Part of the catalogue in events.ts.
 */
import { type EventKind, OcsfClass } from './event-kind';

export const POLICY_VERSION_EVENTS = {
  'policy.version_created': {
    summary:
      'A new version (`details.version`) of an app’s policy (`details.app_id`, `details.policy`: its hash) became active at once: ' +
      'it does not weaken version `details.from` (`details.reasons`: what changed).',
    ocsf: OcsfClass.ApiActivity,
    activity: 1,
  },
  'policy.version_proposed': {
    summary:
      'A version (`details.version`) of an app’s policy that weakens the active one (`details.reasons`) was proposed: ' +
      'it waits for a second person’s approval.',
    ocsf: OcsfClass.ApiActivity,
    activity: 1,
  },
  'policy.version_approved': {
    summary: 'A second person approved a proposed version (`details.version`) of an app’s policy; it replaced version `details.from`.',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'policy.rolled_back': {
    summary: 'An app’s policy was rolled back to an earlier version (`details.version`), replacing version `details.from`.',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'policy.version_rejected': {
    summary: 'A proposed version (`details.version`) of an app’s policy was rejected (or withdrawn by its author); it never became active.',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'policy.canary_started': {
    summary:
      'A new version (`details.version`) of an app’s policy started as a canary: it enforces for `details.percent` % of people, ' +
      'version `details.from` for the others.',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'policy.canary_widened': {
    summary: 'An app’s canary (`details.version`) was widened from `details.from` % to `details.percent` % of people.',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'policy.canary_completed': {
    summary: 'An app’s canary (`details.version`) was widened to everyone: the version enforces for all people.',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'policy.rule_promoted': {
    summary:
      'A report-only rule (`details.rule`) of an app’s policy was promoted to enforce: version `details.version` ' +
      '(`details.state`: active, or proposed when the classifier finds it weakens) is the active one with that rule’s mode removed.',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'policy.baseline_updated': {
    summary:
      'The policy baseline of `details.org` (rules every app of the organisation runs first) changed at once: it does not weaken ' +
      'the one before (`details.from`: its hash, or null for the first); `details.baseline` is the new hash.',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'policy.baseline_proposed': {
    summary:
      'A change of the policy baseline of `details.org` that weakens it (`details.reasons`) was proposed: it waits for a ' +
      'different owner or admin to approve it.',
    ocsf: OcsfClass.ApiActivity,
    activity: 1,
  },
  'policy.baseline_approved': {
    summary: 'A different owner or admin approved the proposed change of the policy baseline of `details.org`; it is now in force.',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'policy.baseline_rejected': {
    summary: 'The proposed change of the policy baseline of `details.org` was rejected (or withdrawn by its author); nothing changed.',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
} as const satisfies Record<string, EventKind>;
