/**
 * @module The audit events of dual control (docs/approvals.md): an exact request waiting for other
 * people's approval — requested, each approver's vote, the quorum, denial, expiry, cancellation,
 * carrying it out — and every attempt to notify an organisation's webhook. Part of the catalogue in events.ts.
 */
import { type EventKind, OcsfClass } from './event-kind';

export const APPROVAL_EVENTS = {
  'approval.requested': {
    summary:
      'A request a rule sends to dual control (`details.approval`: its id, `details.action_digest`, `details.required`) now waits for ' +
      'other people’s approval; nothing was forwarded.',
    ocsf: OcsfClass.ApiActivity,
    activity: 1,
  },
  'approval.approved': {
    summary:
      'An approver (`actor`) approved a waiting request (`details.approval`) after their own step-up (`details.amr`); ' +
      '`details.signature` signs the approval of `details.action_digest`.',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'approval.quorum_reached': {
    summary: 'Every approver group of a waiting request (`details.approval`) has its count: the requester may carry it out, once.',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'approval.denied': {
    summary: 'An approver (`actor`) denied a waiting request (`details.approval`, `reason`): it is closed and never forwarded.',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'approval.expired': {
    summary: 'A request waiting for approval (`details.approval`) reached its expiry before it was carried out: it is closed.',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'approval.cancelled': {
    summary:
      'The requester cancelled their waiting request (`details.approval`), or it was closed because its rule’s approval ' +
      'changed since it was asked (`details.why`: rule-changed): it is never forwarded.',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'approval.carried_out': {
    summary:
      'An approved request (`details.approval`) was forwarded to the app, once, with an assertion naming the requester (`actor`) ' +
      'and every approver (`details.approvers`).',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'approval.refused': {
    summary:
      'A step on a waiting request was refused (`reason`: not-found, other-org, other-app, self, not-eligible, closed, ' +
      'already-decided): nothing changed.',
    ocsf: OcsfClass.ApiActivity,
    activity: 99,
  },
  'notification.sent': {
    summary:
      'A notice of a waiting request (`details.event`, `details.approval`) was delivered to the organisation’s webhook ' +
      '(`details.attempt`, `details.status`).',
    ocsf: OcsfClass.ApiActivity,
    activity: 99,
  },
  'notification.failed': {
    summary:
      'A delivery attempt to the organisation’s webhook failed (`details.attempt`, `details.status` or `details.error`); ' +
      '`details.retry_at` is the next attempt, or null when Stepgate gave up.',
    ocsf: OcsfClass.ApiActivity,
    activity: 99,
  },
  'webhook.updated': {
    summary:
      'An owner or admin (`actor`) set the organisation’s webhook of dual-control notices (`details.org`, `details.format`, ' +
      '`details.url_host`, `details.created`); a new signing secret replaced the old one.',
    ocsf: OcsfClass.ApiActivity,
    activity: 3,
  },
  'webhook.deleted': {
    summary: 'An owner or admin (`actor`) removed the organisation’s webhook (`details.org`); notices still waiting are given up.',
    ocsf: OcsfClass.ApiActivity,
    activity: 4,
  },
} as const satisfies Record<string, EventKind>;
