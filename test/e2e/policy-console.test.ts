/**
 * Policies as live data in real Chromium against `npm start` (issue 13's "done when"): carol, an
 * app-admin of the demo app, adds a report-only rule for `POST /api/projects` in the console; erin's
 * project creations go on and are counted; the console shows whom the rule would have challenged;
 * carol promotes it and it enforces within seconds, without a deploy; she proposes removing the
 * delete rule and it waits for a second person (bob, an admin, approves it); rolling back restores
 * the version before. Screenshots of every state are kept in test-results/e2e (desktop and 360 px).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible } from '../support/axe';
import { CHROMIUM_FLAGS } from '../support/chromium';
import { act, openConsole, type Person, person as signIn } from '../support/console-browser';
import { ROOT } from '../support/miniflare-gateway';
import { npmStart, type StartedDemo } from '../support/npm-start';

let demo: StartedDemo;
let browser: Browser;
let port: string;
const artifacts = join(ROOT, 'test-results/e2e');
/** A screenshot of the page state, and the accessibility check on it (docs/accessibility.md). */
const shot = async (page: Page, name: string) => {
  await page.screenshot({ path: join(artifacts, `policy-${name}.png`), fullPage: true });
  await expectAccessible(page, `policy ${name}`);
};
const person = (name: string) => signIn(browser, port, name);
const POLICY_PAGE = '/.stepgate/admin/orgs/default/apps/bundled/policy';
/** How long a new version may take to reach the gateway (MAX_AGE_MS), and a little for the poll. */
const APPLIES_WITHIN_MS = 12_000;

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

/** What the gateway does with one of erin's requests: 'forwarded' (the demo app answered) or 'step-up'. */
async function tryAs(p: Person, method: 'POST' | 'DELETE', path: string): Promise<'forwarded' | 'step-up' | number> {
  const at = `http://127.0.0.1:${port}`;
  const res = await p.page.request.fetch(`${at}${path}`, {
    method,
    headers: { origin: at, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    data: method === 'POST' ? 'name=Launch' : undefined,
    maxRedirects: 0,
  });
  if (res.status() === 401 && /^StepUp /.test(res.headers()['www-authenticate'] ?? '')) return 'step-up';
  // Protected, and this person opened too many challenges in the last minute: still not forwarded.
  if (res.status() === 429 && (await res.text()).includes('ERR_TOO_MANY_CHALLENGES')) return 'step-up';
  if (res.status() === 201 || res.status() === 200 || res.status() === 404) return 'forwarded';
  return res.status();
}

/** Poll until `p`'s request gets `want`; the time it took (ms). */
async function appliesWithin(p: Person, method: 'POST' | 'DELETE', path: string, want: 'forwarded' | 'step-up'): Promise<number> {
  const from = Date.now();
  await expect.poll(() => tryAs(p, method, path), { timeout: APPLIES_WITHIN_MS, interval: 1_000 }).toBe(want);
  return Date.now() - from;
}

/** Replace the editor's draft and wait for its check. */
async function edit(page: Page, change: (doc: { rules: Record<string, unknown>[] }) => void): Promise<void> {
  await expect.poll(() => page.isEnabled('#policy-text')).toBe(true);
  const doc = JSON.parse(await page.inputValue('#policy-text')) as { rules: Record<string, unknown>[] };
  change(doc);
  await page.fill('#policy-text', JSON.stringify(doc, null, 2));
  await expect.poll(async () => (await page.textContent('#check-state')) ?? '').toMatch(/valid/i);
}

describe('policies as live data in the console', { timeout: 300_000 }, () => {
  let alice: Person;
  let bob: Person;
  let carol: Person;
  let erin: Person;

  it('the owner makes bob an admin and carol an app-admin of the demo app', async () => {
    [alice, bob, carol, erin] = await Promise.all([person('alice'), person('bob'), person('carol'), person('erin')]);
    const page = await openConsole(alice, '/.stepgate/admin');
    if (await page.isVisible('#claim-owner')) expect(await act(alice, '#claim-owner')).toContain('You own "default" now.');
    await openConsole(alice, '/.stepgate/admin/people');
    for (const [who, role] of [
      ['bob', 'admin'],
      ['carol', 'app-admin'],
    ] as const) {
      if (!(await page.isVisible('#grant-person'))) await page.click('details:has(#grant-form) > summary');
      await page.fill('#grant-person', who);
      await page.selectOption('#grant-role', role);
      if (role === 'app-admin') await page.selectOption('#grant-app', 'bundled');
      expect(await act(alice, '#grant-form button[type=submit]')).toContain(who);
    }
  });

  it('carol adds a report-only rule for POST /api/projects: nothing is challenged, and the console counts it', async () => {
    expect(await tryAs(erin, 'POST', '/api/projects')).toBe('forwarded');
    const page = await openConsole(carol, POLICY_PAGE);
    await shot(page, 'editor');
    await edit(page, (doc) => {
      doc.rules.push({
        id: 'create-project',
        description: 'Creating a project needs a fresh step-up.',
        mode: 'report',
        match: { methods: ['POST'], path: '/api/projects' },
        require: { factors: ['webauthn', 'totp'], bind: 'session', maxAge: '5m' },
      });
    });
    expect(await page.textContent('#diff')).toContain('create-project');
    expect(await page.isVisible('#weakens')).toBe(false);
    await page.fill('#save-comment', 'Try protecting project creation');
    expect(await act(carol, '#save')).toMatch(/Active as version \d+/);

    // Erin creates projects as before (once the version has reached the gateway): the rule only counts them.
    await new Promise((r) => setTimeout(r, APPLIES_WITHIN_MS));
    for (let i = 0; i < 3; i++) expect(await tryAs(erin, 'POST', '/api/projects')).toBe('forwarded');
    // Counted per isolate and written in batches: the console shows them within seconds.
    await expect
      .poll(
        async () => {
          await openConsole(carol, POLICY_PAGE);
          const text = (await page.textContent('#report-create-project').catch(() => '')) ?? '';
          return text;
        },
        { timeout: 30_000, interval: 2_000 },
      )
      .toMatch(/would have challenged [3-9] requests from 1 (person|people)/);
    await shot(page, 'report');
  });

  it('she promotes it with one action, and it enforces within seconds without a deploy', async () => {
    const page = carol.page;
    expect(await act(carol, '#promote-create-project')).toMatch(/enforces now/);
    const ms = await appliesWithin(erin, 'POST', '/api/projects', 'step-up');
    console.log(`policy-console: the promoted rule enforced ${ms} ms after the promotion`);
    await shot(page, 'promoted');
  });

  it('removing the delete rule weakens protection: it waits for a second person, and DELETE stays protected', async () => {
    const page = await openConsole(carol, POLICY_PAGE);
    await edit(page, (doc) => {
      doc.rules = doc.rules.filter((r) => r.id !== 'delete-project');
    });
    await expect.poll(() => page.isVisible('#weakens')).toBe(true);
    await shot(page, 'weakening-draft');
    await page.fill('#save-comment', 'Deletes are rare now');
    expect(await act(carol, '#save')).toMatch(/waiting for a second owner or admin/i);
    await shot(page, 'proposal');
    // Still protected: a proposal changes nothing.
    await new Promise((r) => setTimeout(r, APPLIES_WITHIN_MS));
    expect(await tryAs(erin, 'DELETE', '/api/projects/1')).toBe('step-up');
    // Carol cannot approve her own proposal.
    expect(await page.isVisible('[id$="-approve"]')).toBe(false);
  });

  it('bob approves it after his own step-up; then rolling back restores the delete rule', async () => {
    const page = await openConsole(bob, POLICY_PAGE);
    const approve = page.locator('[id^="version-"][id$="-approve"]').first();
    await expect.poll(() => approve.isVisible()).toBe(true);
    const id = await approve.getAttribute('id');
    expect(await act(bob, `#${id}`)).toMatch(/Active as version \d+/);
    await appliesWithin(erin, 'DELETE', '/api/projects/1', 'forwarded');
    await shot(page, 'approved');

    // Roll back to the version before the removal: it restores the delete rule, which only
    // strengthens (the first rule in file order wins, also for /api/projects/4.json), so it applies at once.
    await openConsole(carol, POLICY_PAGE);
    const carolPage = carol.page;
    const n = Number(/version-(\d+)-approve/.exec(id ?? '')?.[1]);
    expect(await act(carol, `#version-${n - 1}-rollback`)).toMatch(/Active as version \d+|Rolled back/);
    await openConsole(carol, POLICY_PAGE);
    await appliesWithin(erin, 'DELETE', '/api/projects/2', 'step-up');
    await shot(carolPage, 'rolled-back');

    await carolPage.setViewportSize({ width: 360, height: 800 });
    await openConsole(carol, POLICY_PAGE);
    expect(await carolPage.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await shot(carolPage, 'history-360');
  });
});
