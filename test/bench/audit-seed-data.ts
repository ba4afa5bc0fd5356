/**
 * @module The audit bench's data (test/bench/audit-worker.ts): the seeded event set — deterministic in
 * its index, ~50 actors, weighted types and outcomes, 3 apps, 200 IPs, times 26 s apart — the single
 * event the append measurement writes, and the filters the query measurement times.
 */
import type { AuditFilter } from '../../edge/audit/audit-store';
import type { AuditInput, AuditOutcome, AuditType } from '../../edge/audit/events';
import { mulberry32 as rng } from '../support/mulberry32';

/** Distinct actors in the seeded set. */
const ACTORS = 50;
/** Seeded events are spaced this far apart (100,000 events ≈ 30 days). */
const SEED_STEP_MS = 26_000;
/** Timestamp of seeded event 0 (so a time-range filter is reproducible). */
export const SEED_T0 = Date.UTC(2026, 5, 1);

/** Per-mille weights of the seeded event types, roughly what a protected app's traffic writes. */
const TYPE_MIX: [AuditType, number][] = [
  ['request.forwarded', 380],
  ['grant.used', 300],
  ['challenge.issued', 100],
  ['factor.verified', 80],
  ['grant.issued', 80],
  ['factor.failed', 30],
  ['request.denied', 25],
  ['user.locked_out', 5],
];

/** Seeded event `i`: ~50 actors, mixed types and outcomes, 3 apps, 200 client IPs, increasing time. */
export function seedInput(i: number): AuditInput {
  const r = rng(i * 2654435761);
  let pick = r() * 1000;
  let type: AuditType = TYPE_MIX[0]![0];
  for (const [t, w] of TYPE_MIX) {
    if (pick < w) {
      type = t;
      break;
    }
    pick -= w;
  }
  const outcome: AuditOutcome =
    type === 'factor.failed' || type === 'user.locked_out'
      ? 'failure'
      : type === 'request.denied'
        ? 'denied'
        : type === 'request.forwarded' && r() < 0.03
          ? 'failure'
          : 'success';
  const anonymous = type === 'request.denied' && r() < 0.5;
  return {
    type,
    outcome,
    actor: anonymous ? null : `user-${Math.floor(r() * ACTORS)}`,
    via: anonymous ? 'anonymous' : 'session',
    app: ['app.test', 'admin.test', 'api.test'][Math.floor(r() * 3)]!,
    ...(type.startsWith('factor.') ? { factor: r() < 0.7 ? 'totp' : 'webauthn' } : {}),
    request: {
      method: r() < 0.7 ? 'POST' : 'GET',
      path: `/api/items/${i % 997}`,
      ip: `203.0.113.${Math.floor(r() * 200)}`,
      user_agent: 'bench',
    },
    details: type === 'request.forwarded' ? { status: outcome === 'failure' ? 502 : 200 } : { n: i },
    ts: SEED_T0 + i * SEED_STEP_MS,
  };
}

/** The single event the append-throughput measurement writes. */
export const appendInput = (i: number): AuditInput => ({
  type: 'factor.verified',
  outcome: 'success',
  actor: `user-${i % ACTORS}`,
  via: 'session',
  app: 'app.test',
  factor: 'totp',
  request: { method: 'POST', path: '/x', ip: '203.0.113.7', user_agent: 'bench' },
  details: { n: i },
});

/** The filters the query measurement times, by label (seeded set: see `seedInput`). */
export const QUERY_FILTERS: Record<string, AuditFilter> = {
  none: {},
  user: { user: 'user-17' },
  type: { types: ['factor.verified'] },
  'user+type+7 days': { user: 'user-17', types: ['grant.used'], from: SEED_T0 + 10 * 86_400_000, to: SEED_T0 + 17 * 86_400_000 },
  '7 days': { from: SEED_T0 + 10 * 86_400_000, to: SEED_T0 + 17 * 86_400_000 },
  'outcome=failure': { outcome: 'failure' },
  'outcome=denied': { outcome: 'denied' },
  'outcome=info (no match)': { outcome: 'info' },
  'type (no match)': { types: ['keys.rotated'] },
};
