/**
 * The audit stream (a Logpush-style pull with a resume cursor) and the export, through the real
 * gateway, D1, R2 and the sequencer: a reader follows their organisation's events exactly once, in
 * chain order, with no gap or repeat while older segments move to R2 between pulls; an edited or
 * forged cursor is refused (400) and another organisation's cursor too (403); the export reads the
 * archive and D1 as one chain.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { archiveSegments } from '../../edge/audit/archive';
import type { SegmentObject } from '../../edge/audit/archive-store';
import type { AuditInput, ChainedEvent } from '../../edge/audit/events';
import { base64url, fromBase64url } from '../../edge/crypto/base64';
import { makeToken, person, withToken } from './admin-callers';
import { orgWithApp, ring } from './audit-orgs';
import { seedRole } from './seed-roles';

const TENANT = 'default';
const sequencer = () => env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName(`tenant:${TENANT}`));
let xToken: string;
let yToken: string;
let dToken: string;

const event = (org: string, i: number): AuditInput => ({
  type: 'factor.verified',
  outcome: 'success',
  actor: `${org}/u${i % 3}`,
  via: 'session',
  app: `${org[0]}.test`,
  org,
  factor: 'totp',
  details: { n: i },
});

/** Events of both organisations, interleaved, with a checkpoint (where a segment may end) after every 10. */
async function traffic(n: number, from: number): Promise<void> {
  for (let start = from; start < from + n; start += 10) {
    const inputs: AuditInput[] = [];
    for (let i = start; i < Math.min(start + 10, from + n); i++) inputs.push(event(i % 2 ? 'xorg' : 'yorg', i));
    await sequencer().append(TENANT, inputs);
    await sequencer().checkpoint(TENANT, 'periodic');
  }
}

const pull = async (token: string, cursor: string | null, limit = 7) => {
  const r = await withToken(token, 'x.test', 'GET', `/.stepgate/api/admin/audit/stream?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
  return { status: r.status, body: (await r.json()) as { events: ChainedEvent[]; next_cursor: string; more: boolean; code?: string } };
};

const archiveAll = () =>
  archiveSegments(
    { db: env.DB, keys: ring, auditSequencer: sequencer, now: Date.now },
    { bucket: env.AUDIT_ARCHIVE!, afterDays: 1 },
    TENANT,
    Date.now() + 86_400_000,
    { segmentMax: 40 },
  );

/** Every stored event of `org`, from the archive's objects and D1: what a complete feed must hold. */
async function storedSeqsOf(org: string): Promise<number[]> {
  const seqs: number[] = [];
  const { results: segs } = await env.DB.prepare("SELECT object_key FROM audit_segments WHERE tenant = ? AND state = 'archived'")
    .bind(TENANT)
    .all<{ object_key: string }>();
  for (const s of segs) {
    const body = JSON.parse(await (await env.AUDIT_ARCHIVE!.get(s.object_key))!.text()) as SegmentObject;
    seqs.push(...body.rows.filter((r) => r.org === org).map((r) => r.seq));
  }
  const { results } = await env.DB.prepare('SELECT seq FROM audit_events WHERE tenant = ? AND org = ?')
    .bind(TENANT, org)
    .all<{ seq: number }>();
  return [...seqs, ...results.map((r) => r.seq)].sort((a, b) => a - b);
}

beforeAll(async () => {
  await orgWithApp('xorg', 'x.test');
  await orgWithApp('yorg', 'y.test');
  await seedRole('xorg/xa', 'auditor', { org: 'xorg' });
  await seedRole('yorg/ya', 'auditor', { org: 'yorg' });
  xToken = (await makeToken(await person('xa', 'x.test'), ['audit:read'])).token;
  yToken = (await makeToken(await person('ya', 'y.test'), ['audit:read'])).token;
  await seedRole('dora', 'auditor');
  dToken = (await makeToken(await person('dora'), ['audit:read'])).token;
  expect(xToken).toMatch(/^sgt\./);
  await traffic(20, 0);
}, 60_000);

describe('audit stream', () => {
  it('resumes exactly once, in chain order, with no gap or repeat across the archive boundary', async () => {
    const got: ChainedEvent[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 2; i++) {
      const { status, body } = await pull(xToken, cursor);
      expect(status).toBe(200);
      got.push(...body.events);
      cursor = body.next_cursor;
    }
    // Between pulls: more traffic, and the older segments (behind and ahead of the cursor) move to R2.
    await traffic(20, 20);
    await traffic(20, 40);
    const moved = await archiveAll();
    expect(moved).toMatchObject({ through_seq: expect.any(Number) });
    expect((moved as { segments: number }).segments).toBeGreaterThan(1);
    // The cursor now points into archived rows: the next pulls read R2, then D1.
    const at = JSON.parse(new TextDecoder().decode(fromBase64url(cursor!.split('.')[1]!))) as { s: number };
    expect(at.s).toBeLessThan((moved as { through_seq: number }).through_seq);
    for (let guard = 0; guard < 100; guard++) {
      const { status, body } = await pull(xToken, cursor);
      expect(status).toBe(200);
      got.push(...body.events);
      cursor = body.next_cursor;
      if (!body.more) break;
      if (guard === 3) await traffic(10, 60);
    }
    const seqs = got.map((e) => e.event.seq);
    expect(new Set(seqs).size).toBe(seqs.length); // no repeats
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b)); // chain order
    expect(got.every((e) => e.event.org === 'xorg')).toBe(true);
    expect(seqs).toEqual(await storedSeqsOf('xorg')); // no gaps: every stored event of the organisation
  });

  it('refuses an edited or forged cursor (400) and another organisation’s (403)', async () => {
    const { body } = await pull(xToken, null, 3);
    const cursor = body.next_cursor;
    const [prefix, payload, kid, mac] = cursor.split('.') as [string, string, string, string];
    const p = JSON.parse(new TextDecoder().decode(fromBase64url(payload))) as { t: string; o: string; s: number };
    const skip = base64url(new TextEncoder().encode(JSON.stringify({ ...p, s: p.s + 5 })));
    const otherOrg = base64url(new TextEncoder().encode(JSON.stringify({ ...p, o: 'yorg' })));
    for (const bad of [
      `${prefix}.${skip}.${kid}.${mac}`,
      `${prefix}.${otherOrg}.${kid}.${mac}`,
      `${prefix}.${payload}.${kid}.${mac.slice(0, -2)}AA`,
      `${prefix}.${payload}.nokey.${mac}`,
      'not-a-cursor',
      `${'x'.repeat(600)}`,
    ]) {
      const r = await pull(xToken, encodeURIComponent(bad));
      expect(r.status, bad.slice(0, 40)).toBe(400);
      expect(r.body.code).toBe('ERR_BAD_REQUEST');
    }
    // A genuine cursor of xorg's feed, presented by yorg's auditor: refused, never yorg's or xorg's events.
    const other = await pull(yToken, cursor);
    expect(other.status).toBe(403);
    expect(other.body.events).toBeUndefined();
  });

  it('the export reads the archive and D1 as one chain', async () => {
    await archiveAll();
    const r = await withToken(xToken, 'x.test', 'GET', '/.stepgate/api/admin/audit/export?format=ndjson');
    expect(r.status).toBe(200);
    const lines = (await r.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ChainedEvent & { error?: string });
    expect(lines.some((l) => l.error)).toBe(false);
    const seqs = lines.filter((l) => l.event).map((l) => l.event.seq);
    const stored = await storedSeqsOf('xorg');
    expect(seqs).toEqual(stored);
    expect(stored.length).toBeGreaterThan(30);
  });

  it('the verify API follows the chain through R2 and D1, as the CLI pages it', async () => {
    await archiveAll();
    let from = 1;
    let rows = 0;
    for (let guard = 0; guard < 50; guard++) {
      const r = await withToken(dToken, 'app.test', 'GET', `/.stepgate/api/admin/audit/verify?from=${from}&limit=5000`);
      const body = (await r.json()) as { ok: boolean; rows: number; next: number | null; head_seq: number; to: number };
      expect(body.ok).toBe(true);
      rows += body.rows;
      if (body.next === null) {
        expect(body.to).toBe(body.head_seq);
        break;
      }
      from = body.next;
    }
    const head = await sequencer().currentHead(TENANT);
    expect(rows).toBeGreaterThanOrEqual(head.seq - 1);
  });
});
