/**
 * The step-up page as a person uses it, in real Chromium against `npm start` (issue 16, items 3–5,
 * 7, 8): it offers only the ways to confirm the person has, strongest first, and sends someone with
 * none to set one up with a way back; a wrong code says how many tries are left, and after the last
 * one (or during a lock-out) the page says what happened and what to do next and its form is
 * disabled; the action is described in words; it works with the keyboard alone. Every state is
 * checked with axe and for sideways scrolling at 1280 and 360 px, and photographed.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, expectNoHorizontalOverflow } from '../support/axe';
import { launchChromium } from '../support/chromium';
import { ROOT } from '../support/miniflare-gateway';
import { npmStart, type StartedDemo } from '../support/npm-start';
import { awaitRoomInStep } from '../support/totp-step';

let demo: StartedDemo;
let browser: Browser;
const artifacts = join(ROOT, 'test-results/e2e');
const now = () => Math.floor(Date.now() / 1000);
/** The old page's words: they must never come back. */
const OLD_WORDS = ['No such challenge', 'sent as POST', 'asking for', 'Pick ', 'ERR_', 'rule “'];

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  [demo, browser] = await Promise.all([npmStart(), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

/** A signed-in person in their own browser context (their own app session). */
async function signIn(user: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(`${demo.gateway}/login?user=${user}`);
  return page;
}

/** Enrol an authenticator app through the enrolment API (the enrol page is tested elsewhere); its secret. */
async function enrolTotp(page: Page): Promise<string> {
  const headers = { origin: demo.gateway };
  const started = await page.request.post(`${demo.gateway}/.stepgate/api/factors/totp`, { data: {}, headers });
  expect(started.status()).toBe(201);
  const { id, secret } = (await started.json()) as { id: string; secret: string };
  await awaitRoomInStep();
  const confirmed = await page.request.post(`${demo.gateway}/.stepgate/api/factors/totp/${id}/confirm`, {
    data: { code: await generate({ secret, epoch: now() - 30 }) },
    headers,
  });
  expect(confirmed.status()).toBe(200);
  return secret;
}

/** A six-digit code that none of the accepted time steps (±1) would take. */
async function wrongCode(secret: string): Promise<string> {
  const valid = new Set(await Promise.all([-30, 0, 30].map((d) => generate({ secret, epoch: now() + d }))));
  return ['000000', '111111', '222222'].find((c) => !valid.has(c))!;
}

/** Click Delete next to a project on the demo app's projects page: the step-up page answers in its place. */
async function deleteProject(page: Page, name: string): Promise<void> {
  await page.goto(`${demo.gateway}/projects`);
  await page.locator('li', { hasText: name }).getByRole('button', { name: 'Delete' }).click();
  await page.waitForSelector('#challenge');
}

const projects = async (page: Page) =>
  ((await (await page.request.get(`${demo.gateway}/api/projects`)).json()) as { name: string }[]).map((p) => p.name);

/** Photograph the page as it is at 1280 and at 360 px, and check both widths with axe and for sideways scrolling. */
async function checkState(page: Page, name: string): Promise<void> {
  for (const width of [1280, 360]) {
    await page.setViewportSize({ width, height: width === 360 ? 780 : 900 });
    await page.screenshot({ path: join(artifacts, `step-up-${name}-${width}.png`), fullPage: true });
    await expectAccessible(page, `step-up page, ${name}, ${width} px`);
    await expectNoHorizontalOverflow(page, `step-up page, ${name}, ${width} px`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  const text = (await page.textContent('main')) ?? '';
  for (const old of OLD_WORDS) expect(text, `${name}: "${old}"`).not.toContain(old);
}

const statusText = async (page: Page) => ((await page.textContent('#status')) ?? '').trim();

describe('the ways to confirm', () => {
  it('offers only what the person has, strongest first: an app code, a recovery code behind a link, no passkey', async () => {
    const page = await signIn('tess');
    await enrolTotp(page);
    await deleteProject(page, 'Apollo');
    await expect.poll(() => page.isVisible('#totp-form')).toBe(true);
    // tess has no passkey: the page must not offer one (the old page did).
    expect(await page.isVisible('#passkey')).toBe(false);
    expect(await page.isVisible('#recovery-form')).toBe(false);
    expect(await page.textContent('#recovery-way summary')).toContain('Use a recovery code');
    expect(await page.isVisible('#no-factor')).toBe(false);
    // Strongest first: a passkey (for those who have one), then an app code, then a recovery code.
    const order = await page.$$eval('#ways > [id]', (els) => els.map((e) => e.id));
    expect(order).toEqual(['passkey-way', 'totp-form', 'recovery-way']);
    await checkState(page, 'app-code');
    await page.close();
  });

  it('sends a person with no way to confirm to set one up, with a way back to where they were', async () => {
    const page = await signIn('nina');
    await deleteProject(page, 'Borealis');
    await expect.poll(() => page.isVisible('#no-factor')).toBe(true);
    for (const way of ['#passkey', '#totp-form', '#recovery-way']) expect(await page.isVisible(way), way).toBe(false);
    const href = (await page.getAttribute('#no-factor a', 'href')) ?? '';
    const link = new URL(href, demo.gateway);
    expect(link.pathname).toBe('/.stepgate/enrol');
    expect(link.searchParams.get('return')).toBe('/projects');
    await checkState(page, 'no-factor');
    await page.close();
  });
});

describe('wrong codes and lock-outs', () => {
  let page: Page;
  let secret = '';
  beforeAll(async () => {
    page = await signIn('walt');
    secret = await enrolTotp(page);
  });

  it('says how many tries are left, and after the last one says what to do next and disables the form', async () => {
    await deleteProject(page, 'Cassini');
    await expect.poll(() => page.isVisible('#totp-form')).toBe(true);
    const seen: string[] = [];
    // The old page kept the form active: a sixth try said "Too many attempts", a seventh "No such challenge".
    for (let i = 0; i < 7 && !(await page.isDisabled('#totp-code')); i++) {
      await page.fill('#totp-code', await wrongCode(secret));
      const before = await statusText(page);
      await page.click('#totp-form button');
      await expect.poll(async () => (await statusText(page)) !== before && !(await statusText(page)).startsWith('Checking')).toBe(true);
      seen.push(await statusText(page));
      if (i === 0) await checkState(page, 'wrong-code');
    }
    expect(seen.slice(0, 4)).toEqual([4, 3, 2, 1].map((n) => `That code is not right. ${n} ${n === 1 ? 'try' : 'tries'} left.`));
    expect(seen).toHaveLength(5);
    await expect.poll(() => page.isVisible('#ended')).toBe(true);
    const ended = (await page.textContent('#ended')) ?? '';
    expect(ended).toContain('Nothing was sent');
    expect(ended).toContain('start the action again');
    expect(await page.getAttribute('#ended a', 'href')).toBe('/projects');
    expect(await page.isDisabled('#totp-code')).toBe(true);
    expect(await page.isDisabled('#totp-form button')).toBe(true);
    // The number for another device is gone too, and the keyboard lands on the way back.
    expect(await page.isVisible('#number')).toBe(false);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('ended-link');
    await checkState(page, 'no-tries-left');
    expect(await projects(page)).toContain('Cassini');
  });

  it('while the person is made to wait after many failures, says until when and takes no code until then', async () => {
    // Five failures in a row so far: each further one doubles the wait (2 s for the sixth).
    await deleteProject(page, 'Cassini');
    // Each further failure doubles the wait (2 s, 4 s, 8 s). On a loaded machine the answer to the first may
    // arrive when its 2 s are nearly over, and the page rightly shows no wait then: fail again until it does.
    let waiting = false;
    for (let i = 0; i < 3 && !waiting; i++) {
      await expect.poll(() => page.isEnabled('#totp-code'), { timeout: 20_000 }).toBe(true);
      await page.fill('#totp-code', await wrongCode(secret));
      await page.click('#totp-form button');
      // Answered: the wait shows, or the form is back with a reply (not "Checking…").
      const answered = async () =>
        (await page.isVisible('#wait')) || (!(await statusText(page)).startsWith('Checking') && (await page.isEnabled('#totp-code')));
      await expect.poll(answered).toBe(true);
      waiting = await page.isVisible('#wait');
    }
    expect(waiting).toBe(true);
    expect(await page.textContent('#wait')).toMatch(/Wait \d+ seconds: the form comes back by itself/);
    expect(await page.isDisabled('#totp-code')).toBe(true);
    await checkState(page, 'wait');
    // Then the form works again, with the tries this confirmation has left.
    await expect.poll(() => page.isEnabled('#totp-code'), { timeout: 20_000 }).toBe(true);
    expect(await page.isVisible('#wait')).toBe(false);
    await awaitRoomInStep();
    await page.fill('#totp-code', await generate({ secret, epoch: now() }));
    await Promise.all([page.waitForURL(`${demo.gateway}/projects`), page.click('#totp-form button')]);
    expect(await projects(page)).not.toContain('Cassini');
  });

  it('locked until an administrator unlocks: says so at once and offers no form', async () => {
    await page.route('**/.stepgate/api/challenges/*/how-to-answer', async (route) => {
      const real = await route.fetch();
      await route.fulfill({ response: real, json: { ...(await real.json()), locked_out: true, retry_at: null } });
    });
    await deleteProject(page, 'Borealis');
    await expect.poll(() => page.isVisible('#ended')).toBe(true);
    expect(await page.textContent('#ended')).toContain('administrator');
    expect(await page.isDisabled('#totp-code')).toBe(true);
    await checkState(page, 'locked-out');
    await page.unroute('**/.stepgate/api/challenges/*/how-to-answer');
  });
});

describe('words and keyboard', () => {
  it('describes a session confirmation in words: what is sent, and for how long it covers such requests', async () => {
    const page = await signIn('sam');
    await enrolTotp(page);
    await page.goto(`${demo.gateway}/admin`);
    await page.fill('input[name=support_email]', 'sam@example.com');
    await page.locator('form[action="/admin/settings"] button').click();
    await page.waitForSelector('#challenge');
    await expect.poll(() => page.isVisible('#totp-form')).toBe(true);
    const action = (await page.textContent('.action')) ?? '';
    expect(action).toContain('Send to /admin/settings');
    expect(action).toContain('requests like this one, for the next 5 minutes');
    // Only a one-time approval can be given from another device: no number here.
    expect(await page.isVisible('#number')).toBe(false);
    await checkState(page, 'session');
    await page.close();
  });

  it('too many confirmations asked for in a minute: a page in words that says when to try again, no error code', async () => {
    const page = await signIn('rita');
    for (let i = 0; i < 10; i++) {
      const r = await page.request.delete(`${demo.gateway}/api/projects/2`, { headers: { accept: 'application/json' } });
      expect(r.status()).toBe(401);
    }
    await page.goto(`${demo.gateway}/projects`);
    await page.locator('li', { hasText: 'Borealis' }).getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.textContent('h1')).toBe('Too many requests to confirm');
    expect(await page.textContent('main')).toMatch(/Try again after .*\d.*\. Nothing was sent\./);
    await checkState(page, 'too-many-requests');
    await page.close();
  });

  it('describes a method-override form by what it asks for, and shows the number to type in the extension', async () => {
    const page = await signIn('kim');
    const secret = await enrolTotp(page);
    await deleteProject(page, 'Apollo');
    await expect.poll(() => page.isVisible('#totp-form')).toBe(true);
    expect(await page.textContent('.action')).toContain('Delete /api/projects/1');
    const number = (await page.textContent('#number')) ?? '';
    expect(number).toMatch(/^Approving in the Stepgate extension on another device\? Type this number there: \d+$/);
    // Keyboard only: Tab to the code field, type, Enter.
    for (let i = 0; i < 12 && !(await page.evaluate(() => document.activeElement?.id === 'totp-code')); i++)
      await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('totp-code');
    await awaitRoomInStep();
    await page.keyboard.type(await generate({ secret, epoch: now() }));
    await Promise.all([page.waitForURL(`${demo.gateway}/projects`), page.keyboard.press('Enter')]);
    expect(await projects(page)).not.toContain('Apollo');
    await page.close();
  });
});
