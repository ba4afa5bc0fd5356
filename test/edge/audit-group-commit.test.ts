/**
 * The sequencer's group commit: appends that arrive while a batch commits, and those that arrive just
 * after it (within `GROUP_COMMIT_LINGER_MS`), go into one D1 batch, after the first append's batch of
 * its own; and a batch D1 refuses rejects every caller in it, writes none of their events, and leaves
 * the chain to continue intact.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { verifyRows, type AuditRow } from '../../edge/audit/audit-chain';
import type { AuditSequencer } from '../../edge/audit/audit-sequencer';
import type { AuditInput } from '../../edge/audit/events';
import { parseKeyring } from '../../edge/crypto/keyring';
import { refuseAudit } from '../support/audit-faults';

const ring = parseKeyring(env.STEPGATE_KEYS);
const sequencer = (tenant: string) => env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName(`tenant:${tenant}`));
const rowsOf = async (tenant: string) =>
  (await env.DB.prepare('SELECT * FROM audit_events WHERE tenant = ? ORDER BY seq').bind(tenant).all<AuditRow>()).results;
const event = (n: number, type: AuditInput['type'] = 'factor.verified'): AuditInput => ({
  type,
  outcome: 'success',
  actor: 'alice',
  via: 'session',
  details: { n },
});

/**
 * Run `f` in the tenant's sequencer with its D1 batches recorded (how many events each had), and the
 * first batch held until `release()`, so a test can place appends during and just after it.
 */
async function withBatches<T>(
  tenant: string,
  f: (s: AuditSequencer, o: { batches: number[]; started: Promise<void>; release(): void }) => Promise<T>,
): Promise<T> {
  return runInDurableObject(sequencer(tenant), async (instance) => {
    const s = instance as unknown as AuditSequencer;
    const batches: number[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started!: () => void;
    const first = new Promise<void>((resolve) => {
      started = resolve;
    });
    const db = env.DB;
    const counting = new Proxy(db, {
      get(target, key) {
        if (key !== 'batch') return Reflect.get(target, key, target);
        return async (statements: D1PreparedStatement[]) => {
          batches.push(statements.length);
          if (batches.length === 1) {
            started();
            await held;
          }
          return target.batch(statements);
        };
      },
    });
    const self = s as unknown as { env: { DB: D1Database } };
    const before = self.env;
    self.env = { ...before, DB: counting };
    try {
      return await f(s, { batches, started: first, release });
    } finally {
      self.env = before;
    }
  });
}

describe('audit group commit', () => {
  it('appends during a commit and just after it go into one batch, after the first append alone', async () => {
    const t = 't-linger';
    await sequencer(t).append(t, [event(0)]); // the head is loaded: the batches below are all there is
    const seqs = await withBatches(t, async (s, { batches, started, release }) => {
      const a = s.append(t, [event(1)]);
      // Idle: the first append's batch goes to D1 without waiting for anything else.
      await started;
      expect(batches).toEqual([1]);
      const during = [s.append(t, [event(2)]), s.append(t, [event(3), event(4)])];
      release();
      await a;
      // Just after the commit, before the next batch: it joins the appends that waited during it.
      const after = s.append(t, [event(5)]);
      const all = await Promise.all([a, ...during, after]);
      expect(batches).toEqual([1, 4]);
      return all;
    });
    expect(seqs).toEqual([[2], [3], [4, 5], [6]]);
    const rows = await rowsOf(t);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await verifyRows(ring, rows)).toMatchObject({ ok: true, rows: 6 });
  });

  it('a batch D1 refuses rejects every caller in it, writes none of their events, and the chain continues intact', async () => {
    const t = 't-linger-fault';
    await sequencer(t).append(t, [event(0)]);
    const fault = await refuseAudit('group_commit_refused', "NEW.type = 'grant.used'");
    try {
      const outcomes = await withBatches(t, async (s, { started, release }) => {
        const a = s.append(t, [event(1)]);
        await started;
        // Three callers in the next batch; only the last one's event is refused by D1.
        const group = [s.append(t, [event(2)]), s.append(t, [event(3)]), s.append(t, [event(4, 'grant.used')])];
        release();
        await a;
        return Promise.allSettled(group);
      });
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
      for (const o of outcomes) expect(String((o as PromiseRejectedResult).reason)).toMatch(/fault-injected/);
    } finally {
      await fault.drop();
    }
    // Nothing of the refused batch is in D1; the sequencer re-reads its head and the chain goes on.
    expect((await rowsOf(t)).map((r) => r.seq)).toEqual([1, 2]);
    expect(await sequencer(t).append(t, [event(5)])).toEqual([3]);
    const rows = await rowsOf(t);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(await verifyRows(ring, rows)).toMatchObject({ ok: true, rows: 3 });
    expect(await sequencer(t).currentHead(t)).toMatchObject({ seq: 3, hash: rows[2]!.hash });
  });
});
