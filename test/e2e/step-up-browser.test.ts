/**
 * A person in real Chromium against `npm start`: enrol an authenticator app, then delete a
 * project and save admin settings through the approval page — with TOTP and with a recovery code.
 * Each held action is carried out exactly once.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium';
import { ROOT } from '../support/miniflare-gateway';
import { npmStart, type StartedDemo } from '../support/npm-start';
import { awaitRoomInStep } from '../support/totp-step';

let demo: StartedDemo;
let browser: Browser;
let page: Page;
let secret = '';
let recovery: string[] = [];
const artifacts = join(ROOT, 'test-results/e2e');
const now = () => Math.floor(Date.now() / 1000);
const projects = async () =>
  ((await (await page.request.get(`${demo.gateway}/api/projects`)).json()) as { name: string }[]).map((p) => p.name);

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  [demo, browser] = await Promise.all([npmStart(), launchChromium()]);
  page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await page.goto(`${demo.gateway}/login?user=nora`);
});
afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

describe('in a real browser', () => {
  it('enrols an authenticator app with a QR code and shows recovery codes once', async () => {
    await page.goto(`${demo.gateway}/.stepgate/enrol`);
    await page.click('#start-totp');
    await expect.poll(() => page.isVisible('#totp-setup')).toBe(true);
    expect(await page.getAttribute('#totp-qr', 'src')).toMatch(/^data:image\/svg\+xml/);
    secret = ((await page.textContent('#totp-secret')) ?? '').replaceAll(' ', '');
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await page.screenshot({ path: join(artifacts, 'enrol-totp.png'), fullPage: true });
    await awaitRoomInStep();
    await page.fill('#confirm-code', await generate({ secret, epoch: now() - 30 }));
    await page.click('#confirm-form button');
    await expect.poll(() => page.isVisible('#recovery')).toBe(true);
    recovery = await page.locator('#recovery-codes li').allTextContents();
    expect(recovery).toHaveLength(10);
    await page.screenshot({ path: join(artifacts, 'enrol-recovery-codes.png'), fullPage: true });
  });

  it('deletes a project after approving that exact request with TOTP, exactly once', async () => {
    await page.goto(`${demo.gateway}/projects`);
    await page.locator('li', { hasText: 'Apollo' }).getByRole('button', { name: 'Delete' }).click();
    await page.waitForSelector('#totp-form');
    expect(await page.textContent('main')).toContain('Delete /api/projects/1');
    await page.screenshot({ path: join(artifacts, 'step-up-totp.png'), fullPage: true });
    await page.fill('#totp-code', await generate({ secret, epoch: now() }));
    await Promise.all([page.waitForURL(`${demo.gateway}/projects`), page.click('#totp-form button')]);
    expect(await page.textContent('#projects')).not.toContain('Apollo');
    expect(await projects()).toEqual(['Borealis', 'Cassini', 'Dawn']);
    // Going back and resubmitting the continue form does not carry the action out again.
    const again = await page.request.post(`${demo.gateway}/.stepgate/challenge/${'x'.repeat(22)}/continue`, {
      headers: { origin: demo.gateway },
    });
    expect(again.status()).toBe(404);
  });

  it('a wrong code is explained on the page and nothing happens', async () => {
    await page.goto(`${demo.gateway}/projects`);
    await page.locator('li', { hasText: 'Cassini' }).getByRole('button', { name: 'Delete' }).click();
    await page.waitForSelector('#totp-form');
    await page.fill('#totp-code', '000000');
    await page.click('#totp-form button');
    await expect.poll(() => page.textContent('#status')).toContain('That code is not right');
    expect(await projects()).toContain('Cassini');
  });

  it('saves admin settings after a session step-up with TOTP; the grant covers the next save too', async () => {
    await page.goto(`${demo.gateway}/admin`);
    await page.fill('input[name=support_email]', 'help@example.com');
    await page.click('form button');
    await page.waitForSelector('#totp-form');
    expect(await page.textContent('main')).toContain('Send to /admin/settings');
    expect(await page.textContent('.fields')).toContain('support_email = help@example.com');
    await page.fill('#totp-code', await generate({ secret, epoch: now() + 30 }));
    await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('/continue')), page.click('#totp-form button')]);
    await expect.poll(() => page.textContent('body')).toContain('help@example.com');
    // Within five minutes, another save needs no new step-up.
    const again = await page.request.post(`${demo.gateway}/admin/settings`, { form: { support_email: 'ops@example.com' } });
    expect(again.status()).toBe(200);
  });

  it('deletes a project with a recovery code, which then never works again', async () => {
    await page.goto(`${demo.gateway}/projects`);
    await page.locator('li', { hasText: 'Borealis' }).getByRole('button', { name: 'Delete' }).click();
    await page.waitForSelector('#recovery-way');
    await page.click('#recovery-way summary');
    await page.fill('#recovery-code', recovery[0]!);
    await Promise.all([page.waitForURL(`${demo.gateway}/projects`), page.click('#recovery-form button')]);
    expect(await projects()).toEqual(['Cassini', 'Dawn']);

    await page.locator('li', { hasText: 'Dawn' }).getByRole('button', { name: 'Delete' }).click();
    await page.waitForSelector('#recovery-way');
    await page.click('#recovery-way summary');
    await page.fill('#recovery-code', recovery[0]!);
    await page.click('#recovery-form button');
    await expect.poll(() => page.textContent('#status')).toContain('not right');
    expect(await projects()).toContain('Dawn');
  });
});
