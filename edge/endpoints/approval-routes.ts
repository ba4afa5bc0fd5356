/**
 * @module Dual control's API (docs/approvals.md), on every app's host, for the signed-in people of
 * the app's organisation: the requests waiting for the caller and their own, one request, the
 * approver's step-up (answering it approves), deny, cancel, and the requester's reason.
 */
import type { Context, Hono } from 'hono';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import type { ApprovalStepUp } from '../../shared/wire-shapes';
import { approvalNotice } from '../approvals/approval-notice';
import { approverDigest, cancelApproval, isRequester, recordExpired } from '../approvals/approval-flow';
import { effectiveState } from '../approvals/approval-json';
import { cleanJustification, openView, sealJustification } from '../approvals/approval-records';
import { getApproval, setJustification } from '../approvals/approval-store';
import { votesOf } from '../approvals/approval-vote-store';
import { deny } from '../approvals/approval-votes';
import type { Runtime } from '../deployment/runtime';
import { hasPasskey } from '../factors/webauthn/has-passkey';
import { recordChallengeRefused } from '../challenges/challenge-refused';
import { requireSameOriginJson } from '../http/csrf';
import { json, problem } from '../http/responses';
import { StepgateError } from '../http/stepgate-error';
import { notifyApproval } from '../notifications/notify';
import { challengeRefusedAnswer } from '../pages/refusal-responses';
import { challengeUrl } from '../policy/canonical-request';
import { approvalListFor } from './approval-list';
import { approvalFor, approverRule, checkedDecider, viewerOf } from './approval-vote';
import { auditBase, jsonBody, requireIdentity, siteOf } from './endpoint-helpers';

/** How long an approver's step-up for one request may take (its challenge's max age), seconds. */
const APPROVER_STEP_UP_SECONDS = 300;

const ec = (c: Context): ExecutionContext | null => {
  try {
    return c.executionCtx as unknown as ExecutionContext;
  } catch {
    return null;
  }
};

export function registerApprovalRoutes(app: Hono, rt: Runtime): void {
  app.get('/.stepgate/api/approvals', async (c) => {
    const me = await requireIdentity(rt, c.req.raw);
    return json(await approvalListFor(rt, await viewerOf(rt, me)));
  });

  app.get('/.stepgate/api/approvals/:id', async (c) => {
    const me = await requireIdentity(rt, c.req.raw);
    await recordExpired(rt, rt.app.org);
    return json(await approvalFor(rt, c.req.param('id'), await viewerOf(rt, me)));
  });

  // The approver's own step-up for this request: answering it (POST /.stepgate/api/challenges/:id/verify) approves.
  app.post('/.stepgate/api/approvals/:id/step-up', async (c) => {
    const req = c.req.raw;
    const site = siteOf(req.url);
    requireSameOriginJson(req, site.origin, rt.webauthnOrigins);
    const me = await requireIdentity(rt, req);
    await jsonBody(req, z.strictObject({}), { emptyBody: {} });
    const { row, ref, where } = await checkedDecider(rt, req, me, c.req.param('id'), 'step-up');
    if ((await votesOf(rt.db, row.id)).some((v) => v.approver_ref === ref))
      return problem(ErrorCode.ApprovalClosed, 409, 'You have already decided on this request.');
    const view = await openView(rt.keys, row);
    // A passkey where they have one: a phishable code must not approve for someone who holds a phishing-resistant factor.
    // Without one, only the code is offered: the page must not ask for a passkey they do not have.
    const factors = (await hasPasskey(rt.db, rt.keys, me.sub)) ? ['webauthn'] : ['totp'];
    const rule = approverRule(row.id);
    const opened = await rt.userState(me.sub).openChallenge({
      sid: me.sid,
      rule,
      bind: 'action',
      factors,
      maxAgeSeconds: APPROVER_STEP_UP_SECONDS,
      actionDigest: await approverDigest(row.id, row.action_digest),
      action: view.action,
      matchedMethod: view.matchedMethod,
      bodySummary: view.body,
      requestedFrom: view.requestedFrom,
    });
    if (!opened.ok) {
      await recordChallengeRefused(rt.audit, opened, { ...where, rule });
      return challengeRefusedAnswer(req, opened, rt.now());
    }
    const ch = opened.challenge;
    return json({ challenge_id: ch.id, challenge_url: challengeUrl(site.origin, ch.id), factors } satisfies ApprovalStepUp, 201);
  });

  app.post('/.stepgate/api/approvals/:id/deny', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, siteOf(req.url).origin, rt.webauthnOrigins);
    const me = await requireIdentity(rt, req);
    const body = await jsonBody(req, z.strictObject({ reason: z.optional(z.string().check(z.maxLength(500))) }), { emptyBody: {} });
    const { viewer, where, ...checked } = await checkedDecider(rt, req, me, c.req.param('id'), 'deny');
    const done = await deny(rt, { ...checked, me: viewer, reason: cleanJustification(body.reason), where });
    if (!done.ok) return problem(done.code, done.status, done.detail);
    const row = (await getApproval(rt.db, checked.row.id))!;
    notifyApproval(rt, ec(c), approvalNotice(siteOf(req.url).origin, row, await openView(rt.keys, row), 'approval.denied'));
    return json(await approvalFor(rt, row.id, viewer));
  });

  app.post('/.stepgate/api/approvals/:id/cancel', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, siteOf(req.url).origin, rt.webauthnOrigins);
    const me = await requireIdentity(rt, req);
    await jsonBody(req, z.strictObject({}), { emptyBody: {} });
    const row = await requesterRow(rt, c.req.param('id'), me.sub);
    if (!(await cancelApproval(rt, row, me, await auditBase(req, me))))
      return problem(ErrorCode.ApprovalClosed, 409, 'This request is already closed.');
    notifyApproval(rt, ec(c), approvalNotice(siteOf(req.url).origin, row, await openView(rt.keys, row), 'approval.cancelled'));
    return json(await approvalFor(rt, row.id, await viewerOf(rt, me)));
  });

  app.post('/.stepgate/api/approvals/:id/justification', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, siteOf(req.url).origin, rt.webauthnOrigins);
    const me = await requireIdentity(rt, req);
    const body = await jsonBody(req, z.strictObject({ text: z.string().check(z.minLength(1), z.maxLength(500)) }));
    const text = cleanJustification(body.text);
    if (text === null) return problem(ErrorCode.BadRequest, 400, 'text: write a reason');
    const row = await requesterRow(rt, c.req.param('id'), me.sub);
    const sealed = await sealJustification(rt.keys, row.id, row.org_id, text);
    if (effectiveState(row, rt.now()) !== 'pending' || !(await setJustification(rt.db, row.id, sealed, rt.now())))
      return problem(ErrorCode.ApprovalClosed, 409, 'The reason can be added once, while nobody has decided yet.');
    return json(await approvalFor(rt, row.id, await viewerOf(rt, me)));
  });
}

/** The caller's own request of this organisation, or 404. */
async function requesterRow(rt: Runtime, id: string, sub: string) {
  const row = await getApproval(rt.db, id);
  if (!row || row.org_id !== rt.app.org || !(await isRequester(rt.keys, row, sub)))
    throw new StepgateError(ErrorCode.ApprovalNotFound, 404, 'There is no such request of yours.');
  return row;
}
