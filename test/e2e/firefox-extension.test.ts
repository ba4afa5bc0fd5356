/**
 * The browser extension in real Firefox (Debian's firefox-esr, headless) against `npm start`, driven
 * over WebDriver BiDi with puppeteer-core: install the Firefox build, pair the demo site from the
 * popup after a click on the toolbar button, add an authenticator app on the options page, approve
 * a held single-page delete with a TOTP code in the extension's prompt window (the origin deletes
 * exactly once), deny one (the project stays), add a passkey (Firefox's virtual authenticator) and
 * approve a delete with it, unpair.
 *
 * Unlike the Chromium test, this runs the shipped build unchanged: Firefox's pref
 * `extensions.webextOptionalPermissionPrompts: false` grants `permissions.request()` without its
 * doorhanger, so the optional host permission is requested and granted for real. What no
 * automation reaches (the doorhanger itself, driving the popup inside its panel) is listed in
 * docs/extension.md, "Tests".
 *
 * Firefox gives the extension's pages the origin `moz-extension://<uuid>`, a new uuid per
 * installation; the test fixes it with `extensions.webextensions.uuids`. WebAuthn from those pages
 * uses another origin, derived from the add-on id (`mozWebAuthnOrigin`). Both are allow-listed for
 * this test's `npm start` through `STEPGATE_WEBAUTHN_ORIGINS`.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generate } from 'otplib';
import type { ElementHandle, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENSION_VERSION, manifest } from '../../extension/manifest';
import { DEV_EXTENSION_ID } from '../../shared/extension-id';
import {
  addVirtualAuthenticator,
  clickToolbarButton,
  firefoxMissing,
  launchFirefox,
  mozWebAuthnOrigin,
  virtualCredentials,
  type Firefox,
} from '../support/firefox';
import { ROOT } from '../support/miniflare-gateway';
import { npmStart, type StartedDemo } from '../support/npm-start';
import { awaitRoomInStep } from '../support/totp-step';

/** The extension APIs this test reads from inside an extension page (page.evaluate runs there). */
declare const browser: {
  runtime: { getManifest(): { version: string } };
  storage: { local: { get(keys: null): Promise<Record<string, unknown>> } };
  declarativeNetRequest: { getDynamicRules(): Promise<{ condition: { urlFilter: string } }[]> };
  permissions: { getAll(): Promise<{ origins: string[] }> };
  action: { getBadgeText(details: object): Promise<string> };
};

const GECKO_ID = (manifest('firefox').browser_specific_settings as { gecko: { id: string } }).gecko.id;
/** The fixed uuid of this test's installation: its pages are at moz-extension://<uuid>/. */
const UUID = '5f0c2a1e-7b3d-4c8e-9a6f-2d4b8e1c3a57';
const EXT_ORIGIN = `moz-extension://${UUID}`;
const ext = (path: string) => `${EXT_ORIGIN}/${path}`;
const artifacts = join(ROOT, 'test-results/e2e');
const shot = (page: Page, name: string) => page.screenshot({ path: join(artifacts, `firefox-${name}.png`), fullPage: true });
const now = () => Math.floor(Date.now() / 1000);

const missing = firefoxMissing();
if (missing) console.warn(`Skipping the Firefox end-to-end test: ${missing}.`);

let demo: StartedDemo;
let ff: Firefox;
let buildDir = '';
/** Passkeys refuse IP addresses as RP IDs: the demo is used as http://localhost:<port>. */
let base = '';
let site: Page;
let options: Page;
let authenticator = '';
let totpSecret = '';
/** Prompt windows already seen, so each wait finds the new one. */
const seenPrompts = new Set<string>();

const text = (page: Page, selector: string) => page.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector);
const projects = () => site.evaluate(async () => ((await (await fetch('/api/projects')).json()) as { name: string }[]).map((p) => p.name));
const originDeletes = async (id: number) =>
  ((await (await fetch(`${demo.demo}/__demo/requests`)).json()) as { method: string; url: string }[]).filter(
    (r) => r.method === 'DELETE' && r.url === `/api/projects/${id}`,
  ).length;

/** The Firefox build, built for this test into its own directory (the node build test rebuilds dist/extension at the same time). */
async function firefoxBuild(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-ext-firefox-'));
  await promisify(execFile)(
    join(ROOT, 'node_modules/.bin/vite'),
    ['build', '-c', 'extension/build/vite.config.ts', '--mode', 'firefox', '--outDir', dir],
    { cwd: ROOT },
  );
  return dir;
}

/** Open the SPA in a new tab, click Delete on `name`, and return that tab and the prompt window the extension opens for it. */
async function deleteFromSpa(name: string): Promise<{ spa: Page; prompt: Page }> {
  const spa = await ff.browser.newPage();
  await spa.goto(`${base}/spa`);
  const button = (await spa.waitForSelector(
    `::-p-xpath(//ul[@id="spa-projects"]/li[contains(., "${name}")]//button[normalize-space()="Delete"])`,
  )) as ElementHandle<HTMLButtonElement>;
  await button.click();
  const prompt = await ff.waitForPage((url, context) => url.startsWith(ext('prompt/index.html')) && !seenPrompts.has(context));
  seenPrompts.add(ff.contextOf(prompt));
  await prompt.waitForSelector('#request');
  return { spa, prompt };
}

const spaStatus = (spa: Page) => text(spa, '#spa-status');

describe.skipIf(missing !== null)('the Stepgate extension in Firefox (WebDriver BiDi)', () => {
  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    const origins = [`chrome-extension://${DEV_EXTENSION_ID}`, EXT_ORIGIN, mozWebAuthnOrigin(GECKO_ID)];
    // Each is kept as soon as it is up, so afterAll ends it even when another one failed to start.
    const started = await Promise.allSettled([
      npmStart(120_000, { STEPGATE_WEBAUTHN_ORIGINS: origins.join(',') }).then((d) => (demo = d)),
      firefoxBuild().then((d) => (buildDir = d)),
      launchFirefox({
        'extensions.webextensions.uuids': JSON.stringify({ [GECKO_ID]: UUID }),
        // permissions.request() is granted without the doorhanger, which automation cannot click.
        'extensions.webextOptionalPermissionPrompts': false,
        // WebAuthn goes to the virtual authenticator only, never to a USB token.
        'security.webauth.webauthn_enable_softtoken': true,
        'security.webauth.webauthn_enable_usbtoken': false,
      }).then((f) => (ff = f)),
    ]);
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    base = demo.gateway.replace('127.0.0.1', 'localhost');
    site = (await ff.browser.pages())[0] ?? (await ff.browser.newPage());
    await site.goto(`${base}/login?user=erin`);
  });
  afterAll(async () => {
    await ff?.close();
    await demo?.stop();
    if (buildDir) rmSync(buildDir, { recursive: true, force: true });
  });

  it('installs the Firefox build under its gecko id, its pages at the fixed moz-extension:// origin', async () => {
    expect(await ff.browser.installExtension(buildDir)).toBe(GECKO_ID);
    options = await ff.browser.newPage();
    await ff.navigate(options, ext('options/index.html'));
    expect(await options.evaluate(() => location.href)).toBe(ext('options/index.html'));
    expect(await options.evaluate(() => browser.runtime.getManifest().version)).toBe(EXTENSION_VERSION);
    await options.waitForSelector('#no-sites');
  });

  it('pairs the demo site from the popup after a click on the toolbar button: host permission granted, marker rule installed', async () => {
    // The click grants activeTab for the site's tab: that is how the popup learns which site to pair.
    await ff.bidi('browsingContext.activate', { context: ff.contextOf(site) });
    await clickToolbarButton(ff, GECKO_ID);
    // The same popup page, in a background tab (BiDi cannot reach into the toolbar panel); the site's tab stays selected.
    const popup = await ff.browser.newPage();
    await ff.bidi('browsingContext.activate', { context: ff.contextOf(site) });
    await popup.setViewport({ width: 360, height: 480 });
    await ff.navigate(popup, ext('popup/index.html'));
    await popup.waitForSelector('#pair');
    expect(await text(popup, '#this-site')).toContain(new URL(base).host);
    await popup.click('#pair');
    await expect.poll(() => text(popup, '#this-site'), { timeout: 15_000 }).toContain('Paired');
    await expect.poll(() => text(popup, '#sites')).toContain('signed in');
    await shot(popup, 'popup-paired');
    expect((await popup.evaluate(() => browser.permissions.getAll())).origins).toEqual(['http://localhost/*']);
    expect((await popup.evaluate(() => browser.declarativeNetRequest.getDynamicRules())).map((r) => r.condition.urlFilter)).toEqual([
      `|${base}/`,
    ]);
    const stored = await popup.evaluate(() => browser.storage.local.get(null));
    expect(stored).toEqual({ sites: [{ origin: base, name: new URL(base).host, pairedAt: expect.any(Number), ruleId: 1 }] });
    await popup.close();
  });

  it('adds an authenticator app from the options page and shows the recovery codes once', async () => {
    await ff.navigate(options, ext('options/index.html')); // page.reload() waits in vain on extension pages
    await options.waitForSelector('#add-totp');
    expect(await text(options, '.site .state')).toContain('signed in · no factors yet');
    await options.click('#add-totp');
    await options.waitForSelector('#totp-setup');
    expect(await options.$eval('#totp-qr', (img) => (img as HTMLImageElement).src)).toMatch(/^data:image\/svg\+xml/);
    totpSecret = ((await text(options, '#totp-secret')) ?? '').replaceAll(' ', '');
    expect(totpSecret).toMatch(/^[A-Z2-7]{32}$/);
    // Wait for the QR code to be drawn before the screenshot.
    await options.waitForFunction(() => (document.getElementById('totp-qr') as HTMLImageElement | null)?.complete === true);
    await shot(options, 'options-totp');
    await awaitRoomInStep();
    await options.type('#totp-confirm-code', await generate({ secret: totpSecret, epoch: now() - 30 }));
    await options.click('#totp-confirm button');
    await expect.poll(() => text(options, '#site-status'), { timeout: 15_000 }).toBe('Your authenticator app is set up.');
    expect(await options.$$eval('#recovery-codes li', (li) => li.length)).toBe(10);
    expect(await options.$$eval('#factor-list li', (li) => li.map((l) => l.textContent))).toEqual([
      expect.stringMatching(/^Authenticator app/),
    ]);
    await shot(options, 'options-recovery-codes');
    await options.click('::-p-text(I have saved them)');
    await expect.poll(() => text(options, '#recovery-left')).toBe('10 recovery codes left.');
  });

  it(
    'holds a single-page delete until it is approved with a TOTP code in the prompt window; ' + 'the origin deletes it exactly once',
    async () => {
      const { spa, prompt } = await deleteFromSpa('Apollo');
      expect(await text(prompt, '#request')).toBe('Delete /api/projects/1');
      expect(await text(prompt, '#app')).toBe(new URL(base).host);
      expect(await text(prompt, '#rule')).toBe('delete-project');
      expect(await text(prompt, '#grant')).toContain('One-time approval');
      expect(await text(prompt, '#from')).toContain(base);
      expect(await text(prompt, '#from')).toContain('Firefox');
      expect(await text(spa, '#spa-status')).toContain('Deleting Apollo');
      await shot(prompt, 'prompt');

      // The popup, while the approval waits: it lists it, and the badge counts it.
      const popup = await ff.browser.newPage();
      await popup.setViewport({ width: 360, height: 480 });
      await ff.navigate(popup, ext('popup/index.html'));
      await expect.poll(() => text(popup, '#pending'), { timeout: 10_000 }).toContain('Delete localhost');
      expect(await popup.evaluate(() => browser.action.getBadgeText({}))).toBe('1');
      await shot(popup, 'popup-pending');
      await popup.close();

      await prompt.type('#code', '000000');
      await prompt.click('#approve-code');
      await expect.poll(() => text(prompt, '#status'), { timeout: 10_000 }).toContain('That code is not right');
      await prompt.type('#code', await generate({ secret: totpSecret, epoch: now() }));
      await prompt.click('#approve-code');
      // First the prompt, which closes itself three seconds after the answer; then the page.
      await expect
        .poll(() => text(prompt, '#status'), { timeout: 15_000 })
        .toBe('Approved. The page’s request is being carried out, once.');
      await shot(prompt, 'prompt-approved');
      await expect.poll(() => spaStatus(spa), { timeout: 20_000 }).toBe('Deleted Apollo.');
      await shot(spa, 'spa-deleted');
      expect(await projects()).toEqual(['Borealis', 'Cassini', 'Dawn']);
      expect(await originDeletes(1)).toBe(1);
      await expect.poll(() => options.evaluate(() => browser.action.getBadgeText({}))).toBe('');
      await spa.close();
    },
  );

  it('denying in the prompt refuses the held request; the project stays', async () => {
    const { spa, prompt } = await deleteFromSpa('Borealis');
    expect(await text(prompt, '#request')).toBe('Delete /api/projects/2');
    await prompt.click('#deny');
    await expect.poll(() => text(prompt, '#status'), { timeout: 15_000 }).toBe('Denied. The request will not be carried out.');
    await shot(prompt, 'prompt-denied');
    await expect.poll(() => spaStatus(spa), { timeout: 20_000 }).toContain('You denied it in the Stepgate prompt');
    await shot(spa, 'spa-denied');
    expect(await projects()).toContain('Borealis');
    expect(await originDeletes(2)).toBe(0);
    await spa.close();
  });

  it(
    'adds a passkey from the options page, after confirming with a code; ' +
      'Firefox signs it for the site’s RP ID with the add-on’s own origin',
    async () => {
      authenticator = await addVirtualAuthenticator(ff);
      // WebAuthn needs a focused document, as for a person looking at the page: bring the options tab to the front.
      await ff.bidi('browsingContext.activate', { context: ff.contextOf(options) });
      await ff.navigate(options, ext('options/index.html')); // page.reload() waits in vain on extension pages
      await options.waitForSelector('#add-passkey');
      // Record the origin Firefox writes into clientDataJSON: a wrapper around credentials.create, the page's code as it is.
      await options.evaluate(() => {
        const create = navigator.credentials.create.bind(navigator.credentials);
        navigator.credentials.create = async (o) => {
          const cred = (await create(o)) as PublicKeyCredential;
          document.body.dataset.webauthnOrigin = (
            JSON.parse(new TextDecoder().decode(cred.response.clientDataJSON)) as { origin: string }
          ).origin;
          return cred;
        };
      });
      await options.click('#add-passkey');
      // A factor exists, so the site first wants a fresh step-up with it: the app's next code.
      await options.waitForSelector('#step-up-form');
      expect(await options.$('#step-up-passkey')).toBeNull();
      await options.type('#step-up-code', await generate({ secret: totpSecret, epoch: now() + 30 }));
      await options.click('#step-up-form button[type=submit]');
      await expect.poll(() => text(options, '#site-status'), { timeout: 20_000 }).toBe('Your passkey is added.');
      expect(await options.evaluate(() => document.body.dataset.webauthnOrigin)).toBe(mozWebAuthnOrigin(GECKO_ID));
      expect(await virtualCredentials(ff, authenticator)).toEqual([
        expect.objectContaining({ rpId: 'localhost', isResidentCredential: true }),
      ]);
      await expect.poll(() => options.$$eval('#factor-list li', (li) => li.length)).toBe(2);
      expect(await options.$('#recovery-codes')).toBeNull(); // only the first factor comes with codes
      await shot(options, 'options-passkey');
    },
  );

  it('approves a held single-page delete with the passkey in the prompt window; deleted exactly once', async () => {
    const [before] = await virtualCredentials(ff, authenticator);
    const { spa, prompt } = await deleteFromSpa('Cassini');
    expect(await text(prompt, '#request')).toBe('Delete /api/projects/3');
    await ff.bidi('browsingContext.activate', { context: ff.contextOf(prompt) });
    await prompt.click('#approve-passkey');
    await expect.poll(() => text(prompt, '#status'), { timeout: 15_000 }).toBe('Approved. The page’s request is being carried out, once.');
    await shot(prompt, 'prompt-passkey-approved');
    await expect.poll(() => spaStatus(spa), { timeout: 20_000 }).toBe('Deleted Cassini.');
    const [after] = await virtualCredentials(ff, authenticator);
    expect(after!.signCount).toBeGreaterThan(before!.signCount);
    expect(await projects()).toEqual(['Borealis', 'Dawn']);
    expect(await originDeletes(3)).toBe(1);
    await spa.close();
  });

  it('unpairs the site: its record, marker rule and host permission are gone', async () => {
    await options.click('::-p-text(Unpair)');
    await options.waitForSelector('#no-sites');
    expect(await options.evaluate(() => browser.storage.local.get(null))).toEqual({ sites: [] });
    expect(await options.evaluate(() => browser.declarativeNetRequest.getDynamicRules())).toEqual([]);
    await expect.poll(async () => (await options.evaluate(() => browser.permissions.getAll())).origins).toEqual([]);
  });
});
