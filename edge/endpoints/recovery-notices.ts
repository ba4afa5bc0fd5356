/**
 * @module Telling a person about a factor recovery of theirs: the notice kept in their Durable
 * Object when a recovery starts or is approved, dropped when it ends, and read — checked against
 * D1, the record — by their own API (GET /.stepgate/api/me/notices), the extension's poll and
 * Stepgate's pages (the step-up and enrolment pages show it as a banner). The same reads carry the
 * notice that an administrator revoked their factors (admin/person-revocation.ts), which the person
 * dismisses (`dismissNotice`).
 */
import type { Notice, NoticeList, RecoveryNotice } from '../../shared/wire-shapes';
import { openRecoveryFor, type Recovery } from '../admin/recovery-store';
import type { Runtime } from '../deployment/runtime';
import type { Identity } from '../identity/identity-source';

const iso = (ms: number) => new Date(ms).toISOString();

/** A recovery as its person's notice shows it. */
export function noticeJson(r: Pick<Recovery, 'id' | 'state' | 'startedAt' | 'effectiveAt' | 'expiresAt'>, now: number): RecoveryNotice {
  const approved = r.state === 'approved';
  return {
    kind: 'recovery',
    id: r.id,
    state: approved ? 'approved' : 'started',
    started_at: iso(r.startedAt),
    effective_at: r.effectiveAt === null ? null : iso(r.effectiveAt),
    expires_at: iso(r.expiresAt),
    can_complete: approved && r.effectiveAt !== null && r.effectiveAt <= now,
  };
}

/**
 * Keep (or update) the person's notice of an open recovery. The caller fails closed when this
 * throws: a recovery the person was not told of must not go ahead.
 */
export async function tellPerson(rt: Runtime, r: Recovery): Promise<void> {
  if (r.state !== 'started' && r.state !== 'approved') throw new Error('only an open recovery has a notice');
  await rt.userState(r.person).putNotice({
    id: r.id,
    kind: 'recovery',
    state: r.state,
    startedAt: r.startedAt,
    effectiveAt: r.effectiveAt,
    expiresAt: r.expiresAt,
  });
}

/**
 * Drop the notice of a recovery that ended. Best effort: a notice left behind is dropped by the
 * person's next read, which checks it against D1.
 */
export async function forgetNotice(rt: Runtime, person: string, id: string): Promise<void> {
  await rt
    .userState(person)
    .clearNotice(id)
    .catch((err: unknown) =>
      console.error('stepgate: a recovery notice was not cleared:', err instanceof Error ? err.message : 'non-error'),
    );
}

/**
 * The person's notices. Only when their Durable Object has one is D1 read, to show the recovery as
 * it stands now; a notice whose recovery is no longer open (cancelled, completed, expired) is dropped.
 */
export async function noticesOf(rt: Runtime, me: Pick<Identity, 'sub'>): Promise<NoticeList> {
  const stub = rt.userState(me.sub);
  const kept = await stub.notices();
  if (kept.length === 0) return { notices: [] };
  const now = rt.now();
  const open = kept.some((n) => n.kind === 'recovery') ? await openRecoveryFor(rt.db, rt.keys, rt.app.org, me.sub, now) : null;
  const notices: Notice[] = [];
  for (const n of kept) {
    // A revocation notice (person-revocation.ts) is not a recovery's: it stands until dismissed or lapsed.
    if (n.kind === 'factors-revoked') {
      notices.push({ kind: 'factors-revoked', id: 'factors-revoked', revoked_at: iso(n.revokedAt), expires_at: iso(n.expiresAt) });
      continue;
    }
    if (open && n.id === open.id) notices.push(noticeJson(open, now));
    else await stub.clearNotice(n.id);
  }
  return { notices };
}

/**
 * The notices to show on one of Stepgate's pages for whoever asks: none when the caller is not
 * identified. Never throws: the page is still shown (the failure is logged), since the person's
 * step-up must not depend on it.
 */
export async function pageNotices(rt: Runtime, req: Request): Promise<Notice[]> {
  try {
    const who = await rt.identify(req);
    return who.ok ? (await noticesOf(rt, who.identity)).notices : [];
  } catch (err) {
    console.error('stepgate: notices could not be read for a page:', err instanceof Error ? err.message : 'non-error');
    return [];
  }
}

/**
 * Notices the person may dismiss: only the revocation notice. Why: a recovery's notice is cancelled instead,
 * so it cannot be hidden while the recovery goes ahead.
 */
export const DISMISSABLE_NOTICES: ReadonlySet<string> = new Set(['factors-revoked']);

/** Dismiss one of the person's own notices (only their Durable Object is touched); true if it was there. */
export async function dismissNotice(rt: Runtime, me: Pick<Identity, 'sub'>, id: string): Promise<boolean> {
  if (!DISMISSABLE_NOTICES.has(id)) return false;
  return rt.userState(me.sub).clearNotice(id);
}
