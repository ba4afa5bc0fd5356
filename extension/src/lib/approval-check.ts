/**
 * @module Dual control's approval requests as a site sends them (GET /.stepgate/api/approvals and
 * /approvals/:id), checked before anything is kept or shown: only well-formed requests, only their
 * known members, bounded lengths and counts. Unlike a challenge's prompt they are not signed: the
 * extension reads them straight from the paired site's API with its own fetch, never from a page.
 */
import type {
  ApprovalJson,
  ApprovalList,
  ApprovalRequirementJson,
  ApprovalState,
  ApprovalVoteJson,
  BodySummary,
  RequestedFrom,
  VerifiedPrompt,
} from '../../../shared/wire-shapes';
import { actionOf } from './verify-prompt';

/** An approval request's id as the edge makes them (random, base64url); anything else is never put in a URL. */
export const APPROVAL_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Requests kept per list and site, at most (the edge sends at most 50). */
export const MAX_APPROVALS_PER_LIST = 50;
/** The approver step-up's rule id: `approval:<id>` (design: the approver's own challenge to approve request <id>). */
export const APPROVAL_RULE_PREFIX = 'approval:';

const MAX_TEXT = 2000;
const MAX_GROUPS = 5;
const MAX_VOTES = 100;
const MAX_FIELDS = 50;
const STATES: readonly ApprovalState[] = ['pending', 'approved', 'denied', 'expired', 'cancelled', 'carried-out'];
const KINDS: readonly ApprovalRequirementJson['kind'][] = ['role', 'people', 'claimGroup'];

type Obj = Record<string, unknown>;
const obj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, max = MAX_TEXT): v is string => typeof v === 'string' && v.length <= max;
const strOrNull = (v: unknown, max = MAX_TEXT): v is string | null => v === null || str(v, max);
const iso = (v: unknown): v is string => str(v, 40) && !Number.isNaN(Date.parse(v));
const count = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 1000;

/** Whether a verified challenge prompt is an approver's step-up (answered in the approval window, never in a challenge window). */
export const isApprovalStepUp = (p: Pick<VerifiedPrompt, 'rule'>): boolean => p.rule.startsWith(APPROVAL_RULE_PREFIX);

function body(v: unknown): BodySummary | null | undefined {
  if (v === null || v === undefined) return null;
  if (!obj(v) || !str(v.kind, 200) || !count(v.bytes) || typeof v.truncated !== 'boolean') return undefined;
  if (!Array.isArray(v.fields) || v.fields.length > MAX_FIELDS) return undefined;
  const fields: BodySummary['fields'] = [];
  for (const f of v.fields) {
    if (!obj(f) || !str(f.name) || !str(f.value)) return undefined;
    fields.push({ name: f.name, value: f.value });
  }
  return { kind: v.kind, bytes: v.bytes, fields, truncated: v.truncated };
}

function from(v: unknown): RequestedFrom | null | undefined {
  if (v === null || v === undefined) return null;
  if (!obj(v)) return undefined;
  const [page, ip, ua] = [v.page ?? null, v.ip ?? null, v.user_agent ?? null];
  if (!strOrNull(page) || !strOrNull(ip, 100) || !strOrNull(ua)) return undefined;
  return { page, ip, user_agent: ua };
}

function requirement(v: unknown): ApprovalRequirementJson | null {
  if (!obj(v) || !str(v.from, 500) || !KINDS.includes(v.kind as ApprovalRequirementJson['kind'])) return null;
  if (!count(v.count) || !count(v.have)) return null;
  return { from: v.from, kind: v.kind as ApprovalRequirementJson['kind'], count: v.count, have: v.have };
}

function vote(v: unknown): ApprovalVoteJson | null {
  if (!obj(v) || !str(v.person, 500) || (v.vote !== 'approve' && v.vote !== 'deny') || !iso(v.at)) return null;
  if (!Array.isArray(v.factor) || v.factor.length > 10 || !v.factor.every((f) => str(f, 40))) return null;
  const reason = v.reason ?? null;
  if (!strOrNull(reason, 1000)) return null;
  return { person: v.person, vote: v.vote, at: v.at, factor: [...(v.factor as string[])], reason };
}

/**
 * A path on the site itself, under `/.stepgate/approvals/`: what **Carry it out** opens. Why: a list
 * entry must not send the person's browser anywhere else, on this site or another.
 */
export function approvalPageUrl(site: string, path: unknown): string | null {
  if (!str(path, 300) || !path.startsWith('/') || path.startsWith('//') || path.includes('\\')) return null;
  try {
    const u = new URL(path, site);
    return u.origin === site && u.pathname.startsWith('/.stepgate/approvals/') ? u.href : null;
  } catch {
    return null;
  }
}

/** One approval request from `site`, checked; null when it is not one the extension can show and act on. */
export function checkApproval(x: unknown, site: string): ApprovalJson | null {
  if (!obj(x) || !str(x.id, 64) || !APPROVAL_ID.test(x.id) || !STATES.includes(x.state as ApprovalState)) return null;
  const a = x.action;
  if (!obj(x.app) || !str(x.app.id, 200) || !str(x.app.name, 200)) return null;
  if (!str(x.rule, 200) || !strOrNull(x.rule_description ?? null, 1000)) return null;
  if (!obj(a) || ![a.method, a.host, a.path, a.query, a.bodySha256].every((s) => str(s))) return null;
  if (!str(x.matched_method, 40) || !str(x.requester, 500) || !strOrNull(x.justification ?? null, 1000)) return null;
  if (!iso(x.created_at) || !iso(x.expires_at) || !(x.closed_at === null || x.closed_at === undefined || iso(x.closed_at))) return null;
  const b = body(x.body);
  const f = from(x.requested_from);
  if (b === undefined || f === undefined) return null;
  if (!Array.isArray(x.required) || x.required.length > MAX_GROUPS) return null;
  if (!Array.isArray(x.votes) || x.votes.length > MAX_VOTES) return null;
  const required = x.required.map(requirement);
  const votes = x.votes.map(vote);
  if (required.includes(null) || votes.includes(null)) return null;
  const you = x.you;
  if (!obj(you) || typeof you.requester !== 'boolean' || typeof you.can_approve !== 'boolean') return null;
  const voted = you.voted ?? null;
  if (voted !== null && voted !== 'approve' && voted !== 'deny') return null;
  if (!strOrNull(you.why_not ?? null, 500) || !str(x.status_url, 300)) return null;
  if (!approvalPageUrl(site, x.page_url)) return null;
  return {
    id: x.id,
    state: x.state as ApprovalState,
    app: { id: x.app.id, name: x.app.name },
    rule: x.rule,
    rule_description: (x.rule_description as string | null | undefined) ?? null,
    action: actionOf(a),
    matched_method: x.matched_method,
    body: b,
    requester: x.requester,
    requested_from: f,
    justification: (x.justification as string | null | undefined) ?? null,
    created_at: x.created_at,
    expires_at: x.expires_at,
    closed_at: (x.closed_at as string | null | undefined) ?? null,
    required: required as ApprovalRequirementJson[],
    votes: votes as ApprovalVoteJson[],
    you: { requester: you.requester, can_approve: you.can_approve, voted, why_not: (you.why_not as string | null | undefined) ?? null },
    status_url: x.status_url,
    page_url: x.page_url as string,
  };
}

/** A list as `site` sent it: at most MAX_APPROVALS_PER_LIST of each, malformed entries dropped; null when it is no list. */
export function checkApprovalList(x: unknown, site: string): ApprovalList | null {
  if (!obj(x) || !Array.isArray(x.awaiting_you) || !Array.isArray(x.yours)) return null;
  const keep = (l: unknown[]) =>
    l.slice(0, MAX_APPROVALS_PER_LIST).flatMap((v) => {
      const a = checkApproval(v, site);
      return a ? [a] : [];
    });
  return { awaiting_you: keep(x.awaiting_you), yours: keep(x.yours) };
}
