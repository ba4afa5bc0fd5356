/**
 * Passkeys in real Chromium with the DevTools virtual authenticator (CTAP2, internal, user
 * verification): register one as the first factor, then approve a project delete with it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addVirtualAuthenticator, launchChromium } from '../support/chromium';
import { ROOT } from '../support/miniflare-gateway';
import { npmStart, type StartedDemo } from '../support/npm-start';

let demo: StartedDemo;
let browser: Browser;
let page: Page;
let cdp: CDPSession;
let authenticatorId = '';
/** WebAuthn refuses IP addresses as RP IDs, so passkeys are used on http://localhost (a secure context). */
let base = '';
const artifacts = join(ROOT, 'test-results/e2e');
const projects = async () => ((await (await page.request.get(`${base}/api/projects`)).json()) as { name: string }[]).map((p) => p.name);

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  [demo, browser] = await Promise.all([npmStart(), launchChromium()]);
  page = await browser.newPage();
  ({ cdp, authenticatorId } = await addVirtualAuthenticator(page));
  base = demo.gateway.replace('127.0.0.1', 'localhost');
  await page.goto(`${base}/login?user=pia`);
});
afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

it('registers a passkey as the first factor and gets recovery codes', async () => {
  await page.goto(`${base}/.stepgate/enrol`);
  await page.click('#start-passkey');
  await expect.poll(() => page.textContent('#status')).toContain('Your passkey is added');
  expect(await page.locator('#recovery-codes li').count()).toBe(10);
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0]!.rpId).toBe('localhost');
});

it('approves a project delete with the passkey; the delete happens exactly once', async () => {
  await page.goto(`${base}/projects`);
  await page.locator('li', { hasText: 'Apollo' }).getByRole('button', { name: 'Delete' }).click();
  await page.waitForSelector('#passkey');
  await page.screenshot({ path: join(artifacts, 'step-up-passkey.png'), fullPage: true });
  const before = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0]!.signCount;
  await Promise.all([page.waitForURL(`${base}/projects`), page.click('#passkey')]);
  expect(await projects()).toEqual(['Borealis', 'Cassini', 'Dawn']);
  const after = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0]!.signCount;
  expect(after).toBeGreaterThan(before);
});

it('refuses the passkey when the authenticator cannot verify the user', async () => {
  await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
  await page.goto(`${base}/projects`);
  await page.locator('li', { hasText: 'Borealis' }).getByRole('button', { name: 'Delete' }).click();
  await page.waitForSelector('#passkey');
  await page.click('#passkey');
  await expect.poll(() => page.textContent('#status'), { timeout: 15_000 }).toMatch(/not accepted|closed/);
  expect(await projects()).toContain('Borealis');
  await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: true });
});
