/**
 * Navigations on the request path (edge/request-path/navigation.ts): a browser following a link or
 * sending a form gets a redirect or a page, never problem+json; the way back it is given is a path on
 * this site only; programs keep their problem+json answers exactly as before.
 */
import { createExecutionContext, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createGateway } from '../../edge/gateway';
import { isNavigation } from '../../edge/http/responses';
import { returnPath, returnPathOfUrl } from '../../shared/return-path';
import { enrolTotp, gw, ORIGIN, post } from '../support/edge-flow';
import { sessionCookie } from '../support/session';

/** What a browser sends with a form it submits from `from` on this site. */
const formFrom = (from: string | null, cookie?: string): Record<string, string> => ({
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
  accept: 'text/html,application/xhtml+xml',
  'content-type': 'application/x-www-form-urlencoded',
  origin: ORIGIN,
  ...(from === null ? {} : { referer: from }),
  ...(cookie ? { cookie } : {}),
});
const saveSettings = (headers: Record<string, string>) =>
  gw('/admin/settings', { method: 'POST', body: 'support_email=a%40example.com', headers, redirect: 'manual' });
const continueHeld = (id: string, query: string, headers: Record<string, string>) =>
  gw(`/.stepgate/challenge/${id}/continue${query}`, { method: 'POST', headers, redirect: 'manual' });
const GONE = 'g'.repeat(22);
/** The links of a Stepgate page, past its stylesheet. */
const linksOf = (html: string) => [...html.matchAll(/<a [^>]*href="([^"]*)"/g)].map((m) => m[1]);

describe('a form sent without a usable session', () => {
  it('is sent (303) to the app’s login with the page it came from as the way back', async () => {
    const res = await saveSettings(formFrom(`${ORIGIN}/admin?tab=mail`));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?return_to=%2Fadmin%3Ftab%3Dmail');
  });

  it('does the same for an expired or forged session', async () => {
    const forged = 'demo_session=eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.';
    const res = await saveSettings(formFrom(`${ORIGIN}/admin`, forged));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?return_to=%2Fadmin');
  });

  it('goes to the login without a way back when it came from no page of this site', async () => {
    for (const from of [null, 'https://evil.example/admin', `${ORIGIN}//evil.example/x`, `${ORIGIN}/\\evil.example`]) {
      const res = await saveSettings(formFrom(from));
      expect(res.status, String(from)).toBe(303);
      expect(res.headers.get('location'), String(from)).toBe('/login');
    }
  });

  it('a program still gets 401 problem+json, unchanged', async () => {
    const programs: Record<string, string>[] = [
      { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
      // A fetch asking for HTML is still a program: only a navigation gets a page.
      { accept: 'text/html', 'sec-fetch-mode': 'cors', origin: ORIGIN, referer: `${ORIGIN}/admin` },
    ];
    for (const headers of programs) {
      const res = await saveSettings(headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(await res.json()).toMatchObject({ code: 'ERR_IDENTITY_REQUIRED' });
    }
  });
});

describe('what counts as a navigation', () => {
  /** Java's HttpURLConnection sends this Accept by default; it is not a browser. */
  const JAVA_ACCEPT = 'text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2';

  it('a program sending a write with an Accept that names HTML gets 401 problem+json, not a redirect it would follow', async () => {
    const writes = [
      saveSettings({ accept: JAVA_ACCEPT, 'content-type': 'application/x-www-form-urlencoded' }),
      gw('/api/projects/1', { method: 'DELETE', headers: { accept: 'text/html, */*' }, redirect: 'manual' }),
    ];
    for (const res of await Promise.all(writes)) {
      expect(res.status).toBe(401);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(await res.json()).toMatchObject({ code: 'ERR_IDENTITY_REQUIRED' });
    }
  });

  it('a form a browser sends (fetch metadata says navigate, or a document) still goes to the login', async () => {
    const form = { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN };
    for (const metadata of [{ 'sec-fetch-mode': 'navigate' }, { 'sec-fetch-dest': 'document' }] as Record<string, string>[]) {
      const res = await saveSettings({ ...form, ...metadata });
      expect(res.status, JSON.stringify(metadata)).toBe(303);
      expect(res.headers.get('location')).toBe('/login');
    }
  });

  it('a link (GET, HEAD) asking for HTML counts without fetch metadata (older browsers); any other method does not', () => {
    const req = (method: string, headers: Record<string, string>) => new Request(`${ORIGIN}/admin`, { method, headers });
    expect(isNavigation(req('GET', { accept: 'text/html,application/xhtml+xml' }))).toBe(true);
    expect(isNavigation(req('HEAD', { accept: 'text/html' }))).toBe(true);
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      expect(isNavigation(req(method, { accept: JAVA_ACCEPT })), method).toBe(false);
      expect(isNavigation(req(method, { accept: 'text/html', 'sec-fetch-mode': 'navigate' })), method).toBe(true);
      expect(isNavigation(req(method, { 'sec-fetch-dest': 'document' })), method).toBe(true);
    }
    // Fetch metadata, when sent, decides: a fetch asking for HTML is a program.
    expect(isNavigation(req('GET', { accept: 'text/html', 'sec-fetch-mode': 'cors' }))).toBe(false);
    expect(isNavigation(req('GET', { accept: 'text/html', 'sec-fetch-dest': 'empty' }))).toBe(false);
  });
});

describe('the step-up page itself (a link, a reload, Back)', () => {
  const open = (id: string, headers: Record<string, string>) => gw(`/.stepgate/challenge/${id}`, { headers, redirect: 'manual' });
  const link = (from: string | null, cookie?: string): Record<string, string> => {
    const { 'content-type': _, origin: __, ...rest } = formFrom(from, cookie);
    return rest;
  };

  it('whose confirmation has ended: a page in words (404) with the way back, never JSON', async () => {
    const cookie = await sessionCookie('nav-ended');
    const page = await open(GONE, link(`${ORIGIN}/projects`, cookie));
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('This confirmation has ended');
    expect(html).toContain('start it again');
    expect(html).not.toMatch(/ERR_|challenge/i);
    expect(linksOf(html)).toEqual(['/projects']);
  });

  it('reloaded or opened from another step-up page or another site: the way back is the start page', async () => {
    const cookie = await sessionCookie('nav-reload');
    for (const from of [`${ORIGIN}/.stepgate/challenge/${GONE}`, 'https://evil.example/x', `${ORIGIN}/..//evil.example/x`, null]) {
      const html = await (await open(GONE, link(from, cookie))).text();
      expect(linksOf(html), String(from)).toEqual(['/']);
    }
  });

  it('signed out: 303 to the app’s login, the way back the page they came from', async () => {
    const res = await open(GONE, link(`${ORIGIN}/projects`));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?return_to=%2Fprojects');
  });

  it('a program (fetch) keeps problem+json', async () => {
    const cookie = await sessionCookie('nav-ended-api');
    const ended = await open(GONE, { cookie, accept: 'text/html', 'sec-fetch-mode': 'cors' });
    expect(ended.status).toBe(404);
    expect(await ended.json()).toMatchObject({ code: 'ERR_CHALLENGE_NOT_FOUND' });
    const signedOut = await open(GONE, { accept: 'application/json' });
    expect(signedOut.status).toBe(401);
    expect(await signedOut.json()).toMatchObject({ code: 'ERR_IDENTITY_REQUIRED' });
  });

  it('a confirmation still waiting is shown as before', async () => {
    const p = await enrolTotp('nav-waiting');
    const held = await saveSettings(formFrom(`${ORIGIN}/admin`, p.cookie));
    const id = held.headers.get('stepgate-challenge')!;
    const page = await open(id, link(`${ORIGIN}/admin`, p.cookie));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Confirm it is you');
  });
});

describe('a session that reads two ways', () => {
  it('is refused (400) with a page for a browser and problem+json for a program', async () => {
    const [a, b] = [await sessionCookie('nav-amb-a'), await sessionCookie('nav-amb-b')];
    const cookie = `${a}; ${b}`;
    const page = await saveSettings(formFrom(`${ORIGIN}/admin`, cookie));
    expect(page.status).toBe(400);
    expect(page.headers.get('content-type')).toContain('text/html');
    const text = await page.text();
    expect(text).toContain('Your session could not be read');
    expect(text).not.toContain('ERR_');
    const api = await saveSettings({ cookie, accept: 'application/json', origin: ORIGIN });
    expect(api.status).toBe(400);
    expect(await api.json()).toMatchObject({ code: 'ERR_AMBIGUOUS_IDENTITY' });
  });
});

describe('carrying out a held form ("continue")', () => {
  it('whose held request is gone: a page in words (404) with the way back; a program gets problem+json', async () => {
    const cookie = await sessionCookie('nav-gone');
    const page = await continueHeld(GONE, '?return=%2Fadmin', formFrom(`${ORIGIN}/admin/settings`, cookie));
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain('This action is no longer waiting');
    expect(html).not.toMatch(/ERR_|problem\+json/);
    expect(linksOf(html)).toEqual(['/admin']);
    const api = await continueHeld(GONE, '?return=%2Fadmin', { cookie, origin: ORIGIN });
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ code: 'ERR_CHALLENGE_NOT_FOUND' });
  });

  it('with a way back that is not a path on this site: the link goes to the start page', async () => {
    const cookie = await sessionCookie('nav-evil');
    for (const back of [
      'https://evil.example/x',
      '//evil.example/x',
      '/\\evil.example',
      '/%5Cevil.example',
      '/%2F%2Fevil.example',
      '/%2f/evil.example',
    ]) {
      const res = await continueHeld(GONE, `?return=${encodeURIComponent(back)}`, formFrom(null, cookie));
      const html = await res.text();
      expect(linksOf(html), back).toEqual(['/']);
      expect(html, back).not.toContain('evil.example');
    }
  });

  it('after the session ended: 303 to the login with the way back', async () => {
    const res = await continueHeld(GONE, '?return=%2Fadmin', formFrom(`${ORIGIN}/admin/settings`));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?return_to=%2Fadmin');
    const forged = await continueHeld(GONE, '?return=%2F%2Fevil.example', formFrom(null));
    expect(forged.headers.get('location')).toBe('/login');
  });

  it('sent from another site: a page (403), nothing carried out', async () => {
    const cookie = await sessionCookie('nav-xsite');
    const res = await continueHeld(GONE, '', { ...formFrom(null, cookie), origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('This came from another site');
  });

  it('ends where the app’s answer sends the person, and the step-up page carries the way back', async () => {
    const p = await enrolTotp('nav-held');
    const held = await saveSettings(formFrom(`${ORIGIN}/admin`, p.cookie));
    expect(held.status).toBe(401);
    const id = held.headers.get('stepgate-challenge')!;
    expect(await held.text()).toContain(`action="/.stepgate/challenge/${id}/continue?return=%2Fadmin"`);
    const ok = await post(`/.stepgate/api/challenges/${id}/verify`, p.cookie, { method: 'totp', code: await p.code() });
    expect(ok.status).toBe(200);
    const grant = ok.headers.get('set-cookie')!.split(';')[0]!;
    const done = await continueHeld(id, '?return=%2Fadmin', formFrom(`${ORIGIN}/admin/settings`, `${p.cookie}; ${grant}`));
    // The app's own answer, passed through as it is (the demo app answers a form with 303 back to its page).
    expect(done.headers.get('content-type') ?? '').not.toContain('problem+json');
    expect(done.status).toBeLessThan(400);
  });
});

describe('carrying out a dual-control request from its page ("Carry it out")', () => {
  const id = 'A'.repeat(16);
  const carryOut = (headers: Record<string, string>) =>
    gw(`/.stepgate/approvals/${id}/carry-out`, { method: 'POST', headers, redirect: 'manual' });

  it('after the session ended: 303 to the login, back to the request’s page', async () => {
    const res = await carryOut(formFrom(`${ORIGIN}/.stepgate/approvals/${id}`));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/login?return_to=${encodeURIComponent(`/.stepgate/approvals/${id}`)}`);
  });

  it('sent from another site: a page (403) linking to the request’s page; a program gets problem+json', async () => {
    const cookie = await sessionCookie('nav-carry');
    const page = await carryOut({ ...formFrom(null, cookie), origin: 'https://evil.example' });
    expect(page.status).toBe(403);
    expect(linksOf(await page.text())).toEqual([`/.stepgate/approvals/${id}`]);
    const api = await carryOut({ cookie, origin: 'https://evil.example' });
    expect(await api.json()).toMatchObject({ code: 'ERR_FORBIDDEN' });
  });
});

describe('an application that cannot be reached', () => {
  it('is a page for a browser (502) and problem+json for a program', async () => {
    const g = createGateway({ ...env, ORIGIN_URL: 'http://127.0.0.1:9' });
    const get = (headers: Record<string, string>) => g.fetch(new Request(`${ORIGIN}/projects`, { headers }), env, createExecutionContext());
    const page = await get({ 'sec-fetch-mode': 'navigate', accept: 'text/html' });
    expect(page.status).toBe(502);
    const html = await page.text();
    expect(html).toContain('The application did not answer');
    expect(linksOf(html)).toEqual(['/projects']);
    const api = await get({ accept: 'application/json' });
    expect(api.status).toBe(502);
    expect(await api.json()).toMatchObject({ code: 'ERR_ORIGIN_UNREACHABLE' });
  });
});

describe('returnPath', () => {
  it('keeps a path on this site and refuses anything a browser could read as another host', () => {
    expect(returnPath('/admin?tab=2#x')).toBe('/admin?tab=2#x');
    expect(returnPath('/')).toBe('/');
    for (const bad of [
      'https://evil.example/',
      '//evil.example',
      '/\\evil.example',
      '/a\\b',
      '/%5Cevil.example',
      '/%2F%2Fevil.example',
      '/%2f/evil.example',
      '%2F%2Fevil.example',
      'admin',
      '/ad min',
      '/a\tb',
      '/%0d%0aSet-Cookie:x',
      '/%E0%A4%A',
      `/${'a'.repeat(2048)}`,
      '',
      null,
      undefined,
    ])
      expect(returnPath(bad), String(bad)).toBeNull();
  });

  it('reads a same-origin URL (a Referer) as its path, and nothing else', () => {
    expect(returnPathOfUrl('http://app.test/admin?x=1', ORIGIN)).toBe('/admin?x=1');
    expect(returnPathOfUrl('http://app.test:8080/admin', ORIGIN)).toBeNull();
    expect(returnPathOfUrl('https://app.test/admin', ORIGIN)).toBeNull();
    expect(returnPathOfUrl('http://evil.example/admin', ORIGIN)).toBeNull();
    expect(returnPathOfUrl('not a url', ORIGIN)).toBeNull();
  });
});
