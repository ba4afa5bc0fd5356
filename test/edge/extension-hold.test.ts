/**
 * The edge side of the extension: a fetch marked by the extension is held while its prompt is
 * answered, then carried out exactly once — or refused when denied, answered 401 on timeout, and
 * rationed against push bombing. The prompt the extension shows is signed by the edge.
 */
import { createExecutionContext, env, runInDurableObject } from 'cloudflare:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createGateway } from '../../edge/gateway';
import { parseKeyring } from '../../edge/crypto/keyring';
import { MAX_PROMPTS_PER_MINUTE } from '../../edge/user-state/limits';
import type { UserState } from '../../edge/user-state/user-state';
import { enrolTotp, gw, ORIGIN, post, type Person } from '../support/edge-flow';
import { sessionCookie } from '../support/session';
import { refuseAudit } from '../support/audit-faults';
import { listEvents } from '../../edge/audit/audit-store';

const EXT = 'chrome-extension://leldacdejfbkleoogdbophfdkoapmfbd'; // WEBAUTHN_ORIGINS in wrangler.toml
const originUrl = inject('originUrl');
const deletesSeen = async (marker: string) =>
  ((await (await fetch(`${originUrl}/__demo/requests`)).json()) as { method: string; url: string }[]).filter(
    (r) => r.method === 'DELETE' && r.url.includes(marker),
  );
const marked = (p: Person, path: string) =>
  gw(path, {
    method: 'DELETE',
    headers: {
      cookie: p.cookie,
      'stepgate-extension': '1',
      'sec-fetch-mode': 'cors',
      origin: ORIGIN,
      'user-agent': 'ExtTest/1.0',
      'cf-connecting-ip': '192.0.2.9',
    },
  });
/** The extension's view: pending challenges, as it polls them. */
const pending = async (p: Person) => {
  const r = await gw('/.stepgate/api/challenges', { headers: { cookie: p.cookie } });
  expect(r.status).toBe(200);
  return ((await r.json()) as { challenges: { id: string; held: boolean; action: { method: string; path: string }; prompt: string }[] })
    .challenges;
};
const waitForPending = async (p: Person, path: string) => {
  for (let i = 0; i < 100; i++) {
    const c = (await pending(p)).find((x) => x.held && x.action.path === path);
    if (c) return c;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no pending challenge for ${path}`);
};
const extPost = (path: string, p: Person, body: unknown = {}) => post(path, p.cookie, body, { origin: EXT });

let ann: Person;
beforeAll(async () => {
  ann = await enrolTotp('ann-ext');
});

describe('a fetch marked by the extension', () => {
  it('is held until approved in the prompt, then carried out exactly once; the prompt is signed by the edge', async () => {
    const held = marked(ann, '/api/projects/83?m=ext-approve');
    const c = await waitForPending(ann, '/api/projects/83');
    // What the extension renders comes from the signed payload.
    const jwks = (await (await gw('/.well-known/stepgate/prompt-jwks.json')).json()) as Parameters<typeof createLocalJWKSet>[0];
    const { payload, protectedHeader } = await jwtVerify(c.prompt, createLocalJWKSet(jwks), {
      issuer: 'stepgate',
      audience: 'app.test',
      typ: 'stepgate-prompt+jwt',
    });
    expect(protectedHeader.kid).toMatch(/^sg-prompt-/);
    // The page's fetch is held for HOLD_SECONDS (60 by default); the prompt says until when.
    expect(Date.parse(payload.hold_until as string) - Date.parse(payload.created_at as string)).toBe(60_000);
    expect(payload).toMatchObject({
      id: c.id,
      rule: 'delete-project',
      bind: 'action',
      held: true,
      action: { method: 'DELETE', path: '/api/projects/83', query: 'm=ext-approve' },
      requested_from: { page: ORIGIN, ip: '192.0.2.9', user_agent: 'ExtTest/1.0' },
    });
    // The assertion keys do not verify prompts, and the prompt keys do not verify assertions.
    const assertionKeys = (await (await gw('/.well-known/stepgate/jwks.json')).json()) as Parameters<typeof createLocalJWKSet>[0];
    await expect(jwtVerify(c.prompt, createLocalJWKSet(assertionKeys))).rejects.toThrow();

    const ok = await extPost(`/.stepgate/api/challenges/${c.id}/verify`, ann, { method: 'totp', code: await ann.code() });
    expect(ok.status).toBe(200);
    const res = await held;
    expect(res.status).toBe(200);
    expect(await deletesSeen('m=ext-approve')).toHaveLength(1);
    // The approval was spent by the held request: repeating it is challenged again.
    expect((await gw('/api/projects/83?m=ext-approve', { method: 'DELETE', headers: { cookie: ann.cookie } })).status).toBe(401);
    expect(await deletesSeen('m=ext-approve')).toHaveLength(1);
    expect(await pending(ann)).not.toContainEqual(expect.objectContaining({ id: c.id }));
  });

  it('is refused with ERR_STEP_UP_DENIED when the person denies it, and the denial is audited', async () => {
    const held = marked(ann, '/api/projects/84?m=ext-deny');
    const c = await waitForPending(ann, '/api/projects/84');
    expect((await extPost(`/.stepgate/api/challenges/${c.id}/deny`, ann)).status).toBe(200);
    const res = await held;
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'ERR_STEP_UP_DENIED' });
    expect(await deletesSeen('m=ext-deny')).toEqual([]);
    expect((await extPost(`/.stepgate/api/challenges/${c.id}/deny`, ann)).status).toBe(404); // gone
    const ring = parseKeyring(env.STEPGATE_KEYS);
    const { events } = await listEvents(
      env.DB,
      ring,
      'default',
      { user: 'ann-ext', types: ['request.denied'] },
      { limit: 10, order: 'desc' },
    );
    expect(events[0]!.event).toMatchObject({
      reason: 'denied-by-user',
      rule: 'delete-project',
      details: { method: 'DELETE', path: '/api/projects/84' },
    });
  });

  it('answers the normal 401 when nobody answers in time, and the approval can still be given', async () => {
    const quick = { ...env, HOLD_SECONDS: '1' };
    const g = createGateway(quick);
    const res = await g.fetch(
      new Request(`${ORIGIN}/api/projects/85?m=ext-timeout`, {
        method: 'DELETE',
        headers: { cookie: ann.cookie, 'stepgate-extension': '1', origin: ORIGIN },
      }),
      quick,
      createExecutionContext(),
    );
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'ERR_STEP_UP_REQUIRED', challenge_id: expect.any(String) });
    expect(await deletesSeen('m=ext-timeout')).toEqual([]);
  });

  it(
    'another session sees it only as another browser’s request (number matching); ' +
      'a cross-site deny is refused; another user sees nothing',
    async () => {
      const held = marked(ann, '/api/projects/86?m=ext-other');
      const c = await waitForPending(ann, '/api/projects/86');
      const other = { ...ann, cookie: await sessionCookie('ann-ext', 'another-session') };
      expect((await pending(other)).find((x) => x.id === c.id)).toMatchObject({ other_session: true });
      const stranger = { ...ann, cookie: await sessionCookie('not-ann', 'x') };
      expect(await pending(stranger)).toEqual([]);
      expect((await post(`/.stepgate/api/challenges/${c.id}/deny`, stranger.cookie, {}, { origin: EXT })).status).toBe(404);
      expect((await post(`/.stepgate/api/challenges/${c.id}/deny`, ann.cookie, {}, { origin: 'https://evil.example' })).status).toBe(403);
      // The person may deny it from their other browser (no number needed to refuse).
      expect((await post(`/.stepgate/api/challenges/${c.id}/deny`, other.cookie, {}, { origin: EXT })).status).toBe(200);
      expect((await held).status).toBe(403);
    },
  );

  it(`is rationed: at most ${MAX_PROMPTS_PER_MINUTE} prompts per person per minute (push bombing), then 429`, async () => {
    const bo = await enrolTotp('bo-ext');
    const quick = { ...env, HOLD_SECONDS: '1' };
    const g = createGateway(quick);
    const send = (i: number) =>
      g.fetch(
        new Request(`${ORIGIN}/api/projects/${94 + i}?m=ext-bomb`, {
          method: 'DELETE',
          headers: { cookie: bo.cookie, 'stepgate-extension': '1', origin: ORIGIN },
        }),
        quick,
        createExecutionContext(),
      );
    const answers = await Promise.all(Array.from({ length: MAX_PROMPTS_PER_MINUTE + 3 }, (_, i) => send(i + 1)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 401)).toHaveLength(MAX_PROMPTS_PER_MINUTE);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);
    const limited = answers.find((r) => r.status === 429)!;
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ code: 'ERR_TOO_MANY_PROMPTS' });
    expect(await deletesSeen('m=ext-bomb')).toEqual([]);
  });

  it('unmarked requests are answered at once as before (no hold)', async () => {
    const t0 = Date.now();
    const r = await gw('/api/projects/87?m=ext-unmarked', { method: 'DELETE', headers: { cookie: ann.cookie } });
    expect(r.status).toBe(401);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe('number matching: approving from another browser', () => {
  it('another session of the same person sees the one-time challenge without its number, approves only with it typed', async () => {
    const cy = await enrolTotp('cy-ext', 'cy-laptop'); // the browser that makes the request (no extension)
    const phone = { ...cy, cookie: await sessionCookie('cy-ext', 'cy-other-browser') }; // the browser with the extension
    const path = '/api/projects/88?m=ext-number';
    const first = await gw(path, { method: 'DELETE', headers: { cookie: cy.cookie } });
    expect(first.status).toBe(401);
    const { challenge_id, number } = (await first.json()) as { challenge_id: string; number: number };
    expect(number).toBeGreaterThanOrEqual(100);
    expect(number).toBeLessThanOrEqual(999);
    // The step-up page in the first browser shows the number.
    const page = await (await gw(`/.stepgate/challenge/${challenge_id}`, { headers: { cookie: cy.cookie } })).text();
    expect(page).toMatch(new RegExp(`>${number}<`));

    const listed = (await pending(phone)).find((c) => c.id === challenge_id) as unknown as Record<string, unknown> & { prompt: string };
    expect(listed).toMatchObject({ other_session: true });
    expect(listed).not.toHaveProperty('number');
    expect(listed).not.toHaveProperty('number_choices');
    const jwks = (await (await gw('/.well-known/stepgate/prompt-jwks.json')).json()) as Parameters<typeof createLocalJWKSet>[0];
    const { payload } = await jwtVerify(listed.prompt, createLocalJWKSet(jwks), { audience: 'app.test' });
    expect(payload).toMatchObject({ other_session: true });
    expect(payload).not.toHaveProperty('number');
    expect(payload).not.toHaveProperty('number_choices');

    const wrong = number === 999 ? 998 : number + 1;
    const bad = await extPost(`/.stepgate/api/challenges/${challenge_id}/verify`, phone, {
      method: 'totp',
      code: await cy.code(),
      number: wrong,
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'ERR_NUMBER_MISMATCH' });
    const none = await extPost(`/.stepgate/api/challenges/${challenge_id}/verify`, phone, { method: 'totp', code: '000000' });
    expect(none.status).toBe(400); // no number from another session: refused before any code is checked
    const ok = await extPost(`/.stepgate/api/challenges/${challenge_id}/verify`, phone, {
      method: 'totp',
      code: await cy.code(),
      number,
    });
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect(ok.headers.get('set-cookie')).toBeNull();
    // The approval belongs to the browser that made the request: its identical DELETE passes, once.
    expect((await gw(path, { method: 'DELETE', headers: { cookie: phone.cookie } })).status).toBe(401);
    expect((await gw(path, { method: 'DELETE', headers: { cookie: cy.cookie } })).status).toBe(200);
    expect((await gw(path, { method: 'DELETE', headers: { cookie: cy.cookie } })).status).toBe(401);
    expect(await deletesSeen('m=ext-number')).toHaveLength(1);
  });

  it('session grants are never approved from another browser', async () => {
    const dee = await enrolTotp('dee-ext', 'dee-laptop');
    const other = { ...dee, cookie: await sessionCookie('dee-ext', 'dee-other') };
    const r = await gw('/admin/settings', {
      method: 'POST',
      headers: { cookie: dee.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'support_email=a%40b.c',
    });
    const { challenge_id, number } = (await r.json()) as { challenge_id: string; number: number };
    expect(await pending(other)).toEqual([]);
    expect(
      (await extPost(`/.stepgate/api/challenges/${challenge_id}/verify`, other, { method: 'totp', code: await dee.code(), number })).status,
    ).toBe(404);
  });
});

describe('held requests and the audit record (review findings)', () => {
  for (const [name, path] of [
    ['a one-time approval', '/api/projects/89?m=ext-audit-action'],
    ['a session grant', '/admin/users/7?m=ext-audit-session'],
  ] as const) {
    it(`${name} that cannot be recorded does not release the held request`, async () => {
      const p = await enrolTotp(`eh-${name.length}`);
      const held = marked(p, path);
      const c = await waitForPending(p, path.split('?')[0]!);
      const code = await p.code();
      // Only the approval's record fails (the audit log cannot take it for a moment), nothing else.
      const fault = await refuseAudit('eh_fail', "NEW.type = 'factor.verified'");
      let verify: Response;
      try {
        verify = await extPost(`/.stepgate/api/challenges/${c.id}/verify`, p, { method: 'totp', code });
      } finally {
        await fault.drop();
      }
      expect(verify.status).toBe(503);
      expect((await held).status).not.toBe(200);
      const marker = path.split('=')[1]!;
      const reached = ((await (await fetch(`${originUrl}/__demo/requests`)).json()) as { method: string; url: string }[]).filter((r) =>
        r.url.includes(marker),
      );
      expect(reached).toEqual([]);
    });
  }

  it('a marker on a request from another site is ignored: answered at once, nothing held', async () => {
    const t0 = Date.now();
    const r = await gw('/api/projects/90?m=ext-cross', {
      method: 'DELETE',
      headers: { cookie: ann.cookie, 'stepgate-extension': '1', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(r.status).toBe(401);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect((await pending(ann)).find((x) => x.action.path === '/api/projects/90')).toMatchObject({ held: false });
  });

  it('denials slow the prompts too: while a person backs off, no new prompt is raised', async () => {
    const g = env.USER_STATE.get(env.USER_STATE.idFromName('user:bombed'));
    let now = Date.now();
    await runInDurableObject(g, (i) => {
      (i as UserState).now = () => now;
    });
    const input = {
      sid: 's',
      rule: 'delete-project',
      bind: 'action' as const,
      factors: ['totp'],
      maxAgeSeconds: 300,
      actionDigest: 'd',
      action: { method: 'DELETE', host: 'app.test', path: '/x', query: '', bodySha256: '' },
      matchedMethod: 'DELETE',
      prompt: true,
    };
    const refusedAt: number[] = [];
    for (let i = 0; i < 14; i++) {
      now += 12_001; // five a minute: never over the per-minute budget
      const ok = await g.allowPrompt();
      if (!ok.ok) {
        refusedAt.push(i);
        continue;
      }
      const ch = await g.createChallenge({ ...input, actionDigest: `d${i}` });
      // Denied in the person's other browser: a session denying its own challenges does not count.
      expect(await g.denyChallenge(ch.id, 'the-persons-phone')).toMatchObject({ otherSession: true, counted: true });
    }
    // The back-off that each denial feeds (doubling from the fifth) stops the prompts as well.
    expect(refusedAt.length).toBeGreaterThan(0);
  });
});
