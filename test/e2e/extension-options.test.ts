/**
 * The extension's own pages as a person sees them, in real Chromium against `npm start`: the icons
 * (toolbar, extensions page, store, every page's tab or window), pairing that the browser's
 * permission question did not allow (said in words, with "Try again"), the options card's summary
 * true to the factors listed under it, and times in the person's locale and zone with UTC beside.
 * Each state is checked with axe and photographed at desktop width (and the popup at its own size).
 *
 * The test build grants http://localhost up front (automation cannot answer Chromium's permission
 * dialog, see test/support/extension-build.ts); http://127.0.0.1 stays an optional permission that
 * nobody grants, which is how the refused pairing is reached.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { chromium, type BrowserContext, type Page, type Worker } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTime } from '../../shared/local-time';
import { expectAccessible, expectNoHorizontalOverflow } from '../support/axe';
import { addVirtualAuthenticator, CHROMIUM_FLAGS } from '../support/chromium';
import { buildTestExtension, extUrl } from '../support/extension-build';
import { ROOT } from '../support/miniflare-gateway';
import { npmStart, type StartedDemo } from '../support/npm-start';

/** The extension APIs this test calls inside the service worker. */
declare const chrome: {
  tabs: { create(p: { url: string; active: boolean }): Promise<{ id?: number }> };
  action: { getBadgeText(details: object): Promise<string> };
};

const artifacts = join(ROOT, 'test-results/e2e');
/** A person in New York who reads British English: neither the machine's zone nor UTC. */
const LOCALE = 'en-GB';
const TIME_ZONE = 'America/New_York';

let demo: StartedDemo;
let dir: string;
let context: BrowserContext;
let worker: Worker;
let base = '';

const shot = (page: Page, name: string) => page.screenshot({ path: join(artifacts, `extension-${name}.png`), fullPage: true });

/** The popup as the browser shows it: its own width (pages.css), as tall as what it shows. */
async function popupShot(popup: Page, name: string): Promise<void> {
  const height = await popup.evaluate(() => Math.ceil(document.body.getBoundingClientRect().height));
  await popup.setViewportSize({ width: 340, height });
  await expectNoHorizontalOverflow(popup, `popup: ${name}`);
  await shot(popup, name);
}

/** The popup's page for the site tab that is selected: opened in a background tab, so the site's tab stays the active one. */
async function popupFor(site: Page, width = 340): Promise<Page> {
  await site.bringToFront();
  const [popup] = await Promise.all([
    context.waitForEvent('page', { predicate: (p) => p.url() === extUrl('popup/index.html') }),
    worker.evaluate((url) => chrome.tabs.create({ url, active: false }), extUrl('popup/index.html')),
  ]);
  await popup.setViewportSize({ width, height: 480 });
  await popup.waitForSelector('#this-site > *');
  return popup;
}

/** A PNG's size and type, and whether its middle pixel is opaque (rows are stored unfiltered, as icons.ts writes them). */
function pngInfo(bytes: Buffer): { width: number; height: number; rgba: boolean; opaqueMiddle: boolean } {
  expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  const idat = bytes.indexOf('IDAT', 0, 'latin1');
  const raw = inflateSync(bytes.subarray(idat + 4, idat + 4 + bytes.readUInt32BE(idat - 4)));
  const middle = (height >> 1) * (width * 4 + 1) + 1 + (width >> 1) * 4;
  return { width, height, rgba: bytes[24] === 8 && bytes[25] === 6, opaqueMiddle: raw[middle + 3] === 255 };
}

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  [demo, dir] = await Promise.all([npmStart(), buildTestExtension()]);
  // Test only: a person opens the popup with a click on the toolbar button, which lets it read the
  // tab's address (activeTab); automation cannot click it, so this build may read tab addresses.
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { permissions: string[] };
  m.permissions.push('tabs');
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 2));
  base = demo.gateway.replace('127.0.0.1', 'localhost');
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'stepgate-profile-')), {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    locale: LOCALE,
    timezoneId: TIME_ZONE,
    viewport: { width: 1280, height: 800 },
    args: [...CHROMIUM_FLAGS, `--disable-extensions-except=${dir}`, `--load-extension=${dir}`],
  });
  worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
});
afterAll(async () => {
  await context?.close();
  await demo?.stop();
});

describe('the extension’s icons', () => {
  it('names a 16/32/48/128 icon set and a toolbar icon in the manifest, each a real PNG of that size', async () => {
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
      icons: Record<string, string>;
      action: { default_icon: Record<string, string> };
    };
    expect(Object.keys(m.icons)).toEqual(['16', '32', '48', '128']);
    expect(m.action.default_icon).toEqual({ '16': m.icons['16'], '32': m.icons['32'] });
    for (const [size, path] of Object.entries(m.icons)) {
      const info = pngInfo(readFileSync(join(dir, path)));
      expect(info, path).toEqual({ width: Number(size), height: Number(size), rgba: true, opaqueMiddle: true });
    }
  });

  it('gives every page (popup, options, prompt window) the icon for its tab or window', async () => {
    const page = await context.newPage();
    for (const name of ['popup', 'options', 'prompt']) {
      await page.goto(extUrl(`${name}/index.html`));
      const href = await page.getAttribute('link[rel=icon]', 'href');
      expect(href, name).toBe('../icons/icon-32.png');
      const width = await page.evaluate(async (url) => {
        const img = new Image();
        img.src = url;
        await img.decode();
        return img.naturalWidth;
      }, new URL(href!, page.url()).href);
      expect(width, name).toBe(32);
    }
    // The icons as drawn, at their own sizes and enlarged, for a look.
    const src = (s: number) => `data:image/png;base64,${readFileSync(join(dir, `icons/icon-${s}.png`)).toString('base64')}`;
    await page.setContent(
      `<body style="font:14px system-ui;display:flex;gap:24px;align-items:flex-end;height:200px;margin:0;padding:16px">${[16, 32, 48, 128]
        .map((s) => `<figure><img alt="${s} px" src="${src(s)}"><figcaption>${s} px</figcaption></figure>`)
        .join('')}<figure><img alt="16 px enlarged" src="${src(16)}" style="width:128px;image-rendering:pixelated">` +
        '<figcaption>16 px ×8</figcaption></figure></body>',
    );
    await shot(page, 'icons');
    await page.close();
  });
});

describe('pairing when the browser’s permission question is not answered with Allow', () => {
  it('the options page says so and offers Try again; nothing is paired', async () => {
    const options = await context.newPage();
    await options.goto(extUrl('options/index.html'));
    await options.waitForSelector('#no-sites');
    await expectAccessible(options, 'options, no sites');
    await shot(options, 'options-empty');
    // 127.0.0.1 is not granted in the test build: the browser's question gets no Allow.
    await options.fill('#add-url', demo.gateway);
    await options.click('#add-form button');
    await expect.poll(() => options.textContent('#add-status'), { timeout: 20_000 }).toMatch(/Not paired yet|Still waiting/);
    const status = (await options.textContent('#add-status')) ?? '';
    expect(status).toContain('127.0.0.1');
    expect(status).not.toMatch(/EXT_|ERR_/);
    await options.getByRole('button', { name: 'Try again' }).waitFor();
    await expectAccessible(options, 'options, pairing not allowed');
    await shot(options, 'options-pair-refused');
    expect(await options.locator('#no-sites').count()).toBe(1);
    // Try again asks again (a new click), and says so again when it is still not allowed.
    await options.getByRole('button', { name: 'Try again' }).click();
    await expect.poll(() => options.textContent('#add-status'), { timeout: 20_000 }).toMatch(/Not paired yet|Still waiting/);
    await options.getByRole('button', { name: 'Try again' }).waitFor();
    await options.close();
  });

  it('when the person answers No, says the permission was not given, and Try again can pair', async () => {
    const options = await context.newPage();
    await options.goto(extUrl('options/index.html'));
    await options.waitForSelector('#no-sites');
    // Automation cannot click "Deny" in Chromium's dialog: the browser's answer is made "no" here, in this page only.
    await options.evaluate(() => {
      type Request = (...args: unknown[]) => unknown;
      const api = (chrome as unknown as { permissions: { request: Request } }).permissions;
      const real = api.request.bind(api);
      const w = window as unknown as { answerNo: boolean };
      w.answerNo = true;
      api.request = (...args) => (w.answerNo ? Promise.resolve(false) : real(...args));
    });
    await options.fill('#add-url', base);
    await options.click('#add-form button');
    await expect
      .poll(() => options.textContent('#add-status'))
      .toBe(
        `Not paired yet: Stepgate needs your permission to talk to ${new URL(base).host}, and the browser's question was closed ` +
          'without “Allow”. Try again and choose Allow. Try again',
      );
    await expectAccessible(options, 'options, pairing refused');
    await shot(options, 'options-pair-denied');
    expect(await options.locator('#no-sites').count()).toBe(1);
    // The person allows it this time: Try again pairs.
    await options.evaluate(() => {
      (window as unknown as { answerNo: boolean }).answerNo = false;
    });
    await options.getByRole('button', { name: 'Try again' }).click();
    await expect.poll(() => options.textContent('#add-status')).toBe(`Paired with ${new URL(base).host}.`);
    await options.locator('.site').getByRole('button', { name: 'Unpair' }).click();
    await options.waitForSelector('#no-sites');
    await options.close();
  });

  it('the popup on that site’s tab says so too, and offers Try again', async () => {
    const site = await context.newPage();
    await site.goto(`${demo.gateway}/login?user=pia`);
    const popup = await popupFor(site);
    await expectAccessible(popup, 'popup, site not paired');
    await popupShot(popup, 'popup-not-paired');
    await popup.click('#pair');
    await expect.poll(() => popup.textContent('#pair-status'), { timeout: 20_000 }).toMatch(/Not paired yet|Still waiting/);
    await popup.getByRole('button', { name: 'Try again' }).waitFor();
    await expectAccessible(popup, 'popup, pairing not allowed');
    await popupShot(popup, 'popup-pair-refused');
    await popup.close();
    await site.close();
  });
});

describe('the options card, after pairing and adding a passkey', () => {
  let options: Page;

  it('pairs from the popup of the site’s tab (the permission is granted) and shows the site as paired', async () => {
    const site = await context.newPage();
    await site.goto(`${base}/login?user=pia`);
    const popup = await popupFor(site);
    await popup.click('#pair');
    await expect.poll(() => popup.textContent('#this-site'), { timeout: 15_000 }).toContain('signed in · no factors yet');
    await expectAccessible(popup, 'popup, paired');
    await popupShot(popup, 'popup-paired');
    expect(await worker.evaluate(() => chrome.action.getBadgeText({}))).toBe('');
    await popup.close();
    await site.close();
  });

  it('summarises what the list shows: one passkey and ten recovery codes, never “no factors yet”', async () => {
    options = await context.newPage();
    await options.goto(extUrl('options/index.html'));
    await expect.poll(() => options.textContent('.site .state'), { timeout: 20_000 }).toBe('signed in · no factors yet');
    await options.waitForSelector('#add-passkey');
    await expectAccessible(options, 'options, no factors');
    await shot(options, 'options-no-factors');
    await addVirtualAuthenticator(options);
    await options.fill('#passkey-nickname', 'Laptop');
    await options.click('#add-passkey');
    await expect.poll(() => options.textContent('#site-status'), { timeout: 15_000 }).toBe('Your passkey is added.');
    await expect.poll(() => options.locator('#factor-list li').count()).toBe(1);
    expect(await options.textContent('.site .state')).toBe('signed in · 1 passkey · 10 recovery codes left');
    expect(await options.textContent('#recovery-left')).toBe('10 recovery codes left.');
    await expectAccessible(options, 'options, recovery codes shown');
    await shot(options, 'options-passkey-added');
    // On a phone: one code per line, none broken inside.
    await options.setViewportSize({ width: 360, height: 800 });
    await expectNoHorizontalOverflow(options, 'options with recovery codes at 360 px');
    const lines = await options.$$eval('#recovery-codes li', (li) =>
      li.map((l) => Math.round(l.getBoundingClientRect().height / Number.parseFloat(getComputedStyle(l).lineHeight))),
    );
    expect(lines).toEqual(Array(10).fill(1));
    // …and none reaching out of its card (a clipped last letter is a wrong code).
    const outside = await options.$$eval('#recovery-codes li', (li) => {
      const edge = document.getElementById('recovery')!.getBoundingClientRect().right;
      return li.filter((l) => {
        const text = document.createRange();
        text.selectNodeContents(l);
        return text.getBoundingClientRect().right > edge - 4;
      }).length;
    });
    expect(outside).toBe(0);
    await shot(options, 'options-passkey-added-360');
    await options.setViewportSize({ width: 1280, height: 800 });
  });

  it('shows times in the person’s locale and zone, with the UTC time beside them', async () => {
    const added = options.locator('#factor-list li time').first();
    const iso = await added.getAttribute('datetime');
    const { local, utc } = localTime(iso!, { locale: LOCALE, timeZone: TIME_ZONE });
    expect(await added.getAttribute('title')).toBe(utc);
    expect(await added.textContent()).toBe(`${local} (${utc})`);
    expect(local).toMatch(/(GMT-[45]|E[SD]T)$/);
    expect(await options.locator('.site p.muted time').first().getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
  });

  it('keeps the summary true after the page is opened again, and fits at 360 px', async () => {
    await options.click('text=I have saved them');
    await options.reload();
    await options.waitForSelector('#factor-list li');
    expect(await options.textContent('.site .state')).toBe('signed in · 1 passkey · 10 recovery codes left');
    await expectNoHorizontalOverflow(options, 'options at 1280 px');
    await shot(options, 'options-one-passkey');
    await options.setViewportSize({ width: 360, height: 800 });
    await expectNoHorizontalOverflow(options, 'options at 360 px');
    await expectAccessible(options, 'options at 360 px');
    await shot(options, 'options-one-passkey-360');
    // A second factor asks to confirm it is you first: the code field is labelled, its placeholder whole.
    await options.click('#add-totp');
    await options.waitForSelector('#step-up');
    expect(await options.textContent('label[for="step-up-code"]')).toBe('Code from your authenticator app, or a recovery code');
    await expectNoHorizontalOverflow(options, 'options, confirm it is you, at 360 px');
    await expectAccessible(options, 'options, confirm it is you');
    await shot(options, 'options-step-up-360');
    await options.setViewportSize({ width: 1280, height: 800 });
    await shot(options, 'options-step-up');
    // Refusals are said in words with what to do (never the site's developer text or a code):
    // an app code without an authenticator app, then a wrong recovery code.
    const wrong = options.locator('#step-up p.error');
    await options.fill('#step-up-code', '000000');
    await options.getByRole('button', { name: 'Confirm with code' }).click();
    await expect
      .poll(() => wrong.textContent(), { timeout: 15_000 })
      .toBe('You have not set up that way to confirm it is you on this site. Use one you have set up, or add it first.');
    await options.fill('#step-up-code', 'WRONG-CODE');
    await options.getByRole('button', { name: 'Confirm with code' }).click();
    await expect
      .poll(() => wrong.textContent(), { timeout: 15_000 })
      .toMatch(
        // (After several failures the site also says when the next try is taken.)
        /^That code is not right\. Check it and try again( \(\d tries? left\))?\.( You can try again at .+ UTC\)\.)?$/,
      );
    await expectAccessible(options, 'options, confirm it is you, wrong code');
    await shot(options, 'options-step-up-wrong');
    await options.setViewportSize({ width: 360, height: 800 });
    await expectNoHorizontalOverflow(options, 'options, wrong code, at 360 px');
    await shot(options, 'options-step-up-wrong-360');
    await options.setViewportSize({ width: 1280, height: 800 });
    await options.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => options.textContent('#site-status')).toBe('Cancelled; nothing was changed.');
    await options.close();
  });
});
