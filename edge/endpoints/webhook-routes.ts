/**
 * @module An organisation's webhook of dual-control notices through the admin API (docs/admin.md,
 * "Webhooks"), under /.stepgate/api/admin/orgs/:org/webhook: read it (never its secret), set it (the
 * answer carries a new signing secret, shown this once), remove it, and send a test notice. Owners
 * and admins only (`webhook.manage`), in a browser with a fresh step-up: no token scope names it, so
 * an API token is refused (a stolen token must not redirect where approvals are announced, nor learn
 * a secret that signs them). Authorization comes before the body is read, so a refused caller learns
 * nothing from validation; bad input is 400 and stores nothing.
 */
import type { Hono } from 'hono';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import { hashRef } from '../audit/audit-log';
import type { AuditDetails } from '../audit/events';
import type { Runtime } from '../deployment/runtime';
import { json, problem } from '../http/responses';
import { deleteWebhook, getWebhook, putWebhook, webhookTarget, WEBHOOK_FORMATS, type WebhookFormat } from '../notifications/webhook-store';
import { canonicalWebhookHost, servedHostProblem, webhookUrlProblem } from '../notifications/webhook-url';
import type { NoticeFacts } from '../notifications/webhook-payload';
import { TESTS_PER_MINUTE } from '../notifications/webhook-test-rate';
import { type AdminCaller, adminBody, adminEventScope, requireAdminCaller, requireAllowed, subjectOf, viaOf } from './admin-access';
import { auditBase } from './endpoint-helpers';

export const WEBHOOK_PATH = '/.stepgate/api/admin/orgs/:org/webhook';

const PutBody = z.strictObject({
  url: z.string().check(z.maxLength(10_000)),
  format: z.enum(WEBHOOK_FORMATS as [WebhookFormat, ...WebhookFormat[]]),
});

/**
 * Why `url` cannot be the webhook (400 wording), or null: its form (https, a host name, port 443),
 * then whether this deployment serves its host — the request's own, CONSOLE_HOSTS, policy.json's
 * `hosts` of the bundled app, or any app's in D1. (BUNDLED_APP_HOSTS is not in the Runtime, so a host
 * listed only there is not refused: a known gap, in docs/admin.md.)
 */
async function urlProblem(rt: Runtime, req: Request, url: string): Promise<string | null> {
  const bad = webhookUrlProblem(url, rt.development);
  if (bad) return bad;
  const own = canonicalWebhookHost(new URL(req.url).hostname);
  const bundled = rt.bundledPolicy.policy.hosts ? rt.bundledPolicy : null;
  const known = (host: string) => host === own || rt.consoleHosts.includes(host) || (bundled?.servesHost(host) ?? false);
  return servedHostProblem(url, rt.development, { known, db: rt.db });
}

/** The caller, allowed to manage the organisation's webhook (404 no role, 403 not owner/admin or a token: both audited). */
async function manager(rt: Runtime, req: Request, org: string, write: boolean): Promise<AdminCaller> {
  const caller = await requireAdminCaller(rt, req, org, { write });
  await requireAllowed(rt, req, caller, 'webhook.manage', { orgId: org });
  return caller;
}

async function recordWebhookChange(
  rt: Runtime,
  req: Request,
  caller: AdminCaller,
  type: 'webhook.updated' | 'webhook.deleted',
  details: AuditDetails,
): Promise<void> {
  await rt.audit.record({
    type,
    outcome: 'success',
    ...(await auditBase(req, caller.me, viaOf(caller))),
    ...adminEventScope(rt, caller.me),
    // The organisation's, not an app's; never the URL itself (a chat tool's URL is a credential), only its host.
    app_id: null,
    details: { ...details, ...(caller.token ? { token: await hashRef(caller.token.id) } : {}) },
  });
}

export function registerWebhookRoutes(app: Hono, rt: Runtime): void {
  app.get(WEBHOOK_PATH, async (c) => {
    const org = c.req.param('org');
    await manager(rt, c.req.raw, org, false);
    const w = await getWebhook(rt.db, rt.keys, org);
    return json({
      org,
      webhook: w && {
        url: w.url,
        format: w.format,
        created_at: new Date(w.createdAt).toISOString(),
        updated_at: new Date(w.updatedAt).toISOString(),
        updated_by: w.updatedBy === null ? null : subjectOf(org, w.updatedBy),
      },
    });
  });

  app.put(WEBHOOK_PATH, async (c) => {
    const req = c.req.raw;
    const org = c.req.param('org');
    const caller = await manager(rt, req, org, true);
    const body = await adminBody(req, PutBody);
    const bad = await urlProblem(rt, req, body.url);
    if (bad) return problem(ErrorCode.BadRequest, 400, bad);
    const now = rt.now();
    const r = await putWebhook(rt.db, rt.keys, { org, url: body.url, format: body.format, by: caller.me.sub, now });
    await recordWebhookChange(rt, req, caller, 'webhook.updated', {
      org,
      format: body.format,
      url_host: new URL(body.url).host,
      created: r.created,
    });
    // Deliveries waiting for a retry go to the new URL, signed with the new secret, at their time.
    return json(
      {
        org,
        webhook: { url: body.url, format: body.format, updated_at: new Date(now).toISOString(), updated_by: caller.me.subject },
        secret: r.secret,
        note: 'This is the only time the secret is shown. Verify Stepgate-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.',
      },
      r.created ? 201 : 200,
    );
  });

  app.delete(WEBHOOK_PATH, async (c) => {
    const req = c.req.raw;
    const org = c.req.param('org');
    const caller = await manager(rt, req, org, true);
    const deleted = await deleteWebhook(rt.db, org);
    if (deleted) {
      await recordWebhookChange(rt, req, caller, 'webhook.deleted', { org });
      // Its waiting notices are given up (and audited) by the notifier now, not at their next retry.
      await rt
        .approvalNotifier?.(org)
        .wake(org)
        .catch((err: unknown) => console.error('stepgate: notifier not woken:', String(err)));
    }
    return json({ org, deleted });
  });

  app.post(`${WEBHOOK_PATH}/test`, async (c) => {
    const req = c.req.raw;
    const org = c.req.param('org');
    const caller = await manager(rt, req, org, true);
    await adminBody(req, z.strictObject({}));
    if (!rt.approvalNotifier)
      return problem(ErrorCode.Unavailable, 503, 'This deployment does not bind APPROVAL_NOTIFIER: no notice is sent.');
    const none = () => problem(ErrorCode.Conflict, 409, 'This organisation has no webhook: set one first (PUT).');
    // Fails closed: a URL that does not open (edited without the keyring, a retired key) gets no notice.
    const w = await webhookTarget(rt.db, rt.keys, org);
    if (w === 'unreadable') return problem(ErrorCode.Conflict, 409, 'The webhook does not open (its key is gone): set it again (PUT).');
    if (!w) return none();
    // A URL set before these rules, or whose host an app has claimed since, is not sent to.
    const stale = await urlProblem(rt, req, w.url);
    if (stale) return problem(ErrorCode.Conflict, 409, `The webhook's URL is no longer allowed (${stale}): set another one (PUT).`);
    const u = new URL(req.url);
    const facts: NoticeFacts = {
      event: 'webhook.test',
      approval: {
        id: 'test',
        app: { id: rt.app.id, name: u.hostname },
        host: u.hostname,
        method: 'POST',
        path: '/.stepgate/test',
        rule: 'webhook.test',
        requester: caller.me.subject,
        expires_at: new Date(rt.now() + 3_600_000).toISOString(),
      },
      console_url: `${u.origin}/.stepgate/approvals`,
    };
    const queued = await rt.approvalNotifier(org).enqueueTest(org, facts);
    if (queued && 'retryAfter' in queued)
      return problem(
        ErrorCode.TooManyWebhookTests,
        429,
        `At most ${TESTS_PER_MINUTE} test notices a minute per organisation: try again in ${queued.retryAfter} s.`,
        { retry_after: queued.retryAfter },
        { 'retry-after': String(queued.retryAfter) },
      );
    return queued ? json({ org, delivery: queued.delivery }, 202) : none();
  });
}
