/**
 * The demo's audit story in real Chromium against `npm start`: alice (BOOTSTRAP_OWNER in
 * wrangler.toml) enrols, claims ownership on the audit console and grants dave the auditor role
 * there; a person deletes a project with a step-up; the auditor confirms it is them on the audit
 * console, lists the events of that flow, filters them, exports them and verifies the chain.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'otplib';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium';
import { ROOT } from '../support/miniflare-gateway';
import { npmStart, type StartedDemo } from '../support/npm-start';

let demo: StartedDemo;
let browser: Browser;
const artifacts = join(ROOT, 'test-results/e2e');
const now = () => Math.floor(Date.now() / 1000);

/**
 * Sign in as `user` and enrol an authenticator app through Stepgate's API. The confirming code is
 * the current time step's (a previous step's could fall out of the ±1 window if the request
 * crossed a step boundary); `next` is the following step's, for one later approval.
 */
async function signedIn(user: string): Promise<{ ctx: BrowserContext; secret: string; next: () => Promise<string> }> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${demo.gateway}/login?user=${user}`);
  const json = { origin: demo.gateway, 'content-type': 'application/json' };
  const start = (await (await page.request.post(`${demo.gateway}/.stepgate/api/factors/totp`, { headers: json, data: {} })).json()) as {
    id: string;
    secret: string;
  };
  const t0 = now();
  const ok = await page.request.post(`${demo.gateway}/.stepgate/api/factors/totp/${start.id}/confirm`, {
    headers: json,
    data: { code: await generate({ secret: start.secret, epoch: t0 }) },
  });
  expect(ok.status()).toBe(200);
  await page.close();
  return { ctx, secret: start.secret, next: () => generate({ secret: start.secret, epoch: t0 + 30 }) };
}

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  [demo, browser] = await Promise.all([npmStart(), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

describe('the audit console', () => {
  it('the bootstrap owner claims ownership and grants dave the auditor role, by clicking', async () => {
    const alice = await signedIn('alice');
    const page = await alice.ctx.newPage();
    await page.goto(`${demo.gateway}/.stepgate/admin/audit`);
    // No role yet: the log is refused, and seeing her roles needs a fresh step-up first.
    await expect.poll(() => page.isVisible('#confirm')).toBe(true);
    expect(await page.isVisible('#claim')).toBe(false);
    await page.fill('#confirm-code', await alice.next());
    await page.click('#confirm-form button');
    await expect.poll(() => page.isVisible('#claim-owner')).toBe(true);
    expect(await page.textContent('#status')).toContain('You (alice) hold no role in "default".');
    expect(await page.isVisible('#grant')).toBe(false);
    await page.screenshot({ path: join(artifacts, 'audit-console-claim.png'), fullPage: true });

    await page.click('#claim-owner');
    await expect.poll(() => page.textContent('#status')).toBe('You own "default" now.');
    expect(await page.isVisible('#claim')).toBe(false);
    // An owner reads the log (her claim is in it) and may grant roles.
    await expect.poll(() => page.isVisible('#grant')).toBe(true);
    await expect.poll(async () => (await page.textContent('#events tbody')) ?? '').toContain('org.owner_claimed');
    await page.click('#grant summary');
    await page.fill('#grant-person', 'dave');
    await page.selectOption('#grant-role', 'auditor');
    await page.click('#grant-form button[type=submit]');
    await expect.poll(() => page.textContent('#status')).toBe('dave is an auditor of "default" now.');
    await page.screenshot({ path: join(artifacts, 'audit-console-granted.png'), fullPage: true });
    // Granting it again is refused, with the reason shown.
    await page.click('#grant-form button[type=submit]');
    await expect.poll(() => page.textContent('#status')).not.toBe('dave is an auditor of "default" now.');
    await alice.ctx.close();
  });

  it('an auditor lists, filters, exports and verifies the events of a step-up flow', async () => {
    // Nora deletes a project, approving it with her authenticator app.
    const nora = await signedIn('nora');
    const np = await nora.ctx.newPage();
    const json = { origin: demo.gateway, 'content-type': 'application/json' };
    const first = await np.request.delete(`${demo.gateway}/api/projects/2`);
    expect(first.status()).toBe(401);
    const { challenge_id } = (await first.json()) as { challenge_id: string };
    expect(
      (
        await np.request.post(`${demo.gateway}/.stepgate/api/challenges/${challenge_id}/verify`, {
          headers: json,
          data: { method: 'totp', code: await nora.next() },
        })
      ).status(),
    ).toBe(200);
    expect((await np.request.delete(`${demo.gateway}/api/projects/2`)).status()).toBe(200);

    // Dave, an auditor (granted by alice above), opens the console and confirms it is him.
    const dave = await signedIn('dave');
    const page = await dave.ctx.newPage();
    await page.goto(`${demo.gateway}/.stepgate/admin/audit`);
    await expect.poll(() => page.isVisible('#confirm')).toBe(true);
    await page.fill('#confirm-code', await dave.next());
    await page.click('#confirm-form button');
    await expect.poll(() => page.locator('#events tbody tr').count()).toBeGreaterThan(5);
    expect(await page.isVisible('#claim')).toBe(false);
    expect(await page.isVisible('#grant')).toBe(false);
    const text = (await page.textContent('#events'))!;
    for (const t of ['challenge.issued', 'factor.verified', 'grant.issued', 'grant.used']) expect(text).toContain(t);
    expect(text).toContain('DELETE /api/projects/2');
    await page.screenshot({ path: join(artifacts, 'audit-console.png'), fullPage: true });

    // Filter: only nora's grant uses.
    await page.fill('#f-user', 'nora');
    await page.selectOption('#f-type', 'grant.used');
    await page.click('#filters button[type=submit]');
    await expect.poll(async () => (await page.locator('#events tbody tr td:nth-child(3)').allTextContents()).join('|')).toBe('grant.used');
    expect(await page.textContent('#events tbody')).toContain('nora');

    // Export what is shown, as CSV, with the auditor's own session.
    const href = (await page.getAttribute('#x-csv', 'href'))!;
    expect(href).toContain('user=nora');
    const csv = await page.request.get(`${demo.gateway}${href}`);
    expect(csv.headers()['content-type']).toContain('text/csv');
    const rows = (await csv.text()).trim().split('\r\n');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toContain(',grant.used,success,nora,');

    // Verify the whole chain.
    await page.click('#verify');
    await expect.poll(() => page.textContent('#status')).toMatch(/^The chain is intact: \d+ events through sequence \d+\.$/);
    await page.screenshot({ path: join(artifacts, 'audit-console-verified.png'), fullPage: true });
    await nora.ctx.close();
    await dave.ctx.close();
  });
});
