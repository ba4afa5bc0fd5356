/**
 * The quickstart, as a newcomer meets it: `npm start` (wrangler dev, local D1 and Durable Objects,
 * the demo app), then real Chromium: sign in, delete a project, and be stopped by the approval page.
 * The demo app's own pages (quickstart-demo-app.ts): every state in words, accessible, at 1280 and 360 px.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium';
import { ROOT } from '../support/miniflare-gateway';
import { npmStart, type StartedDemo } from '../support/npm-start';
import { demoAppStories } from './quickstart-demo-app';

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

it('npm start says where it runs and what to do next, with no stack trace, network error or table', async () => {
  const port = new URL(demo.gateway).port;
  const out = demo.output();
  expect(out).toContain(`stepgate: ready on http://localhost:${port}`);
  expect(out).toContain(`http://localhost:${port}/login?user=alice`); // the next step
  expect(out).toContain(`http://localhost:${port}/.stepgate/enrol`);
  expect(out).toContain(`http://localhost:${port}/.stepgate/admin/dashboard`);
  expect(out).toContain('"Claim ownership"'); // how alice (BOOTSTRAP_OWNER) becomes the owner
  expect(out).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m); // a stack frame
  expect(out).not.toContain('ENOTFOUND');
  expect(out).not.toMatch(/[┌│├└]|0001_init\.sql|Migrations to be applied/); // wrangler's migration tables
  expect(out).not.toContain('following bindings');

  // The maintenance cron, run the way the start message says.
  const cron = `curl "http://127.0.0.1:${port}/__scheduled"`;
  expect(out).toContain(cron);
  const res = await fetch(`http://127.0.0.1:${port}/__scheduled`);
  expect(res.status).toBe(200);
  await expect.poll(() => demo.output()).toContain('stepgate: maintenance');
  expect(demo.output()).not.toContain('maintenance failed');
});

it('npm start serves the demo; a delete from the projects page is held on the approval page', async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } }); // a phone-sized screen
  await page.goto(`${demo.gateway}/login?user=alice`);
  await expect.poll(() => page.textContent('header')).toContain('Signed in as alice');

  await page.goto(`${demo.gateway}/projects`);
  await page.locator('li', { hasText: 'Apollo' }).getByRole('button', { name: 'Delete' }).click();
  await page.waitForLoadState();

  const text = (await page.textContent('main')) ?? '';
  expect(text).toContain('Confirm it is you');
  expect(text).toMatch(/delete \/api\/projects\/1/i);
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

demoAppStories(() => ({ demo, browser }));
