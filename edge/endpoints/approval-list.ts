/**
 * @module The requests a person sees in their approval queue: those waiting for their decision
 * (pending, in one of whose approver groups they are, not asked by them, not decided by them) and
 * their own, newest first — for the API, the queue page and the extension.
 */
import type { ApprovalJson, ApprovalList } from '../../shared/wire-shapes';
import { recordExpired } from '../approvals/approval-flow';
import { approvalJson, requirementOf, type Viewer } from '../approvals/approval-json';
import { LIST_LIMIT, openOfOrg, requestsOf } from '../approvals/approval-store';
import { votesOfMany } from '../approvals/approval-vote-store';
import { groupsOf } from '../approvals/approver-groups';
import { blindIndex, blindIndexes } from '../crypto/blind-index';
import type { Runtime } from '../deployment/runtime';

/**
 * What waits for the viewer's decision, newest first: the pending requests of this app (a person is
 * known by each app's own identity, so they decide through the request's app) in one of whose groups
 * they are, not asked and not decided by them. Two queries whatever the queue's length.
 */
async function awaitingYou(rt: Runtime, viewer: Viewer): Promise<ApprovalJson[]> {
  const rows = (await openOfOrg(rt.db, rt.app.org, rt.now()))
    .filter((r) => r.state === 'pending' && r.app_id === rt.app.id && groupsOf(requirementOf(r), viewer, r.app_id).length > 0)
    .reverse();
  const votes = await votesOfMany(
    rt.db,
    rows.map((r) => r.id),
  );
  const refs = new Map<string, string>();
  const out: ApprovalJson[] = [];
  for (const row of rows) {
    if (out.length >= LIST_LIMIT) break;
    const ref = refs.get(row.key_id) ?? (await blindIndex(rt.keys, 'user', viewer.sub, row.key_id));
    refs.set(row.key_id, ref);
    const mine = votes.get(row.id) ?? [];
    if (ref === row.requester_ref || mine.some((v) => v.approver_ref === ref)) continue;
    out.push(await approvalJson(rt.keys, row, mine, viewer, rt.now()));
  }
  return out;
}

/** The viewer's queue (lapsed requests of the organisation recorded as expired first). */
export async function approvalListFor(rt: Runtime, viewer: Viewer): Promise<ApprovalList> {
  await recordExpired(rt, rt.app.org);
  const mine = await requestsOf(rt.db, rt.app.org, await blindIndexes(rt.keys, 'user', viewer.sub));
  const votes = await votesOfMany(
    rt.db,
    mine.map((r) => r.id),
  );
  const yours = await Promise.all(mine.map((row) => approvalJson(rt.keys, row, votes.get(row.id) ?? [], viewer, rt.now())));
  return { awaiting_you: await awaitingYou(rt, viewer), yours };
}
