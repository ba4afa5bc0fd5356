/**
 * @module The query parameters of the audit endpoints: filters (always within the reader's
 * organisation), whole numbers, page cursors, and the filters as an event records them.
 */
import { base64url, fromBase64url } from '../crypto/base64';
import { ErrorCode } from '../../shared/errors';
import { hashRef } from '../audit/audit-log';
import type { AuditFilter } from '../audit/audit-store';
import { AUDIT_TYPES, isAuditType, type AuditOutcome, type AuditType } from '../audit/events';
import { StepgateError } from '../http/stepgate-error';

/**
 * A time parameter: ISO 8601 (a date alone is its UTC midnight) or milliseconds; undefined when
 * absent. @throws {StepgateError} 400 naming it
 */
export const time = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined || v === '') return undefined;
  const n = /^\d{1,15}$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) throw new StepgateError(ErrorCode.BadRequest, 400, `${name}: not a time (ISO 8601 or milliseconds)`);
  return n;
};

/**
 * Parse the filters of a listing or export of organisation `org`'s events (always one: the
 * reader's). @throws {StepgateError} 400 naming the parameter
 */
export function filterOf(q: URLSearchParams, org: string): AuditFilter & { org: string } {
  const f: AuditFilter & { org: string } = { org };
  const from = time('from', q.get('from') ?? undefined);
  const to = time('to', q.get('to') ?? undefined);
  if (from !== undefined) f.from = from;
  if (to !== undefined) f.to = to;
  for (const k of ['user', 'ip', 'app'] as const) {
    const v = q.get(k);
    if (v !== null && v !== '') {
      if (v.length > 256) throw new StepgateError(ErrorCode.BadRequest, 400, `${k}: too long`);
      f[k] = v;
    }
  }
  const types = q.get('type');
  if (types) {
    const list = types.split(',').map((t) => t.trim());
    const bad = list.find((t) => !isAuditType(t));
    if (bad !== undefined)
      throw new StepgateError(ErrorCode.BadRequest, 400, `type: "${bad.slice(0, 40)}" is not an event type (${AUDIT_TYPES.join(', ')})`);
    f.types = list as AuditType[];
  }
  const outcome = q.get('outcome');
  if (outcome) {
    if (!['success', 'failure', 'denied', 'info'].includes(outcome))
      throw new StepgateError(ErrorCode.BadRequest, 400, 'outcome: one of success, failure, denied, info');
    f.outcome = outcome as AuditOutcome;
  }
  return f;
}

/** A whole-number parameter between `min` and `max`, `def` when absent. @throws {StepgateError} 400 naming it */
export const intParam = (q: URLSearchParams, name: string, def: number, min: number, max: number): number => {
  const v = q.get(name);
  if (v === null || v === '') return def;
  if (!/^\d{1,12}$/.test(v)) throw new StepgateError(ErrorCode.BadRequest, 400, `${name}: a whole number`);
  const n = Number(v);
  if (n < min || n > max) throw new StepgateError(ErrorCode.BadRequest, 400, `${name}: between ${min} and ${max}`);
  return n;
};

/** A cursor is where the last page ended, opaque to clients. */
export const encodeCursor = (order: string, seq: number) => base64url(new TextEncoder().encode(`${order}.${seq}`));
export function decodeCursor(cursor: string | null, order: string): number | undefined {
  if (!cursor) return undefined;
  let text = '';
  try {
    text = new TextDecoder().decode(fromBase64url(cursor));
  } catch {
    // fall through
  }
  const m = /^(asc|desc)\.(\d{1,15})$/.exec(text);
  if (!m || m[1] !== order) throw new StepgateError(ErrorCode.BadRequest, 400, 'cursor: not a cursor from this listing (with this order)');
  return Number(m[2]);
}

/** The filters as recorded in audit.read / audit.exported (the person filtered by, as a hash). */
export async function filterDetails(f: AuditFilter): Promise<Record<string, string | number | null | string[]>> {
  return {
    from: f.from === undefined ? null : new Date(f.from).toISOString(),
    to: f.to === undefined ? null : new Date(f.to).toISOString(),
    user: f.user === undefined ? null : await hashRef(f.user),
    ip: f.ip === undefined ? null : await hashRef(f.ip),
    app: f.app ?? null,
    types: f.types ?? null,
    outcome: f.outcome ?? null,
  };
}
