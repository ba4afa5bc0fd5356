/**
 * @module Bounds on what an audit event stores. Whatever a client controls (path, query names,
 * User-Agent, IP, host, and anything carried into `details`) is cut to a fixed size with a visible
 * marker, and the request metadata as a whole to a fixed number of bytes, so one event holds at
 * most 1,000 bytes of request metadata as stored (JSON, UTF-8), whatever the characters
 * (docs/audit.md, "Limits on stored request data"). Bounding is idempotent: a bounded value is
 * left as it is, so the edge and the sequencer may both apply it.
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
  /** The whole `request` object, serialized as JSON: at most this many bytes of UTF-8. */
  requestBytes: 1000,
  /** The app (a host name is at most 253 characters). */
  app: 253,
  rule: 64,
  reason: 160,
  detailString: 256,
  /**
   * Signed evidence (`SIGNED_DETAILS`: Stepgate's approval statement, an approver's passkey assertion):
   * kept whole up to this, so it still verifies.
   */
  detailSignature: 2048,
  /** Entries of a list in `details`, the "more" marker included. */
  detailList: 32,
  detailListEntry: 128,
} as const;

/** Details that are signed evidence, kept whole up to `detailSignature` (edge/approvals/approval-votes.ts). */
const SIGNED_DETAILS = new Set(['signature', 'passkey_client_data', 'passkey_authenticator_data', 'passkey_signature']);

const marker = (cut: number) => `…[truncated ${cut} chars]`;
const utf8 = new TextEncoder();

/** Bytes of `v` as stored: JSON, in UTF-8. */
export const storedBytes = (v: unknown): number => utf8.encode(JSON.stringify(v)).length;

/**
 * Bytes the UTF-16 code unit at `i` of `s` takes inside a JSON string in UTF-8, as JSON.stringify
 * writes it: a control character is `\u0001` (6), a surrogate pair 4 (counted on its first half),
 * a lone surrogate `\udxxx` (6).
 */
function unitBytes(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === 0x22 || c === 0x5c || c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d) return 2;
  if (c < 0x20) return 6;
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  if (c >= 0xd800 && c <= 0xdbff) {
    const d = s.charCodeAt(i + 1);
    return d >= 0xdc00 && d <= 0xdfff ? 4 : 6;
  }
  if (c >= 0xdc00 && c <= 0xdfff) {
    const p = s.charCodeAt(i - 1);
    return p >= 0xd800 && p <= 0xdbff ? 0 : 6;
  }
  return 3;
}

/** Bytes of `s` inside a JSON string (without the quotes), in UTF-8. */
const jsonBytes = (s: string): number => storedBytes(s) - 2;

/**
 * `s` if it fits in `max` code units and `bytes` bytes (inside a JSON string, UTF-8); else its
 * longest start that fits together with a marker saying exactly how much was cut.
 */
export function truncate(s: string, max: number, bytes = Infinity): string {
  if (s.length <= max && (bytes === Infinity || jsonBytes(s) <= bytes)) return s;
  // Longer starts need more room (the marker shrinks by at most one digit as the start grows by
  // one unit of at least one byte), so the starts that fit are 0..keep.
  let keep = 0;
  let used = 0;
  for (;;) {
    const next = keep + 1;
    if (next > s.length) break;
    const cost = used + unitBytes(s, keep);
    const m = marker(s.length - next);
    if (next + m.length > max || cost + m.length + 2 > bytes) break;
    keep = next;
    used = cost;
  }
  // A lone half of a surrogate pair would not survive UTF-8: cut before it.
  if (keep > 0 && /[\uD800-\uDBFF]/.test(s[keep - 1]!)) keep -= 1;
  return (s.slice(0, keep) + marker(s.length - keep)).slice(0, max);
}

/** At most `max` entries, each bounded; when there are more, the last entry says how many: `…[N more]`. */
export function boundList(list: readonly string[], max: number, entry: number, bytes = Infinity): string[] {
  const out = list.length <= max ? [...list] : [...list.slice(0, max - 1), `…[${list.length - (max - 1)} more]`];
  return out.map((s) => truncate(s, entry, bytes));
}

const bounded = (s: string | null | undefined, max: number, bytes: number) => (typeof s === 'string' ? truncate(s, max, bytes) : s);

/**
 * The request of an event, bounded: each field to its length, and the whole, as stored (JSON,
 * UTF-8), to `AUDIT_LIMITS.requestBytes`. When the lengths alone leave it longer (text of 2-4 bytes
 * a character, control characters stored as `\u0001`), the longest fields are cut further to one
 * common size in bytes, the largest that fits, each with its marker.
 */
export function boundRequest(r: AuditRequest): AuditRequest {
  const L = AUDIT_LIMITS;
  const cutTo = (bytes: number): AuditRequest => {
    const out: AuditRequest = {
      method: truncate(r.method, L.method, bytes),
      path: truncate(r.path, L.path, bytes),
      ip: bounded(r.ip, L.ip, bytes) ?? null,
      user_agent: bounded(r.user_agent, L.userAgent, bytes) ?? null,
    };
    if (r.query_keys !== undefined) out.query_keys = boundList(r.query_keys, L.queryKeys, L.queryKey, bytes);
    if (r.query_sha256 !== undefined) out.query_sha256 = truncate(r.query_sha256, 22, bytes);
    return out;
  };
  const out = cutTo(Infinity);
  if (storedBytes(out) <= L.requestBytes) return out;
  // Every field cut to its marker alone is far below the limit (about 600 bytes at most), so 0
  // always fits: search the largest common size that does.
  const strings = [out.method, out.path, out.ip, out.user_agent, out.query_sha256, ...(out.query_keys ?? [])];
  let lo = 0;
  let hi = Math.max(...strings.map((s) => (typeof s === 'string' ? jsonBytes(s) : 0)));
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (storedBytes(cutTo(mid)) <= L.requestBytes) lo = mid;
    else hi = mid - 1;
  }
  return cutTo(lo);
}

function boundDetails(d: AuditDetails): AuditDetails {
  const out: AuditDetails = {};
  for (const [k, v] of Object.entries(d)) {
    out[k] =
      typeof v === 'string'
        ? truncate(v, SIGNED_DETAILS.has(k) ? AUDIT_LIMITS.detailSignature : AUDIT_LIMITS.detailString)
        : Array.isArray(v)
          ? boundList(v, AUDIT_LIMITS.detailList, AUDIT_LIMITS.detailListEntry)
          : v;
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
