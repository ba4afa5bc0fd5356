/**
 * @module The fault tests' way to make an audit record fail in the Workers pool: a D1 trigger that
 * refuses inserts into `audit_events` (the events `when` picks, an SQL condition on NEW.type; else
 * all) until dropped, as a database that cannot take the write would.
 */
import { env } from 'cloudflare:test';

/** Make the audit log refuse events (those `when` picks; else all) until `drop`. */
export async function refuseAudit(name: string, when = ''): Promise<{ drop(): Promise<void> }> {
  await env.DB.prepare(
    `CREATE TRIGGER ${name} BEFORE INSERT ON audit_events ${when ? `WHEN ${when} ` : ''}` +
      `BEGIN SELECT RAISE(ABORT, 'fault-injected: audit_events refuses writes'); END`,
  ).run();
  return { drop: async () => void (await env.DB.prepare(`DROP TRIGGER IF EXISTS ${name}`).run()) };
}
