/**
 * @module Export formats: NDJSON (the chained events, verifiable offline with the signed
 * checkpoints), CSV (for spreadsheets; cells that a spreadsheet would run as a formula are
 * neutralized), and OCSF 1.1 (Authentication 3002, Account Change 3001, API Activity 6003) for SIEMs.
 */
import { STEPGATE_VERSION } from '../config/version';
import { AUDIT_EVENTS, OcsfClass, type AuditEvent, type ChainedEvent } from './events';

export const EXPORT_FORMATS = ['ndjson', 'csv', 'ocsf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  ocsf: 'application/x-ndjson; charset=utf-8',
};

/** An NDJSON line carrying a signed checkpoint, after the events it covers. */
export interface CheckpointLine {
  checkpoint: string;
  seq: number;
}

export const CSV_COLUMNS = [
  'seq',
  'time',
  'type',
  'outcome',
  'user',
  'via',
  'target',
  'app',
  'org',
  'app_id',
  'method',
  'path',
  'rule',
  'factor',
  'reason',
  'ip',
  'user_agent',
  'details',
  'id',
  'hash',
] as const;

export const csvHeader = (): string => `${CSV_COLUMNS.join(',')}\r\n`;

/** One CSV record (RFC 4180, CRLF). */
export function csvRow(c: ChainedEvent): string {
  const e = c.event;
  const cells: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    seq: e.seq,
    time: e.time,
    type: e.type,
    outcome: e.outcome,
    user: e.actor,
    via: e.via,
    target: e.target,
    app: e.app,
    // Rows older than the organisation column were all the default organisation's.
    org: e.org ?? 'default',
    app_id: e.app_id,
    method: e.request?.method,
    path: e.request?.path,
    rule: e.rule,
    factor: e.factor,
    reason: e.reason,
    ip: e.request?.ip,
    user_agent: e.request?.user_agent,
    details: e.details ? JSON.stringify(e.details) : '',
    id: e.id,
    hash: c.hash,
  };
  return `${CSV_COLUMNS.map((k) => csvCell(cells[k])).join(',')}\r\n`;
}

/** Quote a cell; a leading =, +, -, @, tab or CR is prefixed with ' so spreadsheets show it, never run it (CWE-1236). */
export function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n']/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

const CATEGORY: Record<number, { uid: number; name: string; class: string }> = {
  [OcsfClass.Authentication]: { uid: 3, name: 'Identity & Access Management', class: 'Authentication' },
  [OcsfClass.AccountChange]: { uid: 3, name: 'Identity & Access Management', class: 'Account Change' },
  [OcsfClass.ApiActivity]: { uid: 6, name: 'Application Activity', class: 'API Activity' },
};

const ACTIVITY_NAMES: Record<number, Record<number, string>> = {
  [OcsfClass.Authentication]: { 1: 'Logon', 99: 'Other' },
  [OcsfClass.AccountChange]: {
    1: 'Create',
    2: 'Enable',
    7: 'Attach Policy',
    8: 'Detach Policy',
    10: 'MFA Factor Enable',
    11: 'MFA Factor Disable',
    99: 'Other',
  },
  [OcsfClass.ApiActivity]: { 1: 'Create', 2: 'Read', 3: 'Update', 4: 'Delete', 99: 'Other' },
};

/** One OCSF 1.1 event for a Stepgate audit event. */
export function toOcsf(c: ChainedEvent): Record<string, unknown> {
  const e = c.event;
  const kind = AUDIT_EVENTS[e.type];
  const classUid: number = kind.ocsf;
  const activity: number = kind.activity;
  const cat = CATEGORY[classUid]!;
  const failed = e.outcome === 'failure' || e.outcome === 'denied';
  // type_id: 1 User, 3 System (the cron), 0 Unknown (an anonymous request).
  const person = (uid: string | null | undefined) =>
    uid
      ? { uid, name: uid, type_id: 1 }
      : e.via === 'system'
        ? { uid: 'stepgate', name: 'stepgate', type_id: 3 }
        : { uid: 'anonymous', name: 'anonymous', type_id: 0 };
  const out: Record<string, unknown> = {
    class_uid: classUid,
    class_name: cat.class,
    category_uid: cat.uid,
    category_name: cat.name,
    activity_id: activity,
    activity_name: ACTIVITY_NAMES[classUid]?.[activity] ?? 'Other',
    type_uid: classUid * 100 + activity,
    type_name: `${cat.class}: ${ACTIVITY_NAMES[classUid]?.[activity] ?? 'Other'}`,
    time: Date.parse(e.time),
    severity_id: e.type === 'user.locked_out' ? 3 : failed ? 2 : 1,
    status_id: e.outcome === 'info' ? 99 : failed ? 2 : 1,
    status: e.outcome === 'info' ? 'Other' : failed ? 'Failure' : 'Success',
    message: kind.summary,
    metadata: {
      version: '1.1.0',
      uid: e.id,
      sequence: e.seq,
      log_name: 'stepgate-audit',
      product: { name: 'Stepgate', vendor_name: 'Stepgate', version: STEPGATE_VERSION },
    },
    actor: { user: person(e.actor) },
    src_endpoint: e.request?.ip ? { ip: e.request.ip } : { name: e.via === 'system' ? 'stepgate' : 'unknown' },
    unmapped: {
      stepgate_type: e.type,
      tenant: e.tenant,
      org: e.org ?? 'default',
      app_id: e.app_id,
      outcome: e.outcome,
      via: e.via,
      rule: e.rule,
      factor: e.factor,
      reason: e.reason,
      details: e.details,
      prev_hash: c.prev_hash,
      hash: c.hash,
    },
  };
  if (e.reason) out.status_detail = e.reason;
  if (e.type === 'request.denied_summary' && e.details) {
    // A folded window (OCSF's event aggregation): how many denials, from when to when.
    out.count = e.details.denied;
    out.start_time = Date.parse(String(e.details.window_start));
    out.end_time = Date.parse(String(e.details.window_end));
  }
  if (e.request) {
    out.http_request = {
      http_method: e.request.method,
      user_agent: e.request.user_agent ?? undefined,
      url: { hostname: e.app ?? undefined, path: e.request.path },
    };
  }
  if (classUid === OcsfClass.Authentication) {
    out.user = person(e.target ?? e.actor);
    out.service = { name: e.app ?? 'stepgate' };
    out.is_mfa = true;
    out.auth_protocol_id = 99;
    out.auth_protocol = e.factor === 'webauthn' ? 'WebAuthn' : e.factor === 'totp' ? 'TOTP' : 'Stepgate step-up';
    if (e.app) out.dst_endpoint = { hostname: e.app };
  } else if (classUid === OcsfClass.AccountChange) {
    out.user = person(e.target ?? e.actor);
  } else {
    out.api = { operation: apiOperation(e), request: { uid: e.id } };
    if (e.app) out.dst_endpoint = { hostname: e.app };
  }
  return dropUndefined(out);
}

function apiOperation(e: AuditEvent): string {
  return e.request ? `${e.request.method} ${e.request.path}` : e.type;
}

function dropUndefined<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
