/**
 * @module A stored audit event made up for the chain-hashing tests (offline verification, Node's
 * hasher against the edge's): what the sequencer would have sealed, without a gateway.
 */
import type { AuditEvent } from '../../edge/audit/events';

/** The event at `seq` of tenant "default", a verified factor; `fields` replace any of its fields. */
export const syntheticAuditEvent = (seq: number, fields: Record<string, unknown> = {}): AuditEvent =>
  ({
    v: 1,
    id: `id-${seq}`,
    tenant: 'default',
    seq,
    time: new Date(1.7e12 + seq).toISOString(),
    salt: 'c2FsdA',
    type: 'factor.verified',
    outcome: 'success',
    actor: null,
    via: 'session',
    request: { method: 'GET', path: '/', ip: '203.0.113.1', user_agent: '' },
    details: {},
    ...fields,
  }) as unknown as AuditEvent;
