/**
 * Accessibility, width and time zones of the console in real Chromium against `npm start` (issue 16,
 * items 7 and 8; docs/accessibility.md): every console page state — signed out, no role, refused,
 * "confirm it is you", the claim, each page with data, the dual-control approval page for the
 * person who asked and for an approver — passes axe (no serious or critical violation) and does not
 * scroll sideways, at 1280 and at 360 px, with a screenshot of each in test-results/e2e/a11y-*.png.
 * Times read in the person's locale and zone (the browser runs as de-DE in Europe/Berlin) with the
 * UTC time beside them. An approver approves a dual-control request with the keyboard alone.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, expectNoHorizontalOverflow } from '../support/axe';
import { CHROMIUM_FLAGS } from '../support/chromium';
import { act, openConsole, type Person, person as signIn } from '../support/console-browser';
import { ROOT } from '../support/miniflare-gateway';
import { npmStart, type StartedDemo } from '../support/npm-start';

let demo: StartedDemo;
let browser: Browser;
let port: string;
const at = () => `http://127.0.0.1:${port}`;
const artifacts = join(ROOT, 'test-results/e2e');
const WIDTHS = [
  { width: 1280, height: 900, suffix: '' },
  { width: 360, height: 740, suffix: '-narrow' },
] as const;

/** Problems found in the current test: every state is looked at, then the test fails listing all of them. */
let problems: string[] = [];

/** Look at a page state at each width: a screenshot, axe, and no sideways scrolling; and axe in dark mode. */
async function look(page: Page, name: string): Promise<void> {
  for (const w of WIDTHS) {
    await page.setViewportSize({ width: w.width, height: w.height });
    await page.screenshot({ path: join(artifacts, `a11y-${name}${w.suffix}.png`), fullPage: true });
    for (const check of [expectAccessible, expectNoHorizontalOverflow]) {
      await check(page, `${name} at ${w.width} px`).catch((e: Error) => problems.push(e.message));
    }
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  // The pages follow the system's dark mode: its colours must read as well.
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: join(artifacts, `a11y-${name}-dark.png`), fullPage: true });
  await expectAccessible(page, `${name} in dark mode`).catch((e: Error) => problems.push(e.message));
  await page.emulateMedia({ colorScheme: 'light' });
}

const noProblems = () => {
  const found = problems;
  problems = [];
  expect(found.join('\n\n')).toBe('');
};

/** A person of the demo app, whose browser reads German in Berlin (so local time differs from UTC). */
const person = (name: string): Promise<Person> => {
  const inBerlin = {
    newContext: (o: BrowserContextOptions = {}) => browser.newContext({ ...o, locale: 'de-DE', timezoneId: 'Europe/Berlin' }),
  } as Browser;
  return signIn(inBerlin, port, name);
};

/** "2.12.2026, 07:05 MEZ (2026-12-02 06:05 UTC)": German date and time in Berlin's zone, the UTC time beside it. */
const BERLIN_TIME = /^\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2} MES?Z \(\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\)$/;
/** Every `<time>` in `selector` that shows a time of day (not one kept in words, "5 minutes ago"). */
const shownTimes = (page: Page, selector: string) =>
  page.locator(`${selector} time[datetime]:not([data-relative]):not([data-countdown])`).allTextContents();

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  [demo, browser] = await Promise.all([
    npmStart(120_000),
    chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS }),
  ]);
  port = new URL(demo.gateway).port;
});
afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

describe('the console for everyone, at every width', { timeout: 600_000 }, () => {
  let alice: Person;
  let bob: Person;
  let erin: Person;
  let anonymous: BrowserContext;

  it('signed out, without a role, refused, and the claim', async () => {
    [alice, bob, erin] = await Promise.all([person('alice'), person('bob'), person('erin')]);
    anonymous = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const nobody = await anonymous.newPage();
    await nobody.goto(`${at()}/.stepgate/admin`);
    await look(nobody, 'signed-out');

    await openConsole(erin, '/.stepgate/admin');
    await look(erin.page, 'no-role');
    await openConsole(erin, '/.stepgate/admin/people');
    await look(erin.page, 'refused');

    const page = await openConsole(alice, '/.stepgate/admin');
    await expect.poll(() => page.isVisible('#claim-owner')).toBe(true);
    await look(page, 'claim');
    expect(await act(alice, '#claim-owner')).toContain('You own "default" now.');
    noProblems();
  });

  it('every page of an owner, with data', async () => {
    const page = await openConsole(alice, '/.stepgate/admin/people');
    for (const [who, role] of [
      ['bob', 'admin'],
      ['erin', 'auditor'],
    ] as const) {
      if (!(await page.isVisible('#grant-person'))) await page.click('details:has(#grant-form) > summary');
      await page.fill('#grant-person', who);
      await page.selectOption('#grant-role', role);
      expect(await act(alice, '#grant-form button[type=submit]')).toContain(who);
    }
    await look(page, 'people');
    await openConsole(alice, '/.stepgate/admin/people?user=erin');
    await look(page, 'people-person');

    await openConsole(alice, '/.stepgate/admin');
    await look(page, 'overview');
    await openConsole(alice, '/.stepgate/admin/apps');
    await page.click('summary:has-text("Add an app")');
    await look(page, 'apps');
    await openConsole(alice, '/.stepgate/admin/orgs/default/apps/bundled/policy');
    await look(page, 'policy');
    await openConsole(alice, '/.stepgate/admin/orgs/default/baseline');
    await look(page, 'baseline');
    await openConsole(alice, '/.stepgate/admin/tokens');
    await look(page, 'tokens');
    await act(alice, '#token-form button[type=submit]');
    await expect.poll(() => page.isVisible('#token-shown')).toBe(true);
    await look(page, 'tokens-created');
    // Times read in the person's locale and zone, the UTC time beside them (the page said "… UTC" only before).
    await page.reload();
    const times = await shownTimes(page, '#console');
    expect(times.length).toBeGreaterThan(0);
    for (const t of times) expect(t.replace(/\s/gu, ' ')).toMatch(BERLIN_TIME);
    await openConsole(alice, '/.stepgate/admin/audit');
    await expect.poll(() => page.locator('#events tbody tr').count()).toBeGreaterThan(3);
    await look(page, 'audit');
    await openConsole(alice, '/.stepgate/admin/dashboard');
    await look(page, 'dashboard');
    await openConsole(alice, '/.stepgate/approvals');
    await look(page, 'approvals-empty');
    noProblems();
  });

  it('"confirm it is you" before a page shows its data, offering only what the person has', async () => {
    await bob.page.goto(`${at()}/.stepgate/admin/people`);
    await expect.poll(() => bob.page.isVisible('#confirm')).toBe(true);
    // bob has no passkey: only what he has is offered (a code), not a passkey button that cannot work.
    expect(await bob.page.locator('#confirm-passkey').count()).toBe(0);
    expect(await bob.page.isVisible('#confirm-code')).toBe(true);
    await look(bob.page, 'confirm');
    noProblems();
  });

  it('a dual-control request: the page of the person who asked, the queue, and an approver who uses only the keyboard', async () => {
    const page = alice.page;
    await page.goto(`${at()}/projects`);
    await page.locator('li', { hasText: 'Dawn' }).getByRole('button', { name: 'Delete' }).click();
    await page.waitForSelector('#totp-form');
    await page.fill('#totp-code', await alice.code());
    await Promise.all([page.waitForURL(/\/\.stepgate\/approvals\/[\w-]+$/), page.click('#totp-form button')]);
    const id = new URL(page.url()).pathname.split('/').pop()!;
    await expect.poll(() => page.textContent('#approval-state')).toMatch(/wait/i);
    // In words, not the methods a program uses: the form was sent as POST, asking for DELETE.
    const asked = (await page.textContent('#approval-page'))!.replace(/\s+/gu, ' ');
    expect(asked).toContain('Delete /api/projects/4');
    expect(asked).not.toMatch(/sent as|asking for|DELETE \//);
    await look(page, 'approval-requester-waiting');
    // A time kept in words gives the exact local and UTC time on hover.
    expect(await page.getAttribute('#approval-page time[data-relative]', 'title')).toMatch(/MES?Z \(\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\)$/);

    const queue = await openConsole(bob, '/.stepgate/approvals');
    await expect.poll(() => queue.textContent('#awaiting')).toContain('/api/projects/4');
    await look(queue, 'approvals-queue');

    // bob approves with the keyboard alone: Tab to the request's link, Enter; Tab to Approve, Enter;
    // Tab to the code field; type the code, Enter.
    const tabTo = async (p: Page, matches: string) => {
      for (let i = 0; i < 80; i++) {
        await p.keyboard.press('Tab');
        if (await p.evaluate((sel) => document.activeElement?.matches(sel) ?? false, matches)) return;
      }
      throw new Error(`${matches} cannot be reached with the Tab key`);
    };
    await tabTo(queue, `a[href$="/.stepgate/approvals/${id}"]`);
    await Promise.all([queue.waitForURL(`${at()}/.stepgate/approvals/${id}`), queue.keyboard.press('Enter')]);
    await queue.waitForSelector('#approve');
    await look(queue, 'approval-approver');
    await tabTo(queue, '#approve');
    await queue.keyboard.press('Enter');
    await queue.waitForSelector('#answer-code-form', { state: 'visible' });
    // The focus moves to the answer (its first way, the passkey, then the code field one Tab on).
    expect(await queue.evaluate(() => document.activeElement?.closest('#answer') !== null)).toBe(true);
    // The approver has no passkey: none is offered, and the code is not "or" anything.
    expect(await queue.isVisible('#answer-passkey')).toBe(false);
    expect((await queue.textContent('#answer-code-label'))?.trim()).toBe('Code from your authenticator app');
    await look(queue, 'approval-approver-answer');
    await tabTo(queue, '#answer-code');
    await queue.keyboard.type(await bob.code());
    await queue.keyboard.press('Enter');
    await expect.poll(() => queue.textContent('#approval-state'), { timeout: 15_000 }).toMatch(/approved/i);
    await look(queue, 'approval-approver-approved');

    await page.waitForSelector('#carry-out', { state: 'visible', timeout: 15_000 });
    await look(page, 'approval-requester-approved');
    noProblems();
  });
});
