/**
 * The gateway end to end inside workerd: real Worker entry, real UserState Durable Object, real D1,
 * and a real demo origin on loopback that records what it received.
 */
import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import { createGateway } from '../../edge/gateway';
import type { openapi } from '../../edge/endpoints/openapi';
import { createEndpointsApp } from '../../edge/endpoints/endpoints-app';
import { sessionCookie } from '../support/session';

const origin = inject('originUrl');
const worker = (exports as unknown as { default: Fetcher }).default;
const gw = (input: string, init?: RequestInit) => worker.fetch(new Request(`http://app.test${input}`, init));
const originSaw = async (marker: string) => {
  const all = (await (await fetch(`${origin}/__demo/requests`)).json()) as {
    method: string;
    url: string;
    headers: Record<string, string>;
    body: string;
  }[];
  return all.filter((r) => r.url.includes(marker) || r.body.includes(marker));
};
const projectIds = async () => ((await (await gw('/api/projects')).json()) as { id: number }[]).map((p) => p.id);

describe('unprotected requests pass through', () => {
  it('forwards GET /api/projects and returns the origin response', async () => {
    const res = await gw('/api/projects?m=pass1');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(expect.arrayContaining([{ id: 1, name: 'Apollo' }]));
    const [seen] = await originSaw('m=pass1');
    expect(seen!.url).toBe('/api/projects?m=pass1');
  });

  it('forwards the canonical path, so the origin sees exactly what was matched', async () => {
    await gw('/Api//projects/./x/../?m=canon1');
    const [seen] = await originSaw('m=canon1');
    expect(seen!.url).toBe('/Api/projects/?m=canon1');
  });

  it('strips client-sent Stepgate-* and forwarding headers before the origin', async () => {
    await gw('/api/projects?m=hdr1', {
      headers: {
        'stepgate-assertion': 'forged',
        'stepgate-grant': 'forged',
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil.test',
        'x-original-url': '/admin/settings',
        'x-rewrite-url': '/admin/settings',
        forwarded: 'for=6.6.6.6',
        'x-real-ip': '6.6.6.6',
        'x-app-header': 'kept',
      },
    });
    const [seen] = await originSaw('m=hdr1');
    const h = seen!.headers;
    for (const name of ['stepgate-assertion', 'stepgate-grant', 'x-original-url', 'x-rewrite-url', 'forwarded', 'x-real-ip'])
      expect(h[name]).toBeUndefined();
    expect(h['x-forwarded-for']).toBeUndefined();
    expect(h['x-forwarded-host']).toBe('app.test');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-app-header']).toBe('kept');
  });

  it('streams request bodies of unprotected routes through unchanged', async () => {
    const body = `${'x'.repeat(3 * 1024 * 1024)}m=stream1`;
    const res = await gw('/api/uploads?m=stream1', { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } });
    expect(res.status).toBe(404); // the demo app has no such route; what matters is what it received
    const [seen] = await originSaw('m=stream1');
    expect(seen!.body.length).toBe(body.length);
  });
});

describe('a protected route without a grant', () => {
  it('answers 401 with the challenge, records it bound to user, session, rule and action, and forwards nothing', async () => {
    const cookie = await sessionCookie('alice', 'sess-a');
    const res = await gw('/api/projects/1?m=del1', { method: 'DELETE', headers: { cookie } });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const www = res.headers.get('www-authenticate')!;
    expect(www).toMatch(
      new RegExp(
        String.raw`^StepUp realm="stepgate", challenge="[\w-]{22}", factors="webauthn totp recovery", max_age=300, bind=action, ` +
          String.raw`challenge_url="http://app\.test/\.stepgate/challenge/[\w-]{22}"$`,
      ),
    );
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: 401,
      code: 'ERR_STEP_UP_REQUIRED',
      rule: 'delete-project',
      bind: 'action',
      factors: ['webauthn', 'totp', 'recovery'],
      action: { method: 'DELETE', host: 'app.test', path: '/api/projects/1', query: 'm=del1' },
    });
    expect(await originSaw('m=del1')).toEqual([]);
    expect(await projectIds()).toContain(1);

    const id = env.USER_STATE.idFromName('user:alice');
    const row = await runInDurableObject(env.USER_STATE.get(id), (_gate, state) =>
      state.storage.sql.exec('SELECT rule, bind, action_digest FROM challenges WHERE id = ?', body.challenge_id).one(),
    );
    expect(row.rule).toBe('delete-project');
    expect(row.bind).toBe('action');
    expect(row.action_digest).toMatch(/^[\w-]{43}$/);

    // The challenge is visible to the same session only.
    const mine = await gw(`/.stepgate/api/challenges/${body.challenge_id}`, { headers: { cookie } });
    expect(mine.status).toBe(200);
    expect(await mine.json()).toMatchObject({ id: body.challenge_id, action: { path: '/api/projects/1' } });
    const otherSession = await gw(`/.stepgate/api/challenges/${body.challenge_id}`, {
      headers: { cookie: await sessionCookie('alice', 'sess-b') },
    });
    expect(otherSession.status).toBe(404);
    const otherUser = await gw(`/.stepgate/api/challenges/${body.challenge_id}`, {
      headers: { cookie: await sessionCookie('bob', 'sess-a') },
    });
    expect(otherUser.status).toBe(404);
  });

  it('binds a session rule without an action digest, for its max age', async () => {
    const res = await gw('/admin/settings?m=adm1', {
      method: 'POST',
      body: 'support_email=a@b.c&api_token=s3cr3t',
      headers: { cookie: await sessionCookie('alice'), 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(body).toMatchObject({ rule: 'admin-writes', bind: 'session', max_age: 300 });
    // What the person approves includes what the body carries, with secret-looking values masked.
    expect((body as { body: unknown }).body).toEqual({
      kind: 'form',
      bytes: 36,
      fields: [
        { name: 'support_email', value: 'a@b.c' },
        { name: 'api_token', value: '••••••' },
      ],
      truncated: false,
    });
    expect(JSON.stringify(body)).not.toContain('s3cr3t');
    expect(await originSaw('m=adm1')).toEqual([]);
  });

  it('adds RFC 9470 insufficient_user_authentication for Bearer clients', async () => {
    const token = (await sessionCookie('alice')).slice('demo_session='.length);
    const g = createGateway({ ...env, IDENTITY: { source: 'jwt', bearer: true, issuer: 'stepgate-demo', audience: 'stepgate-demo' } });
    const res = await g.fetch(
      new Request('http://app.test/api/projects/2', { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }),
      env,
      createExecutionContext(),
    );
    expect(res.status).toBe(401);
    const www = res.headers.get('www-authenticate')!;
    expect(www).toContain('StepUp realm="stepgate"');
    expect(www).toContain('Bearer error="insufficient_user_authentication"');
    expect(www).toContain('acr_values="stepgate:webauthn stepgate:totp stepgate:recovery", max_age=300');
  });

  it('shows a browser the exact action on an HTML page, escaped, with strict headers', async () => {
    const res = await gw('/api/projects/3?note=%3Cscript%3Ealert(1)%3C/script%3E', {
      method: 'DELETE',
      headers: { cookie: await sessionCookie('alice'), 'sec-fetch-mode': 'navigate', accept: 'text/html' },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(res.headers.get('strict-transport-security')).toContain('max-age=');
    const html = await res.text();
    expect(html).toContain('<span class="method">Delete</span> /api/projects/3?note=');
    expect(html).toContain('app.test');
    expect(html).not.toContain('<script>alert');
    // No inline script or style: every script is an external file from Stepgate's own origin.
    expect(html.match(/<script[^>]*>/g)).toEqual(['<script type="module" src="/.stepgate/assets/step-up.js">']);
    expect(html).not.toMatch(/<script[^>]*>[^<]+<\/script>|style=/);
    expect(html).toContain('id="totp-form"');
  });

  it('treats a POST with _method=DELETE in its form body as the DELETE it is', async () => {
    // Project 94 is this test's own (the demo origin seeds extra projects; another test file deletes project 4).
    const res = await gw('/api/projects/94', {
      method: 'POST',
      body: '_method=DELETE&m=ovr1',
      headers: { cookie: await sessionCookie('alice'), 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ rule: 'delete-project', matched_method: 'DELETE', action: { method: 'POST' } });
    expect(await originSaw('m=ovr1')).toEqual([]);
    expect(await projectIds()).toContain(94);
  });

  it.each([
    ['JSON', 'application/json', JSON.stringify({ _method: 'DELETE', m: 'ovr2' })],
    [
      'multipart',
      null,
      (() => {
        const f = new FormData();
        f.set('_method', 'delete');
        f.set('m', 'ovr3');
        return f;
      })(),
    ],
  ])('treats _method in a %s body the same way', async (_n, ct, body) => {
    const headers: Record<string, string> = { cookie: await sessionCookie('alice') };
    if (ct) headers['content-type'] = ct;
    const res = await gw('/api/projects/94', { method: 'POST', body, headers });
    expect(res.status).toBe(401);
  });

  it('refuses without identity: 401 for scripts, no forwarding', async () => {
    const res = await gw('/api/projects/1?m=anon1', { method: 'DELETE' });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'ERR_IDENTITY_REQUIRED' });
    expect(res.headers.get('www-authenticate')).toContain('error="identity_required"');
    const forged = await gw('/api/projects/1?m=anon2', {
      method: 'DELETE',
      headers: { cookie: 'demo_session=eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.' },
    });
    expect(forged.status).toBe(401);
    expect(await originSaw('m=anon')).toEqual([]);
  });

  it('sends a browser without a session to the login page with a local return_to', async () => {
    const g = createGateway(env, {
      version: 1,
      rules: [{ id: 'reports', match: { methods: ['GET'], path: '/reports/**' }, require: { factors: ['totp'], bind: 'session' } }],
    });
    const res = await g.fetch(
      new Request('http://app.test/reports/q3?x=1', { headers: { 'sec-fetch-mode': 'navigate' } }),
      env,
      createExecutionContext(),
    );
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?return_to=%2Freports%2Fq3%3Fx%3D1');
  });

  it('refuses a body too large to bind to an action (413) and forwards nothing', async () => {
    const res = await gw('/api/projects/1?m=big1', {
      method: 'DELETE',
      body: 'x'.repeat(1024 * 1024 + 1),
      headers: { cookie: await sessionCookie('alice') },
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'ERR_BODY_TOO_LARGE' });
    expect(await originSaw('m=big1')).toEqual([]);
  });
});

describe('reserved paths', () => {
  it.each([
    '/.well-known/stepgate',
    '/.stepgate/api/openapi.json',
    '/.stepgate/api/policy.schema.json',
    '/.STEPGATE/api/openapi.json?m=res',
    '/%2estepgate/whatever?m=res',
    '/.stepgate/../.stepgate/nothing?m=res',
    '/.well-known/stepgate/jwks.json?m=res',
    '/.Well-Known/StepGate?m=res',
  ])('%s is answered by Stepgate and never forwarded', async (path) => {
    const res = await gw(path, { method: path.includes('res') ? 'POST' : 'GET' });
    expect(res.headers.get('content-security-policy')).toBeTruthy();
    expect([200, 404, 405]).toContain(res.status);
  });

  it('none of them reached the origin', async () => {
    expect((await originSaw('stepgate')).concat(await originSaw('STEPGATE'))).toEqual([]);
  });

  it('serves discovery and an OpenAPI document listing every reserved endpoint', async () => {
    const disc = (await (await gw('/.well-known/stepgate')).json()) as { endpoints: Record<string, string>; factors: string[] };
    expect(disc.factors).toEqual(['webauthn', 'totp', 'recovery']);
    const doc = (await (await gw(disc.endpoints.openapi!)).json()) as typeof openapi;
    const app = createEndpointsApp({} as never);
    const routes = app.routes.filter((r) => r.method !== 'ALL').map((r) => r.path.replace(/:(\w+)/g, '{$1}'));
    // The continue and carry-out endpoints are served by the middleware itself (it replays the held request).
    expect(new Set([...routes, '/.stepgate/challenge/{id}/continue', '/.stepgate/approvals/{id}/carry-out'])).toEqual(
      new Set(Object.keys(doc.paths)),
    );
    // Every path can be refused as ambiguous before any route: each operation lists its 400.
    const ops = Object.values(doc.paths).flatMap((o) => Object.values(o as Record<string, { responses: Record<string, unknown> }>));
    expect(ops.filter((op) => !('400' in op.responses))).toEqual([]);
  });

  it('describes in its components every member of what the edge sends about a challenge', async () => {
    const { schemas } = ((await (await gw('/.stepgate/api/openapi.json')).json()) as typeof openapi).components;
    const members = (schema: keyof typeof schemas) => Object.keys(schemas[schema].properties).sort();
    const keys = (o: unknown) => Object.keys(o as object).sort();
    type Body = Record<string, unknown> & { challenges: Body[] };
    const answer = async (path: string, sid: string, method = 'GET') =>
      (await (await gw(path, { method, headers: { cookie: await sessionCookie('openapi-reader', sid) } })).json()) as Body;

    const stepUp = await answer('/api/projects/1?m=oa1', 'sess-oa', 'DELETE');
    expect(keys(stepUp)).toEqual(members('StepUpRequired'));
    expect(keys(stepUp.action)).toEqual(members('Action'));
    const detail = await answer(`/.stepgate/api/challenges/${stepUp.challenge_id}`, 'sess-oa');
    expect(keys(detail)).toEqual(members('ChallengeDetail'));
    expect(keys(detail.requested_from)).toEqual(members('RequestedFrom'));
    expect(keys(await answer(`/.stepgate/api/challenges/${stepUp.challenge_id}/how-to-answer`, 'sess-oa'))).toEqual(members('HowToAnswer'));
    // Listed in its own session, and (an action) in another session of the person, with the same members (never the number).
    const own = await answer('/.stepgate/api/challenges', 'sess-oa');
    expect(keys(own)).toEqual(members('PendingChallengeList'));
    expect(keys(own.challenges[0])).toEqual(members('PendingChallenge'));
    expect(keys((await answer('/.stepgate/api/challenges', 'sess-oa-other')).challenges[0])).toEqual(members('PendingChallenge'));
  });
});

describe('failing closed', () => {
  it('answers 503 and forwards nothing when a secret is missing', async () => {
    const broken = { ...env, IDENTITY_JWT_SECRET: undefined };
    const g = createGateway(broken);
    const res = await g.fetch(new Request('http://app.test/api/projects/1?m=mis1', { method: 'DELETE' }), broken, createExecutionContext());
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'ERR_GATEWAY_MISCONFIGURED' });
    expect(await originSaw('m=mis1')).toEqual([]);
  });

  it('gives a clear 502 when the origin is unreachable', async () => {
    const g = createGateway({ ...env, ORIGIN_URL: 'http://127.0.0.1:9' });
    const ctx = createExecutionContext();
    const res = await g.fetch(new Request('http://app.test/api/projects'), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ code: 'ERR_ORIGIN_UNREACHABLE' });
  });

  it('refuses hosts the policy does not serve (421) instead of forwarding them unprotected', async () => {
    const g = createGateway(env, {
      version: 1,
      hosts: ['app.example.com'],
      rules: [
        {
          id: 'r',
          match: { host: 'app.example.com', path: '/api/projects/*', methods: ['DELETE'] },
          require: { factors: ['totp'], bind: 'action' },
        },
      ],
    });
    const res = await g.fetch(new Request('http://127.0.0.1/api/projects/1?m=host1', { method: 'DELETE' }), env, createExecutionContext());
    expect(res.status).toBe(421);
    expect(await originSaw('m=host1')).toEqual([]);
  });

  it('refuses an invalid ORIGIN_URL or policy when the gateway is built', () => {
    expect(() => createGateway({ ...env, ORIGIN_URL: 'http://origin.test/base?x' })).toThrow(/ORIGIN_URL/);
    expect(() => createGateway(env, { version: 1, rules: [{ id: 'x' }] })).toThrow(/rule "x"/);
  });
});
