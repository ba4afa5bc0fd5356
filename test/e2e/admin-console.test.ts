/**
 * The administration story in real Chromium against `npm start` (issue 12's "done when"): alice,
 * BOOTSTRAP_OWNER, enrols and claims the default organisation in the console; adds a second app on
 * another host (shop.localhost, identified through the demo app's own "who am I" endpoint); makes
 * bob an admin and dave an auditor; erin, who lost her authenticator, is recovered by two people
 * (alice starts it, bob approves it) after the waiting period, seeing the notice meanwhile; and
 * dave sees all of it on the dashboard and in the audit log, filters, exports and verifies it.
 * Screenshots of every page are kept in test-results/e2e.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'otplib';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible } from '../support/axe';
import { CHROMIUM_FLAGS } from '../support/chromium';
import { act, openConsole, type Person, person as signIn, status } from '../support/console-browser';
import { ROOT } from '../support/miniflare-gateway';
import { npmStart, type StartedDemo } from '../support/npm-start';

let demo: StartedDemo;
let browser: Browser;
let port: string;
const person = (name: string) => signIn(browser, port, name);
const artifacts = join(ROOT, 'test-results/e2e');
/** A screenshot of the page state, and the accessibility check on it (docs/accessibility.md). */
const shot = async (page: Page, name: string) => {
  await page.screenshot({ path: join(artifacts, `admin-${name}.png`), fullPage: true });
  await expectAccessible(page, `admin ${name}`);
};
beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  [demo, browser] = await Promise.all([
    npmStart(120_000, { STEPGATE_RECOVERY_WAIT_MINUTES: '1' }),
    // shop.localhost is the demo's second app: the browser resolves it to the gateway's loopback address.
    chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: [...CHROMIUM_FLAGS, '--host-resolver-rules=MAP shop.localhost 127.0.0.1'],
    }),
  ]);
  port = new URL(demo.gateway).port;
});
afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

describe('administration in the console', { timeout: 300_000 }, () => {
  let alice: Person;
  let bob: Person;
  let dave: Person;
  let erin: Person;

  it('the bootstrap owner claims the organisation, then makes bob an admin and dave an auditor', async () => {
    [alice, bob, dave, erin] = await Promise.all([person('alice'), person('bob'), person('dave'), person('erin')]);
    const page = await openConsole(alice, '/.stepgate/admin');
    await expect.poll(() => page.isVisible('#claim-owner')).toBe(true);
    await shot(page, 'claim');
    expect(await act(alice, '#claim-owner')).toContain('You own "default" now.');
    await expect.poll(() => page.isVisible('#claim-owner')).toBe(false);

    await openConsole(alice, '/.stepgate/admin/people');
    for (const [who, role] of [
      ['bob', 'admin'],
      ['dave', 'auditor'],
    ] as const) {
      if (!(await page.isVisible('#grant-person'))) await page.click('details:has(#grant-form) > summary');
      await page.fill('#grant-person', who);
      await page.selectOption('#grant-role', role);
      expect(await act(alice, '#grant-form button[type=submit]')).toContain(who);
    }
    const roles = (await page.textContent('#console')) ?? '';
    expect(roles).toMatch(/bob[\s\S]*admin/i);
    expect(roles).toMatch(/dave[\s\S]*auditor/i);
    await shot(page, 'people-roles');
  });

  it('erin lost her authenticator: alice starts a recovery, bob approves it, and erin is told at once', async () => {
    const page = await openConsole(alice, '/.stepgate/admin/people?user=erin');
    await expect.poll(() => page.isVisible('button[data-person-action="start-recovery"]')).toBe(true);
    // Alice started it: she is not offered to approve it too.
    await act(alice, 'button[data-person-action="start-recovery"]');
    await expect.poll(() => page.isVisible('button[data-recovery-action="cancel"]')).toBe(true);
    expect(await page.isVisible('button[data-recovery-action="approve"]')).toBe(false);

    const bobs = await openConsole(bob, '/.stepgate/admin/people?user=erin');
    await expect.poll(() => bobs.isVisible('button[data-recovery-action="approve"]')).toBe(true);
    await act(bob, 'button[data-recovery-action="approve"]');
    await expect.poll(() => bobs.isVisible('button[data-recovery-action="approve"]')).toBe(false);
    await shot(bobs, 'recovery-approved');

    // Erin sees it on the next Stepgate page she opens, with a way to cancel it.
    await erin.page.goto(`http://127.0.0.1:${port}/.stepgate/enrol`);
    await expect.poll(() => erin.page.isVisible('#recovery-notice')).toBe(true);
    expect(await erin.page.textContent('#recovery-notice')).toMatch(/recover/i);
    expect(await erin.page.isVisible('#recovery-cancel')).toBe(true);
    await shot(erin.page, 'recovery-notice');
  });

  it('alice adds a second app on another host; nora is identified there by the app itself and steps up', async () => {
    const page = await openConsole(alice, '/.stepgate/admin/apps');
    await page.click('details:has(#new-name) > summary');
    await page.fill('#new-name', 'Shop');
    await page.fill('#new-hosts', 'shop.localhost');
    await page.fill('#new-origin', demo.demo);
    await page.selectOption('#new-source', 'introspect');
    await page.fill('#new-introspect-cookie', 'demo_session');
    await page.fill('#new-introspect-url', `${demo.demo}/__demo/whoami`);
    await page.fill('#new-login', '/login');
    expect(await act(alice, 'form.app-form:has(#new-name) button[type=submit]')).toContain('The app “Shop” was created.');
    expect(await page.textContent('#console')).toContain('shop.localhost');
    await shot(page, 'apps');

    // The gateway serves it within its refresh interval (10 s).
    const nora = await person('nora');
    const shop = `http://shop.localhost:${port}`;
    const sp = await nora.ctx.newPage();
    await expect.poll(async () => (await sp.goto(`${shop}/login?user=nora`))!.status(), { timeout: 30_000, interval: 1000 }).toBe(200);
    // Deleting a project on the shop host is a write: its policy asks for a step-up, and nora's
    // authenticator app (her factors are the organisation's) answers it.
    const call = (method: string, path: string, body?: unknown) =>
      sp.evaluate(
        async ([m, u, b]) => {
          const res = await fetch(u as string, {
            method: m as string,
            headers: b === undefined ? {} : { 'content-type': 'application/json' },
            ...(b === undefined ? {} : { body: JSON.stringify(b) }),
          });
          return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
        },
        [method, path, body] as const,
      );
    const first = await call('DELETE', '/api/projects/1');
    expect(first.status).toBe(401);
    expect(first.body.code).toBe('ERR_STEP_UP_REQUIRED');
    const verified = await call('POST', `/.stepgate/api/challenges/${String(first.body.challenge_id)}/verify`, {
      method: 'totp',
      code: await nora.code(),
    });
    expect(verified.status).toBe(200);
    expect((await call('DELETE', '/api/projects/1')).status).toBe(200);
    await nora.ctx.close();
  });

  it('after the waiting period erin completes the recovery and sets up a new authenticator', async () => {
    const page = erin.page;
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.isVisible('#recovery-complete');
        },
        { timeout: 90_000, interval: 5000 },
      )
      .toBe(true);
    await page.click('#recovery-complete');
    await expect.poll(async () => page.inputValue('#invite')).not.toBe('');
    await page.click('#start-totp');
    await expect.poll(() => page.isVisible('#totp-setup')).toBe(true);
    const secret = (await page.textContent('#totp-secret'))!.replace(/\s+/g, '');
    await page.fill('#confirm-code', await generate({ secret, epoch: Math.floor(Date.now() / 1000) }));
    await page.click('#totp-setup button[type=submit]');
    await expect.poll(() => page.isVisible('#recovery')).toBe(true);
    expect(await page.textContent('#recovery-status')).toContain('Your old factors are removed');
    await shot(page, 'recovery-completed');
    // The recovery is over: the next page she opens says nothing of it.
    await page.reload();
    expect(await page.isVisible('#recovery-notice')).toBe(false);
  });

  it('dave, the auditor, sees it all on the dashboard and in the log, filters, exports and verifies it', async () => {
    const page = await openConsole(dave, '/.stepgate/admin/dashboard');
    expect(await page.locator('svg').count()).toBeGreaterThanOrEqual(4);
    const text = (await page.textContent('#console')) ?? '';
    expect(text).toMatch(/step-ups/i);
    // An auditor changes nothing: the nav offers no apps or people pages.
    expect(await page.locator('nav a[href="/.stepgate/admin/apps"]').count()).toBe(0);
    await shot(page, 'dashboard');

    await openConsole(dave, '/.stepgate/admin/audit');
    await expect.poll(() => page.locator('#events tbody tr').count()).toBeGreaterThan(10);
    const events = (await page.textContent('#events'))!;
    for (const t of ['org.owner_claimed', 'role.granted', 'app.created', 'recovery.started', 'recovery.approved', 'recovery.completed']) {
      expect(events).toContain(t);
    }
    await shot(page, 'audit');

    await page.selectOption('#f-type', 'recovery.approved');
    await page.click('#filters button[type=submit]');
    await expect
      .poll(async () => (await page.locator('#events tbody tr td:nth-child(3)').allTextContents()).join('|'))
      .toBe('recovery.approved');
    const href = (await page.getAttribute('#x-csv', 'href'))!;
    const csv = await page.request.get(`http://127.0.0.1:${port}${href}`);
    expect(csv.headers()['content-type']).toContain('text/csv');
    const rows = (await csv.text()).trim().split('\r\n');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toContain('recovery.approved');
    const ocsf = await page.request.get(`http://127.0.0.1:${port}${(await page.getAttribute('#x-ocsf', 'href'))!}`);
    expect(ocsf.headers()['content-disposition']).toMatch(/filename="?stepgate-audit[^"]*\.ocsf\./);

    await page.click('#verify');
    await expect.poll(() => status(page)).toMatch(/^The chain is intact: \d+ events through sequence \d+\.$/);
    await shot(page, 'audit-verified');
  });
});
