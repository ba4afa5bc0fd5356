/**
 * @module A tenant's audit chain built through the real AuditSequencer in the Workers pool, for the
 * archive and verify-page tests: signed checkpoints between batches, the keyring and the R2 bucket
 * bound in wrangler.toml (Miniflare's local R2 in tests).
 */
import { env } from 'cloudflare:test';
import type { ArchiveDeps } from '../../edge/audit/archive';
import type { AuditInput } from '../../edge/audit/events';
import { parseKeyring } from '../../edge/crypto/keyring';

export const ring = parseKeyring(env.STEPGATE_KEYS);
export const bucket = env.AUDIT_ARCHIVE!;
export const sequencer = (tenant: string) => env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName(`tenant:${tenant}`));
export const archiveDeps = (tenant: string, now = Date.now): ArchiveDeps => ({
  db: env.DB,
  keys: ring,
  auditSequencer: () => sequencer(tenant),
  now,
});
/** A time a day ahead: every segment is old enough to archive or prune. */
export const FUTURE = () => Date.now() + 86_400_000;

/** The `i`th event of a test chain: a factor verified. */
export const factorEvent = (i: number): AuditInput => ({
  type: 'factor.verified',
  outcome: 'success',
  actor: 'archie@example.com',
  via: 'session',
  app: 'app.test',
  factor: 'totp',
  request: { method: 'POST', path: '/x', ip: '203.0.113.9', user_agent: 'test' },
  details: { n: i },
});

/** `batches` appends of `size` events, a signed checkpoint after each, then `tail` more (the head stays in D1). */
export async function appendChain(tenant: string, batches: number, size: number, tail = 3): Promise<void> {
  for (let b = 0; b < batches; b++) {
    await sequencer(tenant).append(
      tenant,
      Array.from({ length: size }, (_, i) => factorEvent(b * size + i)),
    );
    await sequencer(tenant).checkpoint(tenant, 'periodic');
  }
  if (tail > 0)
    await sequencer(tenant).append(
      tenant,
      Array.from({ length: tail }, (_, i) => factorEvent(10_000 + i)),
    );
}
