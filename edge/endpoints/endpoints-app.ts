/**
 * @module createEndpointsApp: Stepgate's own endpoints under /.stepgate/* and /.well-known/stepgate.
 * Requests there are answered here and never forwarded.
 */
import { Hono } from 'hono';
import { ErrorCode } from '../../shared/errors';
import { assertionJwks } from '../signing/origin-assertion';
import { promptJwks } from '../signing/prompt-signature';
import { errorResponse, htmlResponse, json, problem, secure } from '../http/responses';
import { registerAuditExportRoutes } from './audit-export-routes';
import { registerAuditRoutes } from './audit-routes';
import { registerMaintenanceRoutes } from './maintenance-routes';
import { registerTokenRoutes } from './token-routes';
import { registerFactorRoutes } from './factor-routes';
import { registerAdminRoutes } from './admin-routes';
import { registerEnrolmentRoutes } from './enrolment-routes';
import { registerChallengeRoutes } from './challenge-routes';
import { challengeDetailJson } from './challenge-view';
import { auditPage } from '../pages/audit-page';
import { enrolPage } from '../pages/enrol-page';
import { CLIENT_ASSETS } from '../pages/generated/client-assets';
import { stepUpPage } from '../pages/step-up-page';
import { STEPGATE_CSS } from '../pages/stepgate.css';
import { policyJsonSchema } from '../policy/schema';
import type { Runtime } from '../deployment/runtime';
import { type Challenge, isChallengeId } from '../user-state/challenge';
import { STEPGATE_VERSION } from '../config/version';
import { openapi } from './openapi';

export const isStepgatePath = (segments: readonly string[]): boolean => {
  const first = segments[0]?.toLowerCase();
  return first === '.stepgate' || (first === '.well-known' && segments[1]?.toLowerCase() === 'stepgate');
};

/** Build the reserved-path app for a runtime. Routes are matched on the canonical path. */
export function createEndpointsApp(rt: Runtime): Hono {
  const app = new Hono({ strict: true });

  app.get('/.well-known/stepgate', () =>
    json({
      stepgate: STEPGATE_VERSION,
      endpoints: {
        openapi: '/.stepgate/api/openapi.json',
        policy_schema: '/.stepgate/api/policy.schema.json',
        challenge: '/.stepgate/api/challenges/{id}',
        challenge_page: '/.stepgate/challenge/{id}',
        jwks: '/.well-known/stepgate/jwks.json',
        audit_jwks: '/.well-known/stepgate/audit-jwks.json',
        prompt_jwks: '/.well-known/stepgate/prompt-jwks.json',
        challenges: '/.stepgate/api/challenges',
        audit_events: '/.stepgate/api/admin/audit/events',
        enrol: '/.stepgate/enrol',
        audit_console: '/.stepgate/admin/audit',
      },
      factors: [...new Set(rt.policy.rules.flatMap((r) => r.factors))],
    }),
  );
  app.get('/.stepgate/api/openapi.json', () => json(openapi));
  app.get('/.well-known/stepgate/prompt-jwks.json', async () =>
    json(await promptJwks(rt.keys), 200, { 'cache-control': 'public, max-age=300' }),
  );
  app.get('/.well-known/stepgate/jwks.json', async () =>
    json(await assertionJwks(rt.keys), 200, { 'cache-control': 'public, max-age=300' }),
  );
  app.get('/.stepgate/api/policy.schema.json', () => json(policyJsonSchema()));

  const loadChallenge = async (req: Request, id: string): Promise<Challenge | Response> => {
    const who = await rt.identify(req);
    if (!who.ok && who.reason === 'ambiguous')
      return problem(
        ErrorCode.AmbiguousIdentity,
        400,
        "This request names its session in two ways; clear this site's cookies and sign in again.",
      );
    if (!who.ok)
      return problem(
        ErrorCode.IdentityRequired,
        401,
        'Sign in to the application first.',
        {},
        { 'www-authenticate': 'StepUp realm="stepgate", error="identity_required"' },
      );
    if (!isChallengeId(id)) return problem(ErrorCode.ChallengeNotFound, 404, 'No such challenge.');
    const ch = await rt.userState(who.identity.sub).getChallenge(id, who.identity.sid);
    return ch ?? problem(ErrorCode.ChallengeNotFound, 404, 'No such challenge, or it has expired, or it belongs to another session.');
  };

  app.get('/.stepgate/api/challenges/:id', async (c) => {
    const ch = await loadChallenge(c.req.raw, c.req.param('id'));
    return ch instanceof Response ? ch : json(challengeDetailJson(ch));
  });
  app.get('/.stepgate/challenge/:id', async (c) => {
    const ch = await loadChallenge(c.req.raw, c.req.param('id'));
    if (ch instanceof Response) return ch;
    return htmlResponse(await stepUpPage({ ...ch, challengeId: ch.id }));
  });
  app.get('/.stepgate/assets/:file', (c) => {
    const file = c.req.param('file');
    const isCss = file === 'stepgate.css';
    const body = isCss ? STEPGATE_CSS : Object.hasOwn(CLIENT_ASSETS, file) ? CLIENT_ASSETS[file] : undefined;
    if (body === undefined) return problem(ErrorCode.NotFound, 404, 'No such asset.');
    const h = secure(
      new Headers({ 'content-type': isCss ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }),
    );
    return new Response(body, { headers: h });
  });
  app.get('/.stepgate/enrol', async () => htmlResponse(await enrolPage()));
  app.get('/.stepgate/admin/audit', async () => htmlResponse(await auditPage()));

  registerChallengeRoutes(app, rt);
  registerEnrolmentRoutes(app, rt);
  registerFactorRoutes(app, rt);
  registerAdminRoutes(app, rt);
  registerAuditRoutes(app, rt);
  registerAuditExportRoutes(app, rt);
  registerMaintenanceRoutes(app, rt);
  registerTokenRoutes(app, rt);

  app.notFound((c) => {
    const known = app.routes.some((r) => r.path === c.req.path);
    return known
      ? problem(ErrorCode.MethodNotAllowed, 405, `${c.req.method} is not allowed here.`, {}, { allow: 'GET, HEAD' })
      : problem(ErrorCode.NotFound, 404, 'No such Stepgate endpoint.');
  });
  app.onError((err) => errorResponse(err));
  return app;
}
