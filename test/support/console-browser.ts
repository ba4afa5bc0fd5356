/**
 * @module People in real Chromium against the demo (`npm start`): signed in to the demo app with an
 * authenticator app enrolled, opening console pages and acting in them, confirming with a code when
 * the console asks for a fresh step-up. Shared by the console's browser stories.
 */
import { generate } from 'otplib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';

const STEP = 30;

/** A person signed in to the demo app, with an authenticator app enrolled, and codes of fresh time steps. */
export interface Person {
  name: string;
  ctx: BrowserContext;
  page: Page;
  /** The gateway's port. */
  port: string;
  /** A code of a time step not used before (waits for the next step when both usable ones are spent). */
  code(): Promise<string>;
}

/** Sign `name` in to the demo app on `host` and enrol an authenticator app through Stepgate's API. */
export async function person(browser: Browser, port: string, name: string, host = '127.0.0.1'): Promise<Person> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const at = `http://${host}:${port}`;
  await page.goto(`${at}/login?user=${name}`);
  const json = { origin: at, 'content-type': 'application/json' };
  const start = (await (await page.request.post(`${at}/.stepgate/api/factors/totp`, { headers: json, data: {} })).json()) as {
    id: string;
    secret: string;
  };
  let last = 0;
  const code = async (): Promise<string> => {
    // Each time step's code works once (replay protection); the window accepts the next step's too.
    const step = Math.max(Math.floor(Date.now() / 1000 / STEP), last + 1);
    while (step > Math.floor(Date.now() / 1000 / STEP) + 1) await new Promise((r) => setTimeout(r, 1000));
    last = step;
    return generate({ secret: start.secret, epoch: step * STEP });
  };
  const ok = await page.request.post(`${at}/.stepgate/api/factors/totp/${start.id}/confirm`, {
    headers: json,
    data: { code: await code() },
  });
  expect(ok.status()).toBe(200);
  return { name, ctx, page, port, code };
}

/** Open a console page; when it asks to confirm it is you, confirm with a code (it reloads with its data). */
export async function openConsole(p: Person, path: string): Promise<Page> {
  await p.page.goto(`http://127.0.0.1:${p.port}${path}`);
  if (await p.page.isVisible('#confirm')) await confirm(p);
  return p.page;
}

/** Answer the console's "confirm it is you" with a fresh code. */
export async function confirm(p: Person): Promise<void> {
  await p.page.fill('#confirm-code', await p.code());
  await p.page.click('#confirm-form button[type=submit]');
  // A page waiting for its data reloads; an action asks to be repeated. Either way the section goes.
  await expect.poll(() => p.page.isVisible('#confirm').catch(() => true)).toBe(false);
  await p.page.waitForLoadState('load');
}

/** Click `selector`; if the action first needs a fresh step-up, confirm and click it again. Returns the status line. */
export async function act(p: Person, selector: string, statusSelector = '#status'): Promise<string> {
  await p.page.click(selector);
  const asked = () => p.page.isVisible('#confirm').catch(() => false);
  await expect.poll(async () => (await asked()) || !/^(Working…)?$/.test((await status(p.page, statusSelector)).trim())).toBe(true);
  if (await asked()) {
    await confirm(p);
    await p.page.click(selector);
  }
  await expect.poll(async () => (await status(p.page, statusSelector)).trim()).not.toMatch(/^(Working…)?$/);
  return status(p.page, statusSelector);
}

/** The status line (empty while the page reloads after an action). */
export const status = async (page: Page, selector = '#status') =>
  (await page.textContent(selector, { timeout: 2000 }).catch(() => '')) ?? '';
