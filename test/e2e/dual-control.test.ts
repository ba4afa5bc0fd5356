/**
 * Dual control in real Chromium against `npm start` (issue 14's "done when"): the demo's rule on
 * DELETE /api/projects/4 (Dawn) needs one of the admins to approve. alice (the owner) deletes Dawn
 * from the projects page; after her own step-up the exact request waits, and her page says who must
 * approve; she cannot approve it herself. bob, an admin, approves in the console after his own
 * step-up; alice's page turns approved by itself and she carries it out: Dawn is deleted exactly once,
 * with an assertion naming both. Then carol, another admin, approves a second request through the
 * Stepgate extension (its badge, its list, its approval window). Three browser contexts; screenshots
 * of every state in test-results/e2e.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { type Browser, type BrowserContext, chromium, type Page, type Worker } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, expectNoHorizontalOverflow } from '../support/axe';
import { CHROMIUM_FLAGS } from '../support/chromium';
import { act, openConsole, type Person, person as signIn } from '../support/console-browser';
import { buildTestExtension, extUrl } from '../support/extension-build';
import { ROOT } from '../support/miniflare-gateway';
import { npmStart, type StartedDemo } from '../support/npm-start';
import { awaitRoomInStep } from '../support/totp-step';

declare const chrome: { action: { getBadgeText(details: object): Promise<string> } };

let demo: StartedDemo;
let browser: Browser;
let port: string;
let extension: BrowserContext;
let worker: Worker;
const artifacts = join(ROOT, 'test-results/e2e');
/** Screenshots of the page state at 1280 and 360 px, with the accessibility and width checks (docs/accessibility.md). */
const shot = async (page: Page, name: string) => {
  await page.screenshot({ path: join(artifacts, `dual-control-${name}.png`), fullPage: true });
  await expectAccessible(page, `dual-control ${name}`);
  await page.setViewportSize({ width: 360, height: 740 });
  await page.screenshot({ path: join(artifacts, `dual-control-${name}-narrow.png`), fullPage: true });
  await expectAccessible(page, `dual-control ${name} at 360 px`);
  await expectNoHorizontalOverflow(page, `dual-control ${name} at 360 px`);
  await page.setViewportSize({ width: 1280, height: 900 });
};
const at = () => `http://127.0.0.1:${port}`;
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
const originSaw = async (path: string) =>
  (
    (await (await fetch(`${demo.demo}/__demo/requests`)).json()) as {
      method: string;
      url: string;
      headers: Record<string, string>;
      body: string;
    }[]
  ).filter((r) => r.url === path);

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  let dir: string;
  [demo, browser, dir] = await Promise.all([
    npmStart(120_000),
    chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS }),
    buildTestExtension(),
  ]);
  port = new URL(demo.gateway).port;
  extension = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'stepgate-profile-')), {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_FLAGS, `--disable-extensions-except=${dir}`, `--load-extension=${dir}`],
  });
  worker = extension.serviceWorkers()[0] ?? (await extension.waitForEvent('serviceworker'));
});
afterAll(async () => {
  await extension?.close();
  await browser?.close();
  await demo?.stop();
});

describe('dual control: a second person approves the exact request', { timeout: 300_000 }, () => {
  let alice: Person;
  let bob: Person;
  let approvalId = '';

  it('the owner makes bob and carol admins', async () => {
    [alice, bob] = await Promise.all([signIn(browser, port, 'alice'), signIn(browser, port, 'bob')]);
    const page = await openConsole(alice, '/.stepgate/admin');
    if (await page.isVisible('#claim-owner')) expect(await act(alice, '#claim-owner')).toContain('You own "default" now.');
    await openConsole(alice, '/.stepgate/admin/people');
    for (const who of ['bob', 'carol']) {
      if (!(await page.isVisible('#grant-person'))) await page.click('details:has(#grant-form) > summary');
      await page.fill('#grant-person', who);
      await page.selectOption('#grant-role', 'admin');
      expect(await act(alice, '#grant-form button[type=submit]')).toContain(who);
    }
  });

  it('alice deletes Dawn: after her step-up it waits, her page says who must approve, and she cannot approve it herself', async () => {
    const page = alice.page;
    await page.goto(`${at()}/projects`);
    await page.locator('li', { hasText: 'Dawn' }).getByRole('button', { name: 'Delete' }).click();
    await page.waitForSelector('#totp-form');
    await page.fill('#totp-code', await alice.code());
    await Promise.all([page.waitForURL(/\/\.stepgate\/approvals\/[\w-]+$/), page.click('#totp-form button')]);
    approvalId = new URL(page.url()).pathname.split('/').pop()!;
    await expect.poll(() => page.textContent('#approval-state')).toMatch(/wait/i);
    expect(await page.textContent('#required')).toMatch(/admins/);
    expect(await page.textContent('#approval-page')).toContain('/api/projects/4');
    expect(await page.isVisible('#approve')).toBe(false);
    expect(await page.isVisible('#carry-out')).toBe(false);
    await page.fill('#reason-text', 'Dawn was the old production project; it is retired.');
    await page.click('#reason-form button[type=submit]');
    await expect.poll(() => page.textContent('#justification')).toContain('retired');
    await shot(page, 'requester-waiting');
    // Not through the API either, not even from another session of hers.
    const own = await page.request.post(`${at()}/.stepgate/api/approvals/${approvalId}/step-up`, {
      headers: { origin: at(), 'content-type': 'application/json' },
      data: {},
    });
    expect(own.status()).toBe(403);
    expect(((await own.json()) as { code: string }).code).toBe('ERR_APPROVAL_SELF');
    expect(await originSaw('/api/projects/4')).toEqual([]);
  });

  it('bob approves in the console after his own step-up; alice carries it out; Dawn is deleted exactly once, naming both', async () => {
    const queue = await openConsole(bob, '/.stepgate/approvals');
    await expect.poll(() => queue.textContent('#awaiting')).toContain('/api/projects/4');
    await shot(queue, 'approver-queue');
    await queue.click(`a[href$="/.stepgate/approvals/${approvalId}"]`);
    await queue.waitForSelector('#approve');
    expect(await queue.textContent('#approval-page')).toContain('alice');
    expect(await queue.textContent('#justification')).toContain('retired');
    await shot(queue, 'approver-review');
    await queue.click('#approve');
    await queue.waitForSelector('#answer-code-form', { state: 'visible' });
    await queue.fill('#answer-code', await bob.code());
    await queue.click('#answer-code-form button[type=submit]');
    await expect.poll(() => queue.textContent('#approval-state'), { timeout: 15_000 }).toMatch(/approved/i);
    await shot(queue, 'approver-approved');

    // alice's page turns approved by itself (it polls), and offers to carry it out.
    const page = alice.page;
    await page.waitForSelector('#carry-out', { state: 'visible', timeout: 15_000 });
    await shot(page, 'requester-approved');
    await Promise.all([page.waitForURL(`${at()}/projects`), page.click('#carry-out button[type=submit]')]);
    expect(await page.textContent('#projects')).not.toContain('Dawn');
    const seen = await originSaw('/api/projects/4');
    expect(seen).toHaveLength(1);
    const claims = claimsOf(seen[0]!.headers['stepgate-assertion']!);
    expect(claims.sub).toBe('alice');
    expect(claims.approval).toMatchObject({ id: approvalId, approvers: [{ sub: 'bob' }] });

    // Carrying it out again does nothing: the page says it was carried out.
    await page.goto(`${at()}/.stepgate/approvals/${approvalId}`);
    await expect.poll(() => page.textContent('#approval-state')).toMatch(/carried out/i);
    expect(await page.isVisible('#carry-out')).toBe(false);
    expect(await originSaw('/api/projects/4')).toHaveLength(1);
    await shot(page, 'requester-done');
  });

  it('carol approves a second request through the extension: its badge, its list, its approval window', async () => {
    // carol: signed in on localhost (the extension's paired site), with an authenticator app.
    const base = at().replace('127.0.0.1', 'localhost');
    const setup = await extension.newPage();
    await setup.goto(`${base}/login?user=carol`);
    const json = { origin: base, 'content-type': 'application/json' };
    const start = (await (await setup.request.post(`${base}/.stepgate/api/factors/totp`, { headers: json, data: {} })).json()) as {
      id: string;
      secret: string;
    };
    const code = async () => {
      await awaitRoomInStep();
      return generate({ secret: start.secret, epoch: Math.floor(Date.now() / 1000) });
    };
    await setup.request.post(`${base}/.stepgate/api/factors/totp/${start.id}/confirm`, {
      headers: json,
      data: { code: await generate({ secret: start.secret, epoch: Math.floor(Date.now() / 1000) - 30 }) },
    });
    const options = await extension.newPage();
    await options.goto(extUrl('options/index.html'));
    await options.fill('#add-url', base);
    await options.click('#add-form button');
    await expect.poll(() => options.textContent('#add-status')).toBe(`Paired with ${new URL(base).host}.`);

    // alice asks again (an API client this time): 202, waiting.
    const path = '/api/projects/4?again=1';
    const first = await alice.page.request.fetch(`${at()}${path}`, { method: 'DELETE', headers: { accept: 'application/json' } });
    expect(first.status()).toBe(401);
    const { challenge_id } = (await first.json()) as { challenge_id: string };
    const verified = await alice.page.request.post(`${at()}/.stepgate/api/challenges/${challenge_id}/verify`, {
      headers: { origin: at(), 'content-type': 'application/json' },
      data: { method: 'totp', code: await alice.code() },
    });
    expect(verified.status()).toBe(200);
    const waiting = await alice.page.request.fetch(`${at()}${path}`, { method: 'DELETE', headers: { accept: 'application/json' } });
    expect(waiting.status()).toBe(202);
    const { approval_id } = (await waiting.json()) as { approval_id: string };

    // The extension's badge and popup list it; Review opens its approval window.
    const popup = await extension.newPage();
    await popup.setViewportSize({ width: 360, height: 560 });
    await expect
      .poll(
        async () => {
          await popup.goto(extUrl('popup/index.html'));
          return (await popup.textContent('#approvals-awaiting').catch(() => '')) ?? '';
        },
        { timeout: 30_000, interval: 2_000 },
      )
      .toContain('/api/projects/4');
    expect(Number(await worker.evaluate(() => chrome.action.getBadgeText({})))).toBeGreaterThanOrEqual(1);
    await popup.screenshot({ path: join(artifacts, 'dual-control-extension-popup.png'), fullPage: true });
    const [window] = await Promise.all([
      extension.waitForEvent('page', { predicate: (p) => p.url().startsWith(extUrl('prompt/index.html')), timeout: 20_000 }),
      popup.locator(`li[data-approval-id="${approval_id}"]`).getByRole('button', { name: 'Review' }).click(),
    ]);
    await window.waitForSelector('#requester');
    expect(await window.textContent('#requester')).toContain('alice');
    await window.setViewportSize({ width: 440, height: 720 });
    await window.screenshot({ path: join(artifacts, 'dual-control-extension-window.png'), fullPage: true });
    await window.fill('#code', await code());
    await window.click('#approve-code');
    await expect.poll(() => window.getAttribute('#status', 'data-state'), { timeout: 20_000 }).toBe('approved');
    expect(await window.textContent('#status')).toContain('alice can carry it out now');
    await window.screenshot({ path: join(artifacts, 'dual-control-extension-approved.png'), fullPage: true });

    // alice's client sends the identical request again: forwarded once, naming carol.
    const done = await alice.page.request.fetch(`${at()}${path}`, { method: 'DELETE', headers: { accept: 'application/json' } });
    expect(done.status()).toBe(404); // Dawn is gone already: the demo app answered.
    const seen = await originSaw(path);
    expect(seen).toHaveLength(1);
    expect(claimsOf(seen[0]!.headers['stepgate-assertion']!).approval).toMatchObject({ id: approval_id, approvers: [{ sub: 'carol' }] });
  });
});
