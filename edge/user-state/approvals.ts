/** @module Action approvals: the approval of one exact action (`bind: "action"`), for one session, used once. */
import type { Approval } from './results';

/**
 * Record the approval of an exact action for the session that made the request, for the rule's
 * max age (a newer approval of the same action replaces it). Returns when it expires.
 */
export function recordApproval(
  sql: SqlStorage,
  a: { sid: string; digest: string; rule: string; amr: string[]; maxAgeSeconds: number },
  now: number,
): number {
  const expiresAt = now + a.maxAgeSeconds * 1000;
  sql.exec(
    'INSERT INTO approvals (sid, digest, rule, amr, auth_time, expires_at) VALUES (?, ?, ?, ?, ?, ?) ' +
      'ON CONFLICT (sid, digest) DO UPDATE SET expires_at = excluded.expires_at, amr = excluded.amr, auth_time = excluded.auth_time',
    a.sid,
    a.digest,
    a.rule,
    JSON.stringify(a.amr),
    Math.floor(now / 1000),
    expiresAt,
  );
  return expiresAt;
}

/** Use the approval of an exact action, once: one DELETE … RETURNING, so exactly one of any number of racing requests gets it. */
export function consumeApproval(sql: SqlStorage, sid: string, digest: string, rule: string, now: number): Approval | null {
  const row = sql
    .exec<{ rule: string; amr: string; auth_time: number }>(
      'DELETE FROM approvals WHERE sid = ? AND digest = ? AND rule = ? AND expires_at > ? RETURNING rule, amr, auth_time',
      sid,
      digest,
      rule,
      now,
    )
    .toArray()[0];
  return row ? { rule: row.rule, amr: JSON.parse(row.amr) as string[], authTime: row.auth_time } : null;
}

export function sweepApprovals(sql: SqlStorage, now: number): void {
  sql.exec('DELETE FROM approvals WHERE expires_at <= ?', now);
}
