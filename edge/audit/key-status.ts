/**
 * @module Key status: which key ids the values stored in D1 still use (KEYED_COLUMNS lists every
 * one), so an administrator knows when a key id is no longer needed and may be retired.
 */
import type { Keyring } from '../crypto/keyring';

/** SQL for the key id of a sealed value (`v1.<kid>.<iv>.<ct>`). */
export const sealedKidSql = (col: string) => `substr(${col}, 4, instr(substr(${col}, 4), '.') - 1)`;

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
  /** For a `kid` column: the sealed or blind-index column whose key id it always equals (counted through it). */
  names?: string;
}

/** A recovery code still to be matched, or one whose owner is sealed beside it (so it can be moved). */
const UNUSED_OR_MOVABLE = 'used_at IS NULL OR sub_sealed IS NOT NULL';
/** An invitation that can still be used. */
const LIVE_INVITE = 'used_at IS NULL AND expires_at > ?1';

/**
 * Every value Stepgate stores in D1 under a key id. `keyStatus` counts each per key id, so "unused"
 * means that nothing stored needs the key. test/node/key-status-coverage.test.ts compares this list
 * with every `seal(`, `sealOwner(` and `blindIndex(` call site and with the migrations: a new keyed
 * column fails it until it is added here (and re-encrypted in `reencryptBatch`, reencryption.ts).
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
  { name: 'recovery_codes.user_ref', table: 'recovery_codes', column: 'user_ref', form: 'blind-index', live: UNUSED_OR_MOVABLE },
  { name: 'recovery_codes.sub_sealed', table: 'recovery_codes', column: 'sub_sealed', form: 'sealed' },
  // Every token, revoked and expired ones too: their labels are still listed.
  { name: 'api_tokens.user_ref', table: 'api_tokens', column: 'user_ref', form: 'blind-index' },
  { name: 'api_tokens.sub_sealed', table: 'api_tokens', column: 'sub_sealed', form: 'sealed' },
  { name: 'api_tokens.label', table: 'api_tokens', column: 'label', form: 'sealed' },
  // Every role grant (issue 12): the person as an index and sealed beside it; who granted it, sealed.
  { name: 'role_grants.person_ref', table: 'role_grants', column: 'person_ref', form: 'blind-index' },
  { name: 'role_grants.person_sealed', table: 'role_grants', column: 'person_sealed', form: 'sealed' },
  { name: 'role_grants.granted_by', table: 'role_grants', column: 'granted_by_sealed', form: 'sealed' },
  // Who saved an app's policy.
  { name: 'app_policies.updated_by', table: 'app_policies', column: 'updated_by_sealed', form: 'sealed' },
  // Policy versions: the author (an index and sealed) and who approved a weakening version.
  { name: 'policy_versions.author_ref', table: 'policy_versions', column: 'author_ref', form: 'blind-index' },
  { name: 'policy_versions.author', table: 'policy_versions', column: 'author_sealed', form: 'sealed' },
  { name: 'policy_versions.approved_by', table: 'policy_versions', column: 'approved_by_sealed', form: 'sealed' },
  // Organisation baselines (baseline-reencryption.ts): who saved one; who proposed its waiting change, as an index and sealed.
  { name: 'org_policy_baselines.updated_by', table: 'org_policy_baselines', column: 'updated_by_sealed', form: 'sealed' },
  { name: 'org_policy_baselines.proposed_by_ref', table: 'org_policy_baselines', column: 'proposed_by_ref', form: 'blind-index' },
  { name: 'org_policy_baselines.proposed_by', table: 'org_policy_baselines', column: 'proposed_by_sealed', form: 'sealed' },
  // Factor recoveries (recovery-reencryption.ts): the person, who started and who approved, each as an index and sealed.
  { name: 'recoveries.person_ref', table: 'recoveries', column: 'person_ref', form: 'blind-index' },
  { name: 'recoveries.person_sealed', table: 'recoveries', column: 'person_sealed', form: 'sealed' },
  { name: 'recoveries.started_by_ref', table: 'recoveries', column: 'started_by_ref', form: 'blind-index' },
  { name: 'recoveries.started_by', table: 'recoveries', column: 'started_by_sealed', form: 'sealed' },
  { name: 'recoveries.approved_by_ref', table: 'recoveries', column: 'approved_by_ref', form: 'blind-index' },
  { name: 'recoveries.approved_by', table: 'recoveries', column: 'approved_by_sealed', form: 'sealed' },
  // Organisation webhooks (webhook-reencryption.ts): the URL, the signing secret and who set it, each sealed.
  { name: 'org_webhooks.url', table: 'org_webhooks', column: 'url', form: 'sealed' },
  { name: 'org_webhooks.secret', table: 'org_webhooks', column: 'secret_sealed', form: 'sealed' },
  { name: 'org_webhooks.updated_by', table: 'org_webhooks', column: 'updated_by_sealed', form: 'sealed' },
  // Dual control (approval-reencryption.ts). `key_id` is written with `requester_ref` (same key, one statement), and every
  // approver_ref of the request is under it too: a request and its votes move together. The parts are sealed: the exact
  // request (NULL once closed), the view, the requester's reason, and each decision.
  { name: 'approval_requests.requester_ref', table: 'approval_requests', column: 'key_id', form: 'kid', names: 'requester_ref' },
  { name: 'approval_requests.request', table: 'approval_requests', column: 'request_sealed', form: 'sealed' },
  { name: 'approval_requests.view', table: 'approval_requests', column: 'view_sealed', form: 'sealed' },
  { name: 'approval_requests.justification', table: 'approval_requests', column: 'justification_sealed', form: 'sealed' },
  { name: 'approval_votes.approver_ref', table: 'approval_votes', column: 'approver_ref', form: 'blind-index' },
  { name: 'approval_votes.sealed', table: 'approval_votes', column: 'sealed', form: 'sealed' },
  // Invitations are not re-encrypted (the code's hash binds the blind index); live ones are waited out (a day at most).
  { name: 'enrolment_invites.user_ref', table: 'enrolment_invites', column: 'user_ref', form: 'blind-index', live: LIVE_INVITE },
  { name: 'enrolment_invites.issued_by', table: 'enrolment_invites', column: 'issued_by', form: 'blind-index', live: LIVE_INVITE },
];

const kidSql = (c: KeyedColumn): string =>
  c.form === 'kid' ? c.column : c.form === 'sealed' ? sealedKidSql(c.column) : `substr(${c.column}, 1, instr(${c.column}, '.') - 1)`;

/** Which key ids stored data still uses, and whether each non-primary key may be retired. */
export async function keyStatus(rt: { db: D1Database; keys: Keyring; now(): number }): Promise<{
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
  // Archived segments (R2) stay sealed under the keys they had: those keys are in use while a segment needs them.
  const { results: segments } = await db
    .prepare("SELECT kids FROM audit_segments WHERE state = 'archived' AND kids IS NOT NULL")
    .all<{ kids: string }>();
  for (const seg of segments) {
    for (const [kid, n] of Object.entries(JSON.parse(seg.kids) as Record<string, number>)) {
      const perKid = usage[kid] ?? {};
      usage[kid] = perKid;
      perKid.audit_archive = (perKid.audit_archive ?? 0) + n;
    }
  }
  const legacy = await db
    .prepare(
      'SELECT (SELECT COUNT(*) FROM totp_factors WHERE sub_sealed IS NULL) ' +
        '+ (SELECT COUNT(*) FROM webauthn_credentials WHERE sub_sealed IS NULL) ' +
        '+ (SELECT COUNT(*) FROM recovery_codes WHERE sub_sealed IS NULL AND used_at IS NULL) AS n',
    )
    .first<{ n: number }>();
  // An archived segment that does not say which keys it needs (none should) keeps every key in use: closed.
  const unknownSegments = (await db
    .prepare("SELECT COUNT(*) AS n FROM audit_segments WHERE state = 'archived' AND kids IS NULL")
    .first<{ n: number }>())!.n;
  const retirable: Record<string, boolean> = {};
  for (const kid of keys.kids) if (kid !== keys.primary) retirable[kid] = !usage[kid] && unknownSegments === 0;
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
