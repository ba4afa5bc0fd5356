/**
 * @module The audit hash chain. Each row's hash is SHA-256 over the previous hash and the row's
 * canonical event (plaintext, including 128 random salt bits), so:
 *  - anyone holding an export can recompute the chain, and signed checkpoints make it trustworthy
 *    without any secret (as CloudTrail digest files do);
 *  - re-encrypting a row under a new key changes its ciphertext but not its hash;
 *  - at the edge, every stored column is checked against the sealed event, and the ciphertext's
 *    AAD binds it to its tenant and sequence, so a row cannot be edited, forged, moved or swapped
 *    without `verify` naming the first sequence where the chain breaks, and how.
 */
import { base64url } from '../crypto/base64';
import { open, seal, sealedKid } from '../crypto/aead';
import { blindIndex } from '../crypto/blind-index';
import type { Keyring } from '../crypto/keyring';
import { canonicalJson } from './canonical-json';
import type { AuditEvent, ChainedEvent } from './events';
import { auditEventAad } from '../crypto/encryption-context';

/** A stored audit row (table `audit_events`). */
export interface AuditRow {
  tenant: string;
  seq: number;
  ts: number;
  type: string;
  outcome: string;
  app: string | null;
  /** The event's organisation; NULL for "default" (`orgColumn`). */
  org: string | null;
  /** The event's app id; NULL for the deployment's own events and rows older than migration 0010. */
  app_id: string | null;
  /** Blind index of the actor (`<kid>.<mac>`), for filtering by user. */
  actor_ref: string | null;
  /** Blind index of the client IP. */
  ip_ref: string | null;
  /** Key id the event is sealed under. */
  kid: string;
  sealed: string;
  prev_hash: string;
  hash: string;
}

/** The organisation of the deployment itself: its events, and every row written before events named one. */
export const DEFAULT_AUDIT_ORG = 'default';

/**
 * The `org` column for an organisation: NULL for "default" (old rows, which predate the column,
 * and new ones alike), so one index lookup, `org IS ?`, finds an organisation's rows.
 */
export const orgColumn = (org: string | undefined | null): string | null => (!org || org === DEFAULT_AUDIT_ORG ? null : org);

/** The hash before a tenant's first event. */
export const GENESIS = 'genesis';

const enc = new TextEncoder();

/** What a row's chain hash is taken over: the previous hash and the canonical event (UTF-8). */
export const chainMaterial = (prevHash: string, event: AuditEvent): string => `stepgate-audit-v1\n${prevHash}\n${canonicalJson(event)}`;

/** The chain hash of `event` after `prevHash`. */
export async function eventHash(prevHash: string, event: AuditEvent): Promise<string> {
  return base64url(await crypto.subtle.digest('SHA-256', enc.encode(chainMaterial(prevHash, event))));
}

/**
 * A synchronous SHA-256 of a UTF-8 string, base64url without padding: what `eventHash` computes
 * with crypto.subtle. The offline verifier in Node passes one over node:crypto (edge/node/sha256.ts),
 * which skips a promise per event; the edge has only crypto.subtle.
 */
export type Sha256Base64url = (text: string) => string;

/** Decrypt a stored row's event. @throws {Error} if it does not open (tampered, moved, unknown key) */
export async function openRow(ring: Keyring, row: Pick<AuditRow, 'tenant' | 'seq' | 'sealed'>): Promise<AuditEvent> {
  return JSON.parse(await open(ring, 'audit-encryption', row.sealed, auditEventAad(row.tenant, row.seq))) as AuditEvent;
}

/** A row's keyed columns, as the sequencer writes them and re-encryption moves them to the primary key. */
export type SealedColumns = Pick<AuditRow, 'kid' | 'sealed' | 'actor_ref' | 'ip_ref'>;

/**
 * Seal `event` under the primary key, bound (AAD) to its tenant and sequence, and derive the blind
 * indexes of its actor and IP under the same key: a row's kid and its blind indexes are always
 * written together, so "under an old key" is exactly the kid column.
 */
export async function sealedColumns(ring: Keyring, tenant: string, seq: number, event: AuditEvent): Promise<SealedColumns> {
  return {
    kid: ring.primary,
    sealed: await seal(ring, 'audit-encryption', JSON.stringify(event), auditEventAad(tenant, seq)),
    actor_ref: event.actor === null ? null : await blindIndex(ring, 'user', event.actor),
    ip_ref: event.request?.ip ? await blindIndex(ring, 'ip', event.request.ip) : null,
  };
}

export type ChainProblem = 'modified' | 'deleted' | 'inserted' | 'reordered' | 'unknown-key' | 'bad-checkpoint';

export type VerifyResult =
  | { ok: true; rows: number; head: { seq: number; hash: string } }
  | { ok: false; seq: number; problem: ChainProblem; detail: string; rows: number };

/** Where a verification starts: the genesis, or a checkpoint (after retention pruned what came before). */
export interface ChainPoint {
  seq: number;
  hash: string;
}
export const START: ChainPoint = { seq: 0, hash: GENESIS };

/** Order and link of one row after `prev`: null when it follows on. */
function linkProblem(prev: ChainPoint, seq: number): { seq: number; problem: ChainProblem; detail: string } | null {
  if (seq <= prev.seq) return { seq, problem: seq === prev.seq ? 'inserted' : 'reordered', detail: `sequence ${seq} after ${prev.seq}` };
  if (seq > prev.seq + 1) return { seq: prev.seq + 1, problem: 'deleted', detail: `sequence ${prev.seq + 1} is missing` };
  return null;
}

/**
 * Verify stored rows, in the order read (by sequence): each opens, every column matches its sealed
 * event, each hash is right and links to the one before. Names the first sequence that breaks.
 */
export async function verifyRows(ring: Keyring, rows: readonly AuditRow[], from: ChainPoint = START): Promise<VerifyResult> {
  // The same people and IPs recur on many rows: derive each blind index once per call.
  const refs = new Map<string, Promise<string>>();
  let prev = from;
  let n = 0;
  for (const r of rows) {
    const link = linkProblem(prev, r.seq);
    if (link) return { ok: false, ...link, rows: n };
    if (!ring.kids.includes(r.kid))
      return { ok: false, seq: r.seq, problem: 'unknown-key', detail: `key id ${r.kid} is not in the keyring`, rows: n };
    let e: AuditEvent;
    try {
      e = await openRow(ring, r);
    } catch {
      // A sealed event that opens as another sequence was moved: from before (something was
      // inserted ahead of it) or from after (rows were swapped). Otherwise it was edited.
      const moved = await openedAs(ring, r);
      if (moved !== null) {
        return {
          ok: false,
          seq: r.seq,
          problem: moved < r.seq ? 'inserted' : 'reordered',
          detail: `the row holds the event of sequence ${moved}`,
          rows: n,
        };
      }
      return { ok: false, seq: r.seq, problem: 'modified', detail: 'the sealed event does not open (edited or forged)', rows: n };
    }
    const column = await columnMismatch(ring, r, e, refs);
    if (column) return { ok: false, seq: r.seq, problem: 'modified', detail: `column ${column} does not match the sealed event`, rows: n };
    const own = await eventHash(r.prev_hash, e);
    if (own !== r.hash) return { ok: false, seq: r.seq, problem: 'modified', detail: 'the row does not match its hash', rows: n };
    // A row whose own hash is right but links elsewhere was put there from another chain position.
    if (r.prev_hash !== prev.hash)
      return { ok: false, seq: r.seq, problem: 'inserted', detail: 'the link to the previous row is broken', rows: n };
    prev = { seq: r.seq, hash: r.hash };
    n++;
  }
  return { ok: true, rows: n, head: prev };
}

/** The nearby sequence a row's sealed event opens as, if any. */
async function openedAs(ring: Keyring, r: AuditRow): Promise<number | null> {
  for (let d = 1; d <= 8; d++) {
    for (const seq of [r.seq - d, r.seq + d]) {
      if (seq < 1) continue;
      try {
        await openRow(ring, { ...r, seq });
        return seq;
      } catch {
        // not this one
      }
    }
  }
  return null;
}

async function columnMismatch(ring: Keyring, r: AuditRow, e: AuditEvent, refs: Map<string, Promise<string>>): Promise<string | null> {
  if (e.tenant !== r.tenant || e.seq !== r.seq) return 'seq';
  // The kid column drives rotation and `keys status`; it must be the key the event is sealed under.
  if (sealedKid(r.sealed) !== r.kid) return 'kid';
  if (Date.parse(e.time) !== r.ts) return 'ts';
  if (e.type !== r.type) return 'type';
  if (e.outcome !== r.outcome) return 'outcome';
  if ((e.app ?? null) !== r.app) return 'app';
  // Readers are served by these columns: one moved to another organisation or app is an edit.
  if (orgColumn(e.org) !== (r.org ?? null)) return 'org';
  if ((e.app_id ?? null) !== (r.app_id ?? null)) return 'app_id';
  if (!(await refMatches(ring, 'user', e.actor, r.actor_ref, refs))) return 'actor_ref';
  if (!(await refMatches(ring, 'ip', e.request?.ip ?? null, r.ip_ref, refs))) return 'ip_ref';
  return null;
}

async function refMatches(
  ring: Keyring,
  domain: string,
  value: string | null,
  ref: string | null,
  cache: Map<string, Promise<string>>,
): Promise<boolean> {
  if (value === null || ref === null) return value === ref;
  const kid = ref.split('.')[0]!;
  if (!ring.kids.includes(kid)) return false;
  const key = `${kid}\0${domain}\0${value}`;
  let expected = cache.get(key);
  if (!expected) {
    expected = blindIndex(ring, domain, value, kid);
    cache.set(key, expected);
  }
  return (await expected) === ref;
}

/**
 * Verify an exported chain (no keys needed): each event hashes to its `hash` and links to the one
 * before. A signed checkpoint (see checkpoint.ts) is what makes the head trustworthy. `sha256`: a
 * synchronous hasher (Node's, for the CLI); without one, crypto.subtle as at the edge.
 */
export async function verifyExported(
  events: readonly ChainedEvent[],
  from: ChainPoint | null = START,
  sha256?: Sha256Base64url,
): Promise<VerifyResult> {
  // Without a known starting point (an export that starts mid-chain), the first link is taken as given.
  let prev = from ?? (events[0] ? { seq: events[0].event.seq - 1, hash: events[0].prev_hash } : START);
  let n = 0;
  for (const c of events) {
    const link = linkProblem(prev, c.event.seq);
    if (link) return { ok: false, ...link, rows: n };
    const own = sha256 ? sha256(chainMaterial(c.prev_hash, c.event)) : await eventHash(c.prev_hash, c.event);
    if (own !== c.hash) return { ok: false, seq: c.event.seq, problem: 'modified', detail: 'the event does not match its hash', rows: n };
    if (c.prev_hash !== prev.hash)
      return { ok: false, seq: c.event.seq, problem: 'inserted', detail: 'the link to the previous event is broken', rows: n };
    prev = { seq: c.event.seq, hash: c.hash };
    n++;
  }
  return { ok: true, rows: n, head: prev };
}
