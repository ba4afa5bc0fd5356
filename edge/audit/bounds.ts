/**
 * @module Bounds on what an audit event stores. Whatever a client controls (path, query names,
 * User-Agent, IP, host, and anything carried into `details`) is cut to a fixed size with a visible
 * marker, so one event holds at most about 1 KB of request metadata (docs/audit.md, "Limits on
 * stored request data"). Bounding is idempotent: a bounded value is left as it is, so the edge
 * and the sequencer may both apply it.
 */
import type { AuditDetails, AuditInput, AuditRequest } from './events';

/** Maximum lengths (UTF-16 code units, the marker included) and counts. */
export const AUDIT_LIMITS = {
  method: 32,
  path: 200,
  /** Query parameter names kept; past it, the last entry says how many more there were. */
  queryKeys: 10,
  queryKey: 32,
  ip: 64,
  userAgent: 192,
  /** The app (a host name is at most 253 characters). */
  app: 253,
  rule: 64,
  reason: 160,
  detailString: 256,
  /** Entries of a list in `details`, the "more" marker included. */
  detailList: 32,
  detailListEntry: 128,
} as const;

const marker = (cut: number) => `…[truncated ${cut} chars]`;

/** `s` if it fits in `max`, else its start and a marker saying how much was cut, `max` long at most. */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  let keep = Math.max(0, max - marker(s.length).length);
  // A lone half of a surrogate pair would not survive UTF-8: cut before it.
  if (keep > 0 && /[\uD800-\uDBFF]/.test(s[keep - 1]!)) keep -= 1;
  return (s.slice(0, keep) + marker(s.length - keep)).slice(0, max);
}

/** At most `max` entries, each bounded; when there are more, the last entry says how many: `…[N more]`. */
export function boundList(list: readonly string[], max: number, entry: number): string[] {
  const out = list.length <= max ? [...list] : [...list.slice(0, max - 1), `…[${list.length - (max - 1)} more]`];
  return out.map((s) => truncate(s, entry));
}

const bounded = (s: string | null | undefined, max: number) => (typeof s === 'string' ? truncate(s, max) : s);

/** The request of an event, bounded (docs/audit.md: at most ~1 KB). */
export function boundRequest(r: AuditRequest): AuditRequest {
  const L = AUDIT_LIMITS;
  const out: AuditRequest = {
    method: truncate(r.method, L.method),
    path: truncate(r.path, L.path),
    ip: bounded(r.ip, L.ip) ?? null,
    user_agent: bounded(r.user_agent, L.userAgent) ?? null,
  };
  if (r.query_keys !== undefined) out.query_keys = boundList(r.query_keys, L.queryKeys, L.queryKey);
  if (r.query_sha256 !== undefined) out.query_sha256 = truncate(r.query_sha256, 22);
  return out;
}

function boundDetails(d: AuditDetails): AuditDetails {
  const out: AuditDetails = {};
  for (const [k, v] of Object.entries(d)) {
    out[k] = typeof v === 'string' ? truncate(v, AUDIT_LIMITS.detailString) : Array.isArray(v) ? boundList(v, AUDIT_LIMITS.detailList, AUDIT_LIMITS.detailListEntry) : v;
  }
  return out;
}

/**
 * An event with every client-influenced string bounded: request, app, rule, reason and details.
 * The actor and target are user ids from a verified identity, and are kept as they are.
 */
export function boundInput(input: AuditInput): AuditInput {
  const out: AuditInput = { ...input };
  if (input.request) out.request = boundRequest(input.request);
  if (typeof input.app === 'string') out.app = truncate(input.app, AUDIT_LIMITS.app);
  if (input.rule !== undefined) out.rule = truncate(input.rule, AUDIT_LIMITS.rule);
  if (input.reason !== undefined) out.reason = truncate(input.reason, AUDIT_LIMITS.reason);
  if (input.details) out.details = boundDetails(input.details);
  return out;
}
