/**
 * A person in real Chromium against `npm start`: a navigation (a link, a form) never ends on raw
 * JSON or stuck on a Stepgate address. Without a session (or with an expired one) a form goes to the
 * app's login with the way back; the admin settings "save" ends on the app's page after the step-up;
 * carrying out an action that is no longer waiting shows a page in words with a same-origin way back.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDevVars } from '../../edge/node/dev/dev-vars';
import { expectAccessible, expectNoHorizontalOverflow } from '../support/axe';
import { launchChromium } from '../support/chromium';
import { person } from '../support/console-browser';
import { ROOT } from '../support/miniflare-gateway';
import { npmStart, type StartedDemo } from '../support/npm-start';

let demo: StartedDemo;
let browser: Browser;
const artifacts = join(ROOT, 'test-results/e2e');
const WIDTHS = [1280, 360] as const;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  [demo, browser] = await Promise.all([npmStart(), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

/** Axe, no sideways scrolling, and a screenshot, at desktop and phone width. */
async function lookAt(page: Page, name: string): Promise<void> {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 800 });
    await expectAccessible(page, `${name} at ${width}px`);
    await expectNoHorizontalOverflow(page, `${name} at ${width}px`);
    await page.screenshot({ path: join(artifacts, `navigation-${name}-${width}.png`), fullPage: true });
  }
}

/** What the browser shows is a page, not a JSON body. */
async function expectAPage(page: Page): Promise<void> {
  const type = await page.evaluate(() => document.contentType);
  expect(type).toBe('text/html');
}

/** The demo app's session cookie, signed with the development secret `npm start` uses, already expired. */
async function expiredSession(): Promise<string> {
  const { IDENTITY_JWT_SECRET } = parseDevVars(readFileSync(join(ROOT, '.dev.vars'), 'utf8'));
  const past = Math.floor(Date.now() / 1000) - 3600;
  return new SignJWT({ sid: 'expired-session' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('nora')
    .setIssuer('stepgate-demo')
    .setAudience('stepgate-demo')
    .setIssuedAt(past - 3600)
    .setExpirationTime(past)
    .sign(new TextEncoder().encode(IDENTITY_JWT_SECRET!));
}

describe('a form sent without a usable session', () => {
  it('goes to the app’s login with the page it came from as the way back (no session)', async () => {
    const page = await browser.newPage();
    await page.goto(`${demo.gateway}/admin`);
    await page.fill('input[name=support_email]', 'nobody@example.com');
    await Promise.all([page.waitForURL(/\/login\?/), page.click('form button')]);
    // Before: 401 and a JSON body at /admin/settings.
    expect(page.url()).toBe(`${demo.gateway}/login?return_to=%2Fadmin`);
    // Signing in there brings the person back to the form.
    await page.goto(`${demo.gateway}/login?user=nora&return_to=%2Fadmin`);
    expect(page.url()).toBe(`${demo.gateway}/admin`);
    await page.close();
  });

  it('goes to the app’s login the same way when the session has expired', async () => {
    const ctx = await browser.newContext();
    await ctx.addCookies([{ name: 'demo_session', value: await expiredSession(), url: demo.gateway }]);
    const page = await ctx.newPage();
    await page.goto(`${demo.gateway}/admin`);
    await page.fill('input[name=support_email]', 'late@example.com');
    await Promise.all([page.waitForURL(/\/login\?/), page.click('form button')]);
    expect(page.url()).toBe(`${demo.gateway}/login?return_to=%2Fadmin`);
    await ctx.close();
  });

  it('with the session cookie set twice (two paths): a page saying so, not JSON', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${demo.gateway}/login?user=nav-twice&return_to=%2Fadmin`);
    // The app set its cookie under a second path too: the browser sends both names to /admin/….
    const [own] = await ctx.cookies();
    await ctx.addCookies([{ name: own!.name, value: await expiredSession(), domain: own!.domain, path: '/admin' }]);
    await page.fill('input[name=support_email]', 'twice@example.com');
    await Promise.all([page.waitForURL(`${demo.gateway}/admin/settings`), page.click('form button')]);
    await expectAPage(page);
    const text = (await page.textContent('main')) ?? '';
    expect(text).toContain('Your session could not be read');
    expect(text).not.toMatch(/ERR_|problem/);
    await lookAt(page, 'session-twice');
    await ctx.close();
  });

  it('an API caller still gets its problem+json answer', async () => {
    const res = await fetch(`${demo.gateway}/admin/settings`, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(((await res.json()) as { code: string }).code).toBe('ERR_IDENTITY_REQUIRED');
  });
});

describe('after a step-up, a held form', () => {
  it('saves admin settings and ends on the app’s page, not on JSON at a Stepgate address', async () => {
    const nora = await person(browser, new URL(demo.gateway).port, 'nav-nora');
    const page = nora.page;
    await page.goto(`${demo.gateway}/admin`);
    await page.fill('input[name=support_email]', 'help@example.com');
    await page.click('form button');
    await page.waitForSelector('#totp-form');
    await page.fill('#totp-code', await nora.code());
    await Promise.all([
      page.waitForURL((u) => !u.pathname.startsWith('/.stepgate/') && u.pathname !== '/admin/settings'),
      page.click('#totp-form button'),
    ]);
    // Before: the browser stayed on /.stepgate/challenge/…/continue showing {"saved":…}.
    expect(new URL(page.url()).pathname).toBe('/admin');
    await expectAPage(page);
    expect(await page.inputValue('input[name=support_email]')).toBe('help@example.com');
    // The app's own page (the demo app's): looked at, not checked here (test/e2e/quickstart.test.ts checks it).
    await page.screenshot({ path: join(artifacts, 'navigation-admin-saved.png'), fullPage: true });
    await nora.ctx.close();
  });

  it('carried out already (or expired): a page in words with the way back, never JSON', async () => {
    const page = await browser.newPage();
    await page.goto(`${demo.gateway}/login?user=nav-gone&return_to=%2Fadmin`);
    // The continue form of a step-up page whose held request is gone (used, expired or denied).
    await page.evaluate(() => {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = `/.stepgate/challenge/${'x'.repeat(22)}/continue?return=%2Fadmin`;
      document.body.append(form);
      form.submit();
    });
    await page.waitForURL(/\/continue/);
    await page.waitForLoadState('load');
    await expectAPage(page);
    const text = (await page.textContent('main')) ?? '';
    expect(text).toContain('no longer waiting');
    expect(text).not.toMatch(/ERR_|POST|problem/);
    await lookAt(page, 'held-gone');
    await Promise.all([page.waitForURL(`${demo.gateway}/admin`), page.getByRole('link', { name: /back/i }).click()]);
    await page.close();
  });

  it('the way back stays on this site: an absolute URL, //host, a backslash or an encoded one goes to the start page', async () => {
    const page = await browser.newPage();
    await page.goto(`${demo.gateway}/login?user=nav-back`);
    for (const back of [
      'https://evil.example/x',
      '//evil.example/x',
      '/\\evil.example/x',
      '/%5Cevil.example',
      '/%2F%2Fevil.example',
      '%2F%2Fevil.example',
    ]) {
      const res = await page.request.post(
        `${demo.gateway}/.stepgate/challenge/${'y'.repeat(22)}/continue?return=${encodeURIComponent(back)}`,
        {
          headers: { origin: demo.gateway, 'sec-fetch-mode': 'navigate', accept: 'text/html' },
          maxRedirects: 0,
        },
      );
      expect(res.headers()['content-type']).toContain('text/html');
      const html = await res.text();
      const hrefs = [...html.matchAll(/<a [^>]*href="([^"]*)"/g)].map((m) => m[1]);
      expect(hrefs, back).toEqual(['/']);
      expect(html).not.toContain('evil.example');
    }
    await page.close();
  });
});

describe('the step-up page at its own address (an old link, a reload, Back after carrying it out)', () => {
  it('once the action was carried out: a page in words with the way back, never JSON', async () => {
    const nora = await person(browser, new URL(demo.gateway).port, 'nav-ended');
    const page = nora.page;
    await page.goto(`${demo.gateway}/admin`);
    await page.fill('input[name=support_email]', 'ended@example.com');
    const [held] = await Promise.all([
      page.waitForResponse((r) => r.headers()['stepgate-challenge'] !== undefined),
      page.click('form button'),
    ]);
    const id = held.headers()['stepgate-challenge']!;
    await page.waitForSelector('#totp-form');
    await page.fill('#totp-code', await nora.code());
    await Promise.all([page.waitForURL(`${demo.gateway}/admin`), page.click('#totp-form button')]);
    // Before: {"type":…,"code":"ERR_CHALLENGE_NOT_FOUND",…} as the page.
    await page.goto(`${demo.gateway}/.stepgate/challenge/${id}`, { referer: `${demo.gateway}/admin` });
    await expectAPage(page);
    const text = (await page.textContent('main')) ?? '';
    expect(text).toContain('This confirmation has ended');
    expect(text).not.toMatch(/ERR_|problem|challenge/i);
    await lookAt(page, 'step-up-ended');
    await Promise.all([page.waitForURL(`${demo.gateway}/admin`), page.getByRole('link', { name: /back/i }).click()]);
    await nora.ctx.close();
  });

  it('signed out: goes to the app’s login, not JSON', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${demo.gateway}/.stepgate/challenge/${'z'.repeat(22)}`, { referer: `${demo.gateway}/admin` });
    expect(page.url()).toBe(`${demo.gateway}/login?return_to=%2Fadmin`);
    await expectAPage(page);
    await ctx.close();
  });
});
