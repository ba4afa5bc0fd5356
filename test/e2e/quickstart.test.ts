/**
 * The quickstart, as a newcomer meets it: `npm start` (wrangler dev, local D1 and Durable Objects,
 * the demo app), then real Chromium: sign in, delete a project, and be stopped by the approval page.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium';
import { ROOT } from '../support/miniflare-gateway';
import { npmStart, type StartedDemo } from '../support/npm-start';

let demo: StartedDemo;
let browser: Browser;
const artifacts = join(ROOT, 'test-results/e2e');

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  [demo, browser] = await Promise.all([npmStart(), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

it('npm start serves the demo; a delete from the projects page is held on the approval page', async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } }); // a phone-sized screen
  await page.goto(`${demo.gateway}/login?user=alice`);
  await expect.poll(() => page.textContent('nav')).toContain('signed in as alice');

  await page.goto(`${demo.gateway}/projects`);
  await page.locator('li', { hasText: 'Apollo' }).getByRole('button', { name: 'Delete' }).click();
  await page.waitForLoadState();

  const text = (await page.textContent('main')) ?? '';
  expect(text).toContain('Confirm it is you');
  expect(text).toContain('DELETE /api/projects/1');
  expect(text).toContain('(sent as POST, asking for DELETE)');
  expect(text).toContain('this one request, once');
  // The stylesheet loaded under the strict CSP (no inline styles allowed).
  expect(await page.evaluate(() => getComputedStyle(document.querySelector('.card')!).borderRadius)).toBe('12px');
  await page.screenshot({ path: join(artifacts, 'step-up-page.png'), fullPage: true });

  const projects = (await (await page.request.get(`${demo.gateway}/api/projects`)).json()) as { id: number }[];
  expect(projects.map((p) => p.id)).toContain(1);

  // The API path of the same action: 401 with the challenge headers.
  const api = await page.request.fetch(`${demo.gateway}/api/projects/1`, { method: 'DELETE' });
  expect(api.status()).toBe(401);
  expect(api.headers()['www-authenticate']).toMatch(/^StepUp realm="stepgate", challenge="[\w-]{22}"/);
  await page.close();
});
