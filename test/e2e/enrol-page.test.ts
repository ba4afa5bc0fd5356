/**
 * The enrolment page as a person uses it, in real Chromium against `npm start`: signed out (what to
 * do to sign in, nothing usable), a first factor with its recovery codes (one per line, Copy and
 * Download), then a second factor added after confirming it is you right on the page — with an
 * authenticator app code, and (another person) with a passkey — and a confirmation that ran out.
 * Every state: screenshots at 1280 and 360 px, axe, no sideways scrolling.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'otplib';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, expectNoHorizontalOverflow } from '../support/axe';
import { addVirtualAuthenticator, launchChromium } from '../support/chromium';
import { ROOT } from '../support/miniflare-gateway';
import { npmStart, type StartedDemo } from '../support/npm-start';
import { awaitRoomInStep } from '../support/totp-step';

let demo: StartedDemo;
let browser: Browser;
/** WebAuthn refuses IP addresses as RP IDs, so the page is used on http://localhost (a secure context). */
let base = '';
const artifacts = join(ROOT, 'test-results/e2e');
const now = () => Math.floor(Date.now() / 1000);
/** What the old page said, and any other address or method shown to a person. */
const JARGON = /POST|\/\.stepgate\/api|ERR_/;

/** Screenshots at desktop and phone width, each checked by axe and for sideways scrolling. */
async function capture(page: Page, name: string): Promise<void> {
  for (const width of [1280, 360]) {
    await page.setViewportSize({ width, height: 800 });
    await page.screenshot({ path: join(artifacts, `enrol-${name}-${width}.png`), fullPage: true });
    await expectNoHorizontalOverflow(page, `${name} at ${width} px`);
    await expectAccessible(page, `${name} at ${width} px`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

/** A signed-in person in their own context, with a virtual passkey authenticator. */
async function person(user: string): Promise<{ context: BrowserContext; page: Page; cdp: CDPSession }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const page = await context.newPage();
  const { cdp } = await addVirtualAuthenticator(page);
  await page.goto(`${base}/login?user=${user}`);
  return { context, page, cdp };
}

const status = (page: Page) => page.textContent('#status');

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  [demo, browser] = await Promise.all([npmStart(), launchChromium()]);
  base = demo.gateway.replace('127.0.0.1', 'localhost');
});
afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

it('signed out: says so, links to the app’s sign-in with a way back, and offers nothing that cannot work', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${base}/.stepgate/enrol`);
  expect(await page.textContent('#signed-in')).toContain('You are not signed in');
  expect(await page.getAttribute('#sign-in', 'href')).toBe(`/login?return_to=${encodeURIComponent('/.stepgate/enrol')}`);
  expect(await page.isDisabled('#start-passkey')).toBe(true);
  expect(await page.isDisabled('#start-totp')).toBe(true);
  expect(await page.textContent('#add-why')).toContain('signed in');
  await capture(page, 'signed-out');
  // The way back works end to end: the app's sign-in returns here, signed in.
  await page.click('#sign-in');
  await page.fill('#user', 'sven');
  await Promise.all([page.waitForURL(`${base}/.stepgate/enrol`), page.click('form[action="/login"] button')]);
  expect(await page.textContent('#signed-in')).toBe('Signed in as sven.');
  await context.close();
});

describe('an authenticator app first, then a passkey after confirming with a code', () => {
  let page: Page;
  let context: BrowserContext;
  let secret = '';
  let codes: string[] = [];

  beforeAll(async () => {
    ({ page, context } = await person('pia'));
  });
  afterAll(() => context?.close());

  it('says who is signed in, offers the way back it was given (a same-origin path only)', async () => {
    await page.goto(`${base}/.stepgate/enrol?return=${encodeURIComponent('//evil.example/x')}`);
    expect(await page.locator('#back').count()).toBe(0);
    await page.goto(`${base}/.stepgate/enrol?return=${encodeURIComponent('/projects')}`);
    expect(await page.textContent('#signed-in')).toBe('Signed in as pia.');
    expect(await page.textContent('#factor-summary')).toBe('You have no factor yet.');
    expect(await page.getAttribute('#back', 'href')).toBe('/projects');
    expect(await page.isHidden('#step-up')).toBe(true);
    expect(await page.isEnabled('#start-totp')).toBe(true);
    await capture(page, 'first-factor');
  });

  it('shows the recovery codes one per line, never broken inside, with Copy and Download', async () => {
    await page.click('#start-totp');
    await expect.poll(() => page.isVisible('#totp-setup')).toBe(true);
    secret = ((await page.textContent('#totp-secret')) ?? '').replaceAll(' ', '');
    await capture(page, 'totp-setup');
    await awaitRoomInStep();
    // The previous step's code, so that the current one is left for the confirmation below.
    await page.fill('#confirm-code', await generate({ secret, epoch: now() - 30 }));
    await page.click('#confirm-form button');
    await expect.poll(() => page.isVisible('#recovery')).toBe(true);
    codes = await page.locator('#recovery-codes li').allTextContents();
    expect(codes).toHaveLength(10);
    expect(await page.textContent('#factor-summary')).toBe('You have an authenticator app, and 10 recovery codes left.');
    await capture(page, 'recovery-codes');
    for (const width of [1280, 360]) {
      await page.setViewportSize({ width, height: 800 });
      // One line each: the text of a code makes one line box, and fits its list item (the card does not clip it).
      const boxes = await page.$$eval('#recovery-codes li', (lis) =>
        lis.map((li) => {
          const range = document.createRange();
          range.selectNodeContents(li);
          return { lines: range.getClientRects().length, fits: li.scrollWidth <= li.clientWidth };
        }),
      );
      expect(boxes, `at ${width} px`).toEqual(codes.map(() => ({ lines: 1, fits: true })));
    }
    await page.click('#copy-codes');
    await expect.poll(() => page.textContent('#codes-status')).toContain('Copied');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    for (const c of codes) expect(copied).toContain(c);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-codes')]);
    expect(download.suggestedFilename()).toMatch(/^recovery-codes-.+\.txt$/);
    const file = readFileSync((await download.path())!, 'utf8');
    expect(file.trim().split('\n').slice(-10)).toEqual(codes);
  });

  it('adds a passkey as a second factor after confirming it is you with the app, on the page itself', async () => {
    // Right after the first factor the codes stay in view; the next add opens step 1 with what pia has (no passkey yet).
    expect(await page.isHidden('#step-up')).toBe(true);
    await page.click('#start-passkey');
    await expect.poll(() => page.textContent('#step-up-status')).toContain('first confirm it is you');
    expect(await page.isHidden('#step-up-passkey-row')).toBe(true);
    expect(await page.isVisible('#step-up-app')).toBe(true);
    expect(await page.isDisabled('#start-passkey')).toBe(true);
    expect(await page.textContent('#add-why')).toContain('Confirm it is you first');
    expect(await page.textContent('body')).not.toMatch(JARGON);

    // Reloaded, the page knows the same: it must not offer the add (the old page did, and answered with an endpoint's name).
    await page.reload();
    expect(await page.textContent('#factor-summary')).toBe('You have an authenticator app, and 10 recovery codes left.');
    expect(await page.isDisabled('#start-passkey')).toBe(true);
    expect(await page.textContent('#step-up-title')).toBe('1. Confirm it is you');
    await capture(page, 'confirm-first');

    await page.fill('#step-up-code', '000000');
    await page.click('#step-up-app button');
    await expect.poll(() => page.textContent('#step-up-status')).toContain('not right');
    expect(await page.isEnabled('#step-up-code')).toBe(true);
    await capture(page, 'confirm-wrong-code');

    await page.fill('#step-up-code', await generate({ secret, epoch: now() }));
    await page.click('#step-up-app button');
    await expect.poll(() => page.isVisible('#step-up-done')).toBe(true);
    expect(await page.isEnabled('#start-passkey')).toBe(true);
    await capture(page, 'confirmed');

    await page.click('#start-passkey');
    await expect.poll(() => status(page)).toContain('Your passkey is added.');
    expect(await status(page)).not.toMatch(JARGON);
    expect(await page.isHidden('#recovery')).toBe(true); // codes come only with a first factor
    expect(await page.textContent('#factor-summary')).toBe('You have a passkey and an authenticator app, and 10 recovery codes left.');
    await capture(page, 'second-added');
  });

  it('a confirmation that ran out opens step 1 again, in words', async () => {
    await page.reload();
    expect(await page.isVisible('#step-up-done')).toBe(true); // still fresh: the server knows
    await context.clearCookies({ name: /stepgate-factors$/ });
    await page.click('#start-totp');
    await expect.poll(() => page.textContent('#step-up-status')).toContain('run out');
    expect(await page.isVisible('#step-up-passkey-row')).toBe(true); // now pia has a passkey: offered first
    expect(await page.isDisabled('#start-totp')).toBe(true);
    expect(await page.textContent('body')).not.toMatch(JARGON);
    await capture(page, 'confirm-again');
  });
});

it('a passkey first, then an authenticator app after confirming with the passkey', async () => {
  const { page, context } = await person('quinn');
  await page.goto(`${base}/.stepgate/enrol`);
  await page.click('#start-passkey');
  await expect.poll(() => status(page)).toContain('Your passkey is added.');
  await page.reload();
  expect(await page.textContent('#factor-summary')).toBe('You have a passkey, and 10 recovery codes left.');
  expect(await page.isHidden('#step-up-app')).toBe(true); // no authenticator app to confirm with
  await page.click('#step-up-passkey');
  await expect.poll(() => page.isVisible('#step-up-done')).toBe(true);
  await page.click('#start-totp');
  await expect.poll(() => page.isVisible('#totp-setup')).toBe(true);
  const secret = ((await page.textContent('#totp-secret')) ?? '').replaceAll(' ', '');
  await page.fill('#confirm-code', await generate({ secret, epoch: now() }));
  await page.click('#confirm-form button');
  await expect.poll(() => status(page)).toContain('Your authenticator app is set up.');
  expect(await page.textContent('#factor-summary')).toBe('You have a passkey and an authenticator app, and 10 recovery codes left.');
  await context.close();
});
