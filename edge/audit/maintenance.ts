/**
 * @module Background upkeep, run by the cron trigger (and on demand by an administrator):
 *  1. a signed checkpoint of each tenant's chain head;
 *  2. key rotation: re-encrypt a batch of stored data under the primary key — audit events (and
 *     their blind indexes), checkpoint signatures, TOTP secrets, passkey nicknames, recovery-code
 *     and token owners — each row by compare-and-swap, so it is safe against concurrent writers;
 *  3. retention: verify, checkpoint, then prune events older than AUDIT_RETENTION_DAYS;
 *  4. expiry: delete authenticator-app enrolments left pending past their 10 minutes.
 * Nothing becomes unreadable at any step: old rows open under the old key until they are moved,
 * and `keyStatus` says when a key id is no longer used and may be retired.
 */
import { open, seal } from '../crypto/aead';
import { blindIndex } from '../crypto/blind-index';
import type { Keyring } from '../crypto/keyring';
import { PENDING_TOTP_TTL_MS, sweepPendingTotp } from '../factors/factor-store';
import {
  apiTokenLabelAad,
  apiTokenOwnerAad,
  auditEventAad,
  ownerAad,
  passkeyNicknameAad,
  totpSecretAad,
} from '../crypto/encryption-context';
import { openRow, verifyRows, START, type AuditRow, type ChainPoint } from './audit-chain';
import { checkpointJwks, signCheckpoint, verifyCheckpoint } from './checkpoint';
import type { AuditLog } from './audit-log';
import type { AuditSequencer } from './audit-sequencer';
import type { AuditInput } from './events';

/** What maintenance needs of the runtime. */
export interface MaintenanceDeps {
  db: D1Database;
  keys: Keyring;
  audit: AuditLog;
  auditSequencer(): DurableObjectStub<AuditSequencer>;
  auditRetentionDays: number;
  now(): number;
}

/** SQL for the key id of a sealed value (`v1.<kid>.<iv>.<ct>`). */
const SEALED_KID = (col: string) => `substr(${col}, 4, instr(substr(${col}, 4), '.') - 1)`;

/** Rows moved to the primary key per table per run. */
const REKEY_BATCH = 200;
/** Events verified and pruned per run at most. */
const PRUNE_BATCH = 5000;

export interface MaintenanceReport {
  checkpoint: ChainPoint | null;
  reencrypted: Record<string, number>;
  pruned: { through_seq: number; rows: number } | null;
  retention_refused?: string;
  /** Rows deleted because they expired: pending authenticator-app enrolments never confirmed. */
  expired: { totp_pending: number };
}

type Who = { actor: string | null; base?: Partial<AuditInput> };

export async function runMaintenance(rt: MaintenanceDeps, who: Who = { actor: null }): Promise<MaintenanceReport> {
  const tenant = rt.audit.tenant;
  const report: MaintenanceReport = {
    checkpoint: await rt.auditSequencer().checkpoint(tenant, 'periodic'),
    reencrypted: {},
    pruned: null,
    expired: { totp_pending: 0 },
  };
  // Expired first, so nothing is re-encrypted that can never be used.
  report.expired.totp_pending = await sweepPendingTotp(rt.db, rt.now() - PENDING_TOTP_TTL_MS);
  report.reencrypted = await reencryptBatch(rt);
  // Keep the planner's statistics current (D1 recommends it), so combined filters pick the
  // narrowest index. Upkeep, not a decision: a failure is logged and nothing else changes.
  await rt.db
    .exec('PRAGMA optimize')
    .catch((err: unknown) => console.warn('stepgate: PRAGMA optimize failed:', err instanceof Error ? err.message : 'non-error'));
  const moved = Object.entries(report.reencrypted).filter(([, n]) => n > 0);
  const actor = { actor: who.actor, via: who.actor ? ('session' as const) : ('system' as const), ...who.base };
  if (moved.length) {
    await rt.audit.record({
      type: 'keys.reencrypted',
      outcome: 'success',
      ...actor,
      details: { ...Object.fromEntries(moved), to: rt.keys.primary },
    });
  }
  if (rt.auditRetentionDays > 0) {
    const r = await prune(rt, tenant, rt.now() - rt.auditRetentionDays * 86_400_000);
    if (typeof r === 'string') {
      report.retention_refused = r;
      await rt.audit.record({ type: 'audit.pruned', outcome: 'failure', ...actor, reason: r });
    } else if (r) {
      report.pruned = r;
      await rt.audit.record({
        type: 'audit.pruned',
        outcome: 'success',
        ...actor,
        details: { through_seq: r.through_seq, rows: r.rows, retention_days: rt.auditRetentionDays },
      });
    }
  }
  return report;
}

async function reencryptBatch(rt: MaintenanceDeps): Promise<Record<string, number>> {
  const { db, keys } = rt;
  const p = keys.primary;
  const out: Record<string, number> = {};

  // Only rows under a key id this keyring has: others cannot be opened, and must not fill the batch.
  const known = keys.kids.map((k) => `'${k}'`).join(', '); // key ids are [A-Za-z0-9_-]{1,32} (keyring.ts)
  // Audit events: same event, sealed under the primary key, blind indexes re-derived from it.
  // A row's kid and its blind indexes are always written together (here and by the sequencer),
  // so "under an old key" is exactly the kid column: an index seek, not a scan of the log.
  const old = keys.kids.filter((k) => k !== p).map((k) => `'${k}'`);
  const { results: events } = old.length
    ? await db
        .prepare(`SELECT * FROM audit_events WHERE kid IN (${old.join(', ')}) LIMIT ?`)
        .bind(REKEY_BATCH)
        .all<AuditRow>()
    : { results: [] as AuditRow[] };
  let n = 0;
  for (const r of events) {
    const e = await openRow(keys, r).catch(() => null);
    if (!e) continue; // tampered or unknown key: left for verify to report, never overwritten
    const r2 = await db
      .prepare('UPDATE audit_events SET kid = ?, sealed = ?, actor_ref = ?, ip_ref = ? WHERE tenant = ? AND seq = ? AND sealed = ?')
      .bind(
        p,
        await seal(keys, 'audit-encryption', JSON.stringify(e), auditEventAad(r.tenant, r.seq)),
        e.actor === null ? null : await blindIndex(keys, 'user', e.actor),
        e.request?.ip ? await blindIndex(keys, 'ip', e.request.ip) : null,
        r.tenant,
        r.seq,
        r.sealed,
      )
      .run();
    n += r2.meta.changes;
  }
  out.audit_events = n;

  // Checkpoints: re-signed under the primary key after their old signature verifies.
  const jwks = await checkpointJwks(keys);
  const { results: cps } = await db
    .prepare(`SELECT tenant, seq, kid, jws FROM audit_checkpoints WHERE kid != ? AND kid IN (${known}) LIMIT ?`)
    .bind(p, REKEY_BATCH)
    .all<{ tenant: string; seq: number; kid: string; jws: string }>();
  n = 0;
  for (const c of cps) {
    const payload = await verifyCheckpoint(c.jws, jwks).catch(() => null);
    if (!payload) continue;
    const r2 = await db
      .prepare('UPDATE audit_checkpoints SET kid = ?, jws = ? WHERE tenant = ? AND seq = ? AND jws = ?')
      .bind(p, await signCheckpoint(keys, payload), c.tenant, c.seq, c.jws)
      .run();
    n += r2.meta.changes;
  }
  out.audit_checkpoints = n;

  out.totp_factors = await rekeyOwned(rt, known, 'totp_factors', 'id', 'secret_sealed', 'totp-secret', totpSecretAad);
  out.webauthn_credentials = await rekeyOwned(
    rt,
    known,
    'webauthn_credentials',
    'id',
    'nickname_sealed',
    'factor-metadata',
    passkeyNicknameAad,
  );
  out.recovery_codes = await rekeyOwned(rt, known, 'recovery_codes', 'code_hash', null, 'factor-metadata', () => '');
  out.api_tokens = await rekeyTokens(rt, known);
  return out;
}

/**
 * Move a user-owned row to the primary key: its blind index re-derived from the sealed user id,
 * its sealed value (AAD bound to the id and blind index) re-sealed to match. Rows written before
 * the user id was sealed beside them cannot be re-indexed; `keyStatus` counts them.
 */
async function rekeyOwned(
  rt: MaintenanceDeps,
  known: string,
  table: 'totp_factors' | 'webauthn_credentials' | 'recovery_codes',
  idCol: string,
  sealedCol: string | null,
  purpose: 'totp-secret' | 'factor-metadata',
  aad: (id: string, ref: string) => string,
): Promise<number> {
  const { db, keys } = rt;
  const p = keys.primary;
  const sealedCond = sealedCol ? ` OR (${sealedCol} IS NOT NULL AND ${sealedCol} NOT LIKE ?1)` : '';
  const { results } = await db
    .prepare(
      `SELECT * FROM ${table} WHERE sub_sealed IS NOT NULL AND ${SEALED_KID('sub_sealed')} IN (${known}) ` +
        `AND (user_ref NOT LIKE ?2 OR sub_sealed NOT LIKE ?1${sealedCond}) LIMIT ?3`,
    )
    .bind(`v1.${p}.%`, `${p}.%`, REKEY_BATCH)
    .all<Record<string, string | null>>();
  let n = 0;
  for (const row of results) {
    const id = row[idCol]!;
    const oldRef = row.user_ref!;
    try {
      const sub = await open(keys, 'factor-metadata', row.sub_sealed!, ownerAad(table, id));
      const ref = await blindIndex(keys, 'user', sub);
      const value = sealedCol && row[sealedCol] ? await open(keys, purpose, row[sealedCol]!, aad(id, oldRef)) : null;
      const sets = ['user_ref = ?', 'sub_sealed = ?'];
      const args: (string | null)[] = [ref, await seal(keys, 'factor-metadata', sub, ownerAad(table, id))];
      if (sealedCol) {
        sets.push(`${sealedCol} = ?`);
        args.push(value === null ? null : await seal(keys, purpose, value, aad(id, ref)));
      }
      const r = await db
        .prepare(`UPDATE ${table} SET ${sets.join(', ')} WHERE ${idCol} = ? AND user_ref = ? AND sub_sealed = ?`)
        .bind(...args, id, oldRef, row.sub_sealed)
        .run();
      n += r.meta.changes;
    } catch (err) {
      console.error(`stepgate: re-encryption skipped a ${table} row:`, err instanceof Error ? err.message : 'non-error');
    }
  }
  return n;
}

async function rekeyTokens(rt: MaintenanceDeps, known: string): Promise<number> {
  const { db, keys } = rt;
  const p = keys.primary;
  const { results } = await db
    .prepare(
      `SELECT id, user_ref, sub_sealed, label FROM api_tokens WHERE ${SEALED_KID('sub_sealed')} IN (${known}) ` +
        `AND ${SEALED_KID('label')} IN (${known}) AND (user_ref NOT LIKE ?1 ` +
        `OR sub_sealed NOT LIKE ?2 OR label NOT LIKE ?2) LIMIT ?3`,
    )
    .bind(`${p}.%`, `v1.${p}.%`, REKEY_BATCH)
    .all<{ id: string; user_ref: string; sub_sealed: string; label: string }>();
  let n = 0;
  for (const t of results) {
    try {
      const sub = await open(keys, 'factor-metadata', t.sub_sealed, apiTokenOwnerAad(t.id));
      const label = await open(keys, 'factor-metadata', t.label, apiTokenLabelAad(t.id));
      const r = await db
        .prepare('UPDATE api_tokens SET user_ref = ?, sub_sealed = ?, label = ? WHERE id = ? AND sub_sealed = ?')
        .bind(
          await blindIndex(keys, 'user', sub),
          await seal(keys, 'factor-metadata', sub, apiTokenOwnerAad(t.id)),
          await seal(keys, 'factor-metadata', label, apiTokenLabelAad(t.id)),
          t.id,
          t.sub_sealed,
        )
        .run();
      n += r.meta.changes;
    } catch (err) {
      console.error('stepgate: re-encryption skipped an api_tokens row:', err instanceof Error ? err.message : 'non-error');
    }
  }
  return n;
}

/** A D1 column whose values were made under a key id, as `keyStatus` counts it. */
export interface KeyedColumn {
  /** How `keyStatus` reports it. */
  name: string;
  table: string;
  column: string;
  /**
   * `sealed`: `v1.<kid>.<iv>.<ct>` (seal); `blind-index`: `<kid>.<mac>` (blindIndex); `kid`: the key
   * id itself (of a signature, or of the row's sealed value).
   */
  form: 'sealed' | 'blind-index' | 'kid';
  /** Only rows that still matter, when some are dead and never moved (SQL; `?1` is now, in ms). */
  live?: string;
  /** For a `kid` column: the sealed column whose key id it always equals (counted through it, as it is indexed). */
  names?: string;
}

/**
 * Every value Stepgate stores in D1 under a key id. `keyStatus` counts each per key id, so "unused"
 * means that nothing stored needs the key. test/node/key-status-coverage.test.ts compares this list
 * with every `seal(`, `sealOwner(` and `blindIndex(` call site and with the migrations: a new keyed
 * column fails it until it is added here (and re-encrypted in `reencryptBatch`).
 */
export const KEYED_COLUMNS: readonly KeyedColumn[] = [
  // The sealed event: `kid` is always written with `sealed` (sequencer, re-encryption; verify checks they agree), and is indexed.
  { name: 'audit_events', table: 'audit_events', column: 'kid', form: 'kid', names: 'sealed' },
  { name: 'audit_events.actor_ref', table: 'audit_events', column: 'actor_ref', form: 'blind-index' },
  { name: 'audit_events.ip_ref', table: 'audit_events', column: 'ip_ref', form: 'blind-index' },
  // The checkpoint's signature.
  { name: 'audit_checkpoints', table: 'audit_checkpoints', column: 'kid', form: 'kid' },
  { name: 'totp_factors.secret', table: 'totp_factors', column: 'secret_sealed', form: 'sealed' },
  { name: 'totp_factors.user_ref', table: 'totp_factors', column: 'user_ref', form: 'blind-index' },
  { name: 'totp_factors.sub_sealed', table: 'totp_factors', column: 'sub_sealed', form: 'sealed' },
  { name: 'webauthn_credentials.user_ref', table: 'webauthn_credentials', column: 'user_ref', form: 'blind-index' },
  { name: 'webauthn_credentials.nickname', table: 'webauthn_credentials', column: 'nickname_sealed', form: 'sealed' },
  { name: 'webauthn_credentials.sub_sealed', table: 'webauthn_credentials', column: 'sub_sealed', form: 'sealed' },
  // A used code is never matched again; one from before sealed owners (migration 0006) cannot be moved, so it is not waited for.
  {
    name: 'recovery_codes.user_ref',
    table: 'recovery_codes',
    column: 'user_ref',
    form: 'blind-index',
    live: 'used_at IS NULL OR sub_sealed IS NOT NULL',
  },
  { name: 'recovery_codes.sub_sealed', table: 'recovery_codes', column: 'sub_sealed', form: 'sealed' },
  // Every token, revoked and expired ones too: their labels are still listed.
  { name: 'api_tokens.user_ref', table: 'api_tokens', column: 'user_ref', form: 'blind-index' },
  { name: 'api_tokens.sub_sealed', table: 'api_tokens', column: 'sub_sealed', form: 'sealed' },
  { name: 'api_tokens.label', table: 'api_tokens', column: 'label', form: 'sealed' },
  // Invitations are not re-encrypted (the code's hash binds the blind index); live ones are waited out (a day at most).
  {
    name: 'enrolment_invites.user_ref',
    table: 'enrolment_invites',
    column: 'user_ref',
    form: 'blind-index',
    live: 'used_at IS NULL AND expires_at > ?1',
  },
  {
    name: 'enrolment_invites.issued_by',
    table: 'enrolment_invites',
    column: 'issued_by',
    form: 'blind-index',
    live: 'used_at IS NULL AND expires_at > ?1',
  },
];

const kidSql = (c: KeyedColumn): string =>
  c.form === 'kid' ? c.column : c.form === 'sealed' ? SEALED_KID(c.column) : `substr(${c.column}, 1, instr(${c.column}, '.') - 1)`;

/** Which key ids stored data still uses, and whether each non-primary key may be retired. */
export async function keyStatus(rt: Pick<MaintenanceDeps, 'db' | 'keys' | 'now'>): Promise<{
  primary: string;
  kids: string[];
  usage: Record<string, Record<string, number>>;
  retirable: Record<string, boolean>;
  retired: Record<string, { retired_at: string; public_keys: string[] }>;
  notes: string[];
}> {
  const { db, keys } = rt;
  const usage: Record<string, Record<string, number>> = {};
  for (const c of KEYED_COLUMNS) {
    const sql =
      `SELECT ${kidSql(c)} AS kid, COUNT(*) AS n FROM ${c.table} ` +
      `WHERE ${c.column} IS NOT NULL${c.live ? ` AND (${c.live})` : ''} GROUP BY 1`;
    const stmt = db.prepare(sql);
    const { results } = await (sql.includes('?1') ? stmt.bind(rt.now()) : stmt).all<{ kid: string; n: number }>();
    for (const r of results) {
      const perKid = usage[r.kid] ?? {};
      usage[r.kid] = perKid;
      perKid[c.name] = r.n;
    }
  }
  const legacy = await db
    .prepare(
      'SELECT (SELECT COUNT(*) FROM totp_factors WHERE sub_sealed IS NULL) ' +
        '+ (SELECT COUNT(*) FROM webauthn_credentials WHERE sub_sealed IS NULL) ' +
        '+ (SELECT COUNT(*) FROM recovery_codes WHERE sub_sealed IS NULL AND used_at IS NULL) AS n',
    )
    .first<{ n: number }>();
  const retirable: Record<string, boolean> = {};
  for (const kid of keys.kids) if (kid !== keys.primary) retirable[kid] = !usage[kid];
  const notes = [
    "Not counted, because they expire by themselves: held requests (sealed in each person's Durable Object, " +
      "10 minutes at most), session grants (their rule's maxAge), signed prompts and assertions (minutes). " +
      'After promoting, wait the longest rule maxAge, and at least 10 minutes, before retiring the old key.',
  ];
  if (legacy && legacy.n > 0)
    notes.push(
      `${legacy.n} factor rows predate sealed owners (migration 0006) ` +
        `and cannot be re-indexed; their users should re-enrol before the key they use is retired.`,
    );
  const lost = Object.keys(usage).filter((kid) => !keys.kids.includes(kid));
  if (lost.length)
    notes.push(
      `stored data names key id(s) ${lost.join(', ')}, which the keyring no longer holds: it cannot be opened (retired too early?).`,
    );
  const retired = Object.fromEntries(
    Object.entries(keys.retired).map(([kid, r]) => [kid, { retired_at: r.retiredAt, public_keys: Object.keys(r.publicKeys) }]),
  );
  return { primary: keys.primary, kids: [...keys.kids], usage, retirable, retired, notes };
}

/**
 * Prune events older than `cutoff`: verify them, sign a retention checkpoint at the last one, then
 * delete them (and the checkpoints before it) in one batch. Refuses (returns why) if they do not verify.
 */
async function prune(rt: MaintenanceDeps, tenant: string, cutoff: number): Promise<{ through_seq: number; rows: number } | string | null> {
  const { db, keys } = rt;
  const jwks = await checkpointJwks(keys);
  const anchorRow = await db
    .prepare("SELECT seq, jws FROM audit_checkpoints WHERE tenant = ? AND kind = 'retention' ORDER BY seq DESC LIMIT 1")
    .bind(tenant)
    .first<{ seq: number; jws: string }>();
  let start: ChainPoint = START;
  if (anchorRow) {
    const cp = await verifyCheckpoint(anchorRow.jws, jwks).catch(() => null);
    if (!cp) return 'the last retention checkpoint does not verify';
    start = { seq: cp.seq, hash: cp.hash };
  }
  const { results: rows } = await db
    .prepare('SELECT * FROM audit_events WHERE tenant = ? AND seq > ? AND ts < ? ORDER BY seq LIMIT ?')
    .bind(tenant, start.seq, cutoff, PRUNE_BATCH)
    .all<AuditRow>();
  if (rows.length === 0) return null;
  // Never prune the head itself: the sequencer links the next event to it.
  const head = await rt.auditSequencer().currentHead(tenant);
  const keep = rows.filter((r) => r.seq < head.seq);
  if (keep.length === 0) return null;
  const v = await verifyRows(keys, keep, start);
  if (!v.ok) return `events do not verify (sequence ${v.seq}: ${v.problem}); nothing pruned`;
  const last = keep[keep.length - 1]!;
  const now = rt.now();
  const jws = await signCheckpoint(keys, { tenant, seq: last.seq, hash: last.hash, time: new Date(now).toISOString(), kind: 'retention' });
  await db.batch([
    db
      .prepare(
        'INSERT INTO audit_checkpoints (tenant, seq, ts, kind, kid, jws) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, seq) ' +
          'DO UPDATE SET ts = excluded.ts, kind = excluded.kind, kid = excluded.kid, jws = excluded.jws',
      )
      .bind(tenant, last.seq, now, 'retention', keys.primary, jws),
    db.prepare('DELETE FROM audit_events WHERE tenant = ? AND seq <= ?').bind(tenant, last.seq),
    db.prepare('DELETE FROM audit_checkpoints WHERE tenant = ? AND seq < ?').bind(tenant, last.seq),
  ]);
  return { through_seq: last.seq, rows: keep.length };
}
