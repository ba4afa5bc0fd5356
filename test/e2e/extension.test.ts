/**
 * The browser extension in real Chromium against `npm start`: pair the demo site from the options
 * page, enrol a passkey there (DevTools virtual authenticator, the site's RP ID from the extension's
 * origin), then delete projects from the demo's single-page view: the fetch is held, the extension's
 * prompt window shows the signed request, and approving (passkey, then TOTP) lets it through exactly
 * once; denying refuses it. Last, number matching: a delete made in a second, plain Chromium (same
 * person, no extension) is approved from the extension's prompt after typing the number that
 * browser shows; a wrong number is refused first (extension-prompt.test.ts has the rest).
 *
 * One test-only difference from the shipped build: Chromium's permission dialog cannot be answered
 * by automation (headless or not), so the test build lists the demo's host under
 * `host_permissions` instead of `optional_host_permissions`. `permissions.request` for a host
 * already granted resolves true without a dialog, so the pairing code path is otherwise the same.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { chromium, type BrowserContext, type CDPSession, type Page, type Worker } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addVirtualAuthenticator, CHROMIUM_FLAGS, launchChromium } from '../support/chromium';
import { ROOT } from '../support/miniflare-gateway';
import { buildTestExtension, extUrl } from '../support/extension-build';
import { npmStart, type StartedDemo } from '../support/npm-start';
import { awaitRoomInStep } from '../support/totp-step';

/** The extension APIs this test reads inside the service worker (worker.evaluate runs there). */
declare const chrome: {
  declarativeNetRequest: { getDynamicRules(): Promise<unknown[]> };
  storage: { local: { get(keys: null): Promise<Record<string, unknown>> } };
  action: { getBadgeText(details: object): Promise<string> };
};

const artifacts = join(ROOT, 'test-results/e2e');
const now = () => Math.floor(Date.now() / 1000);

let demo: StartedDemo;
let context: BrowserContext;
let worker: Worker;
let options: Page;
let optionsCdp: CDPSession;
let optionsAuthenticator = '';
/** Passkeys refuse IP addresses as RP IDs: the demo is used as http://localhost:<port>. */
let base = '';
let totpSecret = '';

type Credential = {
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  privateKey: string;
  userHandle?: string;
  signCount: number;
};

/** A virtual authenticator on `page` (test/support/chromium.ts). */
const addAuthenticator = addVirtualAuthenticator;

const projects = async () =>
  ((await (await options.request.get(`${base}/api/projects`)).json()) as { id: number; name: string }[]).map((p) => p.name);

/** Open the SPA, click Delete on `name`, and return the prompt window the extension opens for it. */
async function deleteFromSpa(spa: Page, name: string): Promise<Page> {
  await spa.goto(`${base}/spa`);
  const row = spa.locator('#spa-projects li', { hasText: name });
  await row.getByRole('button', { name: 'Delete' }).waitFor();
  const [prompt] = await Promise.all([
    context.waitForEvent('page', { predicate: (p) => p.url().startsWith(extUrl('prompt/index.html')), timeout: 20_000 }),
    row.getByRole('button', { name: 'Delete' }).click(),
  ]);
  await prompt.waitForSelector('#request');
  return prompt;
}

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  let dir: string;
  [demo, dir] = await Promise.all([npmStart(), buildTestExtension()]);
  base = demo.gateway.replace('127.0.0.1', 'localhost');
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'stepgate-profile-')), {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_FLAGS, `--disable-extensions-except=${dir}`, `--load-extension=${dir}`],
  });
  worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
  const signIn = await context.newPage();
  await signIn.goto(`${base}/login?user=erin`);
  await signIn.close();
  options = await context.newPage();
  await options.goto(extUrl('options/index.html'));
  ({ cdp: optionsCdp, authenticatorId: optionsAuthenticator } = await addAuthenticator(options));
});
afterAll(async () => {
  await context?.close();
  await demo?.stop();
});

describe('the Stepgate extension in Chromium', () => {
  it('loads with the fixed development id the demo allow-lists', () => {
    expect(worker.url()).toBe(extUrl('background.js'));
  });

  it('pairs the demo site from the options page: stores it and installs the marker rule', async () => {
    await options.fill('#add-url', base);
    await options.click('#add-form button');
    await expect.poll(() => options.textContent('#add-status')).toBe(`Paired with ${new URL(base).host}.`);
    await expect.poll(() => options.textContent('.site .state')).toContain('signed in · no factors yet');
    const rules = (await worker.evaluate(() => chrome.declarativeNetRequest.getDynamicRules())) as { condition: { urlFilter: string } }[];
    expect(rules.map((r) => r.condition.urlFilter)).toEqual([`|${base}/`]);
    const stored = (await worker.evaluate(() => chrome.storage.local.get(null))) as Record<string, unknown>;
    expect(Object.keys(stored)).toEqual(['sites']);
    expect(stored.sites).toEqual([{ origin: base, name: new URL(base).host, pairedAt: expect.any(Number), ruleId: 1 }]);
  });

  it('enrols a passkey from the options page with the site’s RP ID, and shows recovery codes once', async () => {
    await options.click('#add-passkey');
    await expect.poll(() => options.textContent('#site-status'), { timeout: 15_000 }).toBe('Your passkey is added.');
    expect(await options.locator('#recovery-codes li').count()).toBe(10);
    const { credentials } = await optionsCdp.send('WebAuthn.getCredentials', { authenticatorId: optionsAuthenticator });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]!.rpId).toBe('localhost');
    await options.screenshot({ path: join(artifacts, 'extension-options-passkey.png'), fullPage: true });
    await options.click('text=I have saved them');
    await expect.poll(() => options.textContent('#recovery-left')).toBe('10 recovery codes left.');
  });

  it('holds a single-page delete until it is approved with a passkey in the prompt; the project is deleted exactly once', async () => {
    const spa = await context.newPage();
    const deletes: string[] = [];
    spa.on('request', (r) => r.method() === 'DELETE' && deletes.push(r.url()));
    const prompt = await deleteFromSpa(spa, 'Apollo');
    expect(await prompt.textContent('#request')).toBe('Delete /api/projects/1');
    expect(await prompt.textContent('#app')).toBe(new URL(base).host);
    expect(await prompt.textContent('#rule')).toBe('delete-project');
    expect(await prompt.textContent('#grant')).toContain('One-time approval');
    expect(await prompt.textContent('#from')).toContain(base);
    await prompt.setViewportSize({ width: 440, height: 640 });
    await prompt.screenshot({ path: join(artifacts, 'extension-prompt.png'), fullPage: true });
    expect(await spa.textContent('#spa-status')).toContain('Deleting Apollo');

    // The popup, while the approval is pending: it lists it and counts it on the badge.
    const popup = await context.newPage();
    await popup.setViewportSize({ width: 360, height: 480 });
    await popup.goto(extUrl('popup/index.html'));
    await expect.poll(() => popup.textContent('#pending')).toContain('Delete localhost');
    await popup.screenshot({ path: join(artifacts, 'extension-popup.png'), fullPage: true });
    expect(await worker.evaluate(() => chrome.action.getBadgeText({}))).toBe('1');
    await popup.close();

    // Each page has its own virtual authenticator: give the prompt's one the enrolled passkey.
    const { cdp, authenticatorId } = await addAuthenticator(prompt);
    const [cred] = (await optionsCdp.send('WebAuthn.getCredentials', { authenticatorId: optionsAuthenticator }))
      .credentials as Credential[];
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: cred! });
    await prompt.click('#approve-passkey');
    await expect.poll(() => spa.textContent('#spa-status'), { timeout: 20_000 }).toBe('Deleted Apollo.');
    // One passkey, two virtual authenticators: carry its signature counter back, or the edge sees a regression.
    const [used] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials as Credential[];
    expect(used!.signCount).toBeGreaterThan(cred!.signCount);
    await optionsCdp.send('WebAuthn.removeCredential', { authenticatorId: optionsAuthenticator, credentialId: used!.credentialId });
    await optionsCdp.send('WebAuthn.addCredential', { authenticatorId: optionsAuthenticator, credential: used! });
    expect(await projects()).not.toContain('Apollo');
    expect(deletes).toEqual([`${base}/api/projects/1`]);
    // And at the origin itself: exactly one DELETE of project 1 arrived.
    const seen = (await (await fetch(`${demo.demo}/__demo/requests`)).json()) as { method: string; url: string }[];
    expect(seen.filter((r) => r.method === 'DELETE' && r.url === '/api/projects/1')).toHaveLength(1);
    await expect.poll(() => worker.evaluate(() => chrome.action.getBadgeText({}))).toBe('');
    await spa.close();
  });

  it('denying in the prompt refuses the held request; the project stays', async () => {
    const spa = await context.newPage();
    const prompt = await deleteFromSpa(spa, 'Borealis');
    expect(await prompt.textContent('#request')).toBe('Delete /api/projects/2');
    await prompt.click('#deny');
    await expect.poll(() => spa.textContent('#spa-status'), { timeout: 20_000 }).toContain('You denied it in the Stepgate prompt');
    expect(await projects()).toContain('Borealis');
    await spa.close();
  });

  it('adds an authenticator app from the options page after confirming with the passkey', async () => {
    await options.reload();
    await options.waitForSelector('#add-totp');
    await options.click('#add-totp');
    // A factor exists, so the site first wants a fresh step-up with it.
    await options.waitForSelector('#step-up-passkey');
    await options.click('#step-up-passkey');
    await options.waitForSelector('#totp-setup');
    expect(await options.getAttribute('#totp-qr', 'src')).toMatch(/^data:image\/svg\+xml/);
    totpSecret = ((await options.textContent('#totp-secret')) ?? '').replaceAll(' ', '');
    expect(totpSecret).toMatch(/^[A-Z2-7]{32}$/);
    await options.screenshot({ path: join(artifacts, 'extension-options-totp.png'), fullPage: true });
    await awaitRoomInStep();
    await options.fill('#totp-confirm-code', await generate({ secret: totpSecret, epoch: now() - 30 }));
    await options.click('#totp-confirm button');
    await expect.poll(() => options.textContent('#site-status')).toBe('Your authenticator app is set up.');
    await expect.poll(() => options.locator('#factor-list li').count()).toBe(2);
  });

  it('approves a held single-page delete with a TOTP code; a wrong code is explained first', async () => {
    const spa = await context.newPage();
    const prompt = await deleteFromSpa(spa, 'Cassini');
    expect(await prompt.textContent('#request')).toBe('Delete /api/projects/3');
    await prompt.fill('#code', '000000');
    await prompt.click('#approve-code');
    await expect.poll(() => prompt.textContent('#status')).toContain('That code is not right');
    await prompt.fill('#code', await generate({ secret: totpSecret, epoch: now() }));
    await prompt.click('#approve-code');
    await expect.poll(() => spa.textContent('#spa-status'), { timeout: 20_000 }).toBe('Deleted Cassini.');
    expect(await projects()).toEqual(['Borealis', 'Dawn']);
    await spa.close();
  });

  it('past five prompts a minute the site refuses more (429), and the popup says prompts are paused', async () => {
    const spa = await context.newPage();
    let refused = false;
    for (let i = 0; i < 6 && !refused; i++) {
      await spa.goto(`${base}/spa`);
      const row = spa.locator('#spa-projects li', { hasText: 'Dawn' });
      const opened = context
        .waitForEvent('page', { predicate: (p) => p.url().startsWith(extUrl('prompt/index.html')), timeout: 10_000 })
        .catch(() => null);
      const answered = spa.waitForResponse((r) => r.request().method() === 'DELETE', { timeout: 70_000 });
      await row.getByRole('button', { name: 'Delete' }).click();
      const first = await Promise.race([answered.then(() => 'answered' as const), opened.then((p) => p)]);
      if (first === 'answered' || first === null) {
        refused = (await answered).status() === 429;
        break;
      }
      await first.waitForSelector('#deny');
      await first.click('#deny');
      expect((await answered).status()).toBe(403);
    }
    expect(refused).toBe(true);
    await expect.poll(() => spa.textContent('#spa-status')).toContain('Stepgate paused approval prompts');
    expect(await projects()).toContain('Dawn');
    const popup = await context.newPage();
    await popup.setViewportSize({ width: 360, height: 560 });
    await popup.goto(extUrl('popup/index.html'));
    await expect.poll(() => popup.textContent('#sites')).toContain('pauses approval prompts until');
    await popup.screenshot({ path: join(artifacts, 'extension-popup-too-many.png'), fullPage: true });
    await popup.close();
    await spa.close();
  });

  it('removes a factor after confirming it is you with a code', async () => {
    // Without the grant of the earlier step-up, so the removal asks for a new one.
    await context.clearCookies({ name: 'stepgate-stepgate-factors' });
    await options.reload();
    await options.locator('#factor-list li', { hasText: 'Authenticator app' }).getByRole('button', { name: 'Remove' }).click();
    await options.waitForSelector('#step-up-form');
    await options.fill('#step-up-code', await generate({ secret: totpSecret, epoch: now() + 30 }));
    await options.click('#step-up-form button[type=submit]');
    await expect.poll(() => options.textContent('#site-status')).toBe('The authenticator app is removed.');
    await expect.poll(() => options.locator('#factor-list li').allTextContents()).toEqual([expect.stringMatching(/^Passkey/)]);
  });

  it('unpairs the site: its record and marker rule are gone', async () => {
    await options.getByRole('button', { name: 'Unpair' }).click();
    await options.waitForSelector('#no-sites');
    expect(await worker.evaluate(() => chrome.declarativeNetRequest.getDynamicRules())).toEqual([]);
    expect(await worker.evaluate(() => chrome.storage.local.get(null))).toEqual({ sites: [] });
  });

  it(
    'approves a delete made in another browser (no extension) with number matching: ' +
      'a wrong number is refused, the right one lets the repeat through once',
    async () => {
      // Paired again (the test before unpaired); the passkey is still enrolled.
      await options.reload();
      await options.fill('#add-url', base);
      await options.click('#add-form button');
      await expect.poll(() => options.textContent('#add-status')).toBe(`Paired with ${new URL(base).host}.`);

      const plain = await launchChromium();
      try {
        // The same person, signed in to the demo in a browser without the extension: nothing is held.
        const other = await (await plain.newContext()).newPage();
        await other.goto(`${base}/login?user=erin`);
        await other.goto(`${base}/spa`);
        const row = other.locator('#spa-projects li', { hasText: 'Borealis' });
        const [refused] = await Promise.all([
          other.waitForResponse((r) => r.request().method() === 'DELETE'),
          row.getByRole('button', { name: 'Delete' }).click(),
        ]);
        expect(refused.status()).toBe(401);
        const problem = (await refused.json()) as { code: string; number: number; challenge_id: string; challenge_url: string };
        expect(problem.code).toBe('ERR_STEP_UP_REQUIRED');
        expect(Number.isInteger(problem.number) && problem.number >= 100 && problem.number <= 999).toBe(true);
        const number = problem.number;
        // The site's step-up page shows the same number.
        await other.goto(new URL(problem.challenge_url, base).href);
        expect(await other.textContent('body')).toMatch(new RegExp(`\\b${number}\\b`));

        // What the extension's browser is given: never the number, nor choices (signed or not).
        const listed = (
          (await (await options.request.get(`${base}/.stepgate/api/challenges`)).json()) as { challenges: Record<string, unknown>[] }
        ).challenges.find((c) => c.id === problem.challenge_id)!;
        const signed = JSON.parse(Buffer.from(String(listed.prompt).split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
        for (const view of [listed, signed]) {
          expect(view).toMatchObject({ bind: 'action', other_session: true });
          expect(view).not.toHaveProperty('number');
          expect(view).not.toHaveProperty('number_choices');
        }

        // In the extension's browser: the popup's poll lists the other browser's request; Review opens its prompt.
        const popup = await context.newPage();
        await popup.goto(extUrl('popup/index.html'));
        const item = popup.locator('#pending-list li', { hasText: 'another browser' });
        await expect.poll(() => item.count(), { timeout: 15_000 }).toBe(1);
        expect(await item.textContent()).toContain('Delete localhost');
        const [prompt] = await Promise.all([
          context.waitForEvent('page', { predicate: (p) => p.url().startsWith(extUrl('prompt/index.html')), timeout: 20_000 }),
          item.getByRole('button', { name: 'Review' }).click(),
        ]);
        await prompt.waitForSelector('#match-number');
        expect(new URL(prompt.url()).searchParams.get('id')).toBe(problem.challenge_id);
        expect(await prompt.textContent('#other-session')).toBe('This request was made in another browser or device');
        expect(await prompt.textContent('label[for="match-number"]')).toBe('Number shown in the other browser');
        expect(await prompt.textContent('#request')).toBe('Delete /api/projects/2');
        // No choices to pick from: the number is typed.
        expect(await prompt.locator('#number-match button').count()).toBe(0);
        expect(await prompt.isEnabled('#deny')).toBe(true);
        await prompt.setViewportSize({ width: 440, height: 760 });
        await prompt.screenshot({ path: join(artifacts, 'extension-prompt-number.png'), fullPage: true });

        const { cdp, authenticatorId } = await addAuthenticator(prompt);
        const [cred] = (await optionsCdp.send('WebAuthn.getCredentials', { authenticatorId: optionsAuthenticator }))
          .credentials as Credential[];
        await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: cred! });

        // A wrong number: refused, and typed again.
        await prompt.fill('#match-number', String(number === 999 ? 998 : number + 1));
        const mismatch = prompt.waitForResponse((r) => r.url().endsWith(`/${problem.challenge_id}/verify`));
        await prompt.click('#approve-passkey');
        expect((await mismatch).status()).toBe(400);
        expect(await (await mismatch).json()).toMatchObject({ code: 'ERR_NUMBER_MISMATCH' });
        await expect.poll(() => prompt.textContent('#status'), { timeout: 15_000 }).toContain('That is not the number shown there.');
        expect(await prompt.inputValue('#match-number')).toBe('');
        expect(await projects()).toContain('Borealis');

        // The right number: approved, for the other browser's request.
        await prompt.fill('#match-number', String(number));
        const verified = prompt.waitForResponse((r) => r.url().endsWith(`/${problem.challenge_id}/verify`));
        await prompt.click('#approve-passkey');
        expect((await verified).status()).toBe(200);
        expect(await (await verified).json()).toMatchObject({ approved: true, bind: 'action' });
        // No cookie for this browser: the approval belongs to the other browser's session.
        expect((await verified).headers()['set-cookie']).toBeUndefined();
        await expect
          .poll(() => prompt.textContent('#status'), { timeout: 15_000 })
          .toContain('Approved. Repeat the action in the other browser');
        const [used] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials as Credential[];
        await optionsCdp.send('WebAuthn.removeCredential', { authenticatorId: optionsAuthenticator, credentialId: used!.credentialId });
        await optionsCdp.send('WebAuthn.addCredential', { authenticatorId: optionsAuthenticator, credential: used! });

        // The other browser repeats the delete: it goes through, once.
        await other.goto(`${base}/spa`);
        const [done] = await Promise.all([
          other.waitForResponse((r) => r.request().method() === 'DELETE'),
          row.getByRole('button', { name: 'Delete' }).click(),
        ]);
        expect(done.status()).toBe(200);
        await expect.poll(() => other.textContent('#spa-status')).toBe('Deleted Borealis.');
        expect(await projects()).not.toContain('Borealis');
        const seen = (await (await fetch(`${demo.demo}/__demo/requests`)).json()) as { method: string; url: string }[];
        expect(seen.filter((r) => r.method === 'DELETE' && r.url === '/api/projects/2')).toHaveLength(1);
        // And a third time it is a new step-up again: the approval was for one request.
        const again = await other.request.delete(`${base}/api/projects/2`);
        expect(again.status()).toBe(401);
      } finally {
        await plain.close();
      }
    },
  );
});
