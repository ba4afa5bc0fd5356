/**
 * @module Debian's Firefox ESR through puppeteer-core over WebDriver BiDi: never a downloaded browser.
 *
 * What plain puppeteer does not cover for an extension, done with raw BiDi commands: opening
 * `moz-extension://` pages (`page.goto` refuses them; `browsingContext.navigate` does not), finding
 * a window the extension opened, and running code in the browser's own (chrome) scope, which
 * `--remote-allow-system-access` allows: the WebAuthn virtual authenticator and the toolbar button.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/**
 * Whether the Firefox tests can run. Locally a missing Firefox skips them (with this reason);
 * in CI (`CI` set) it is an error, so a run without Firefox cannot pass unnoticed.
 */
export function firefoxMissing(): string | null {
  if (existsSync(FIREFOX_PATH)) return null;
  const reason = `${FIREFOX_PATH} not found (apt-get install firefox-esr, or set FIREFOX_PATH)`;
  if (process.env.CI && !/^(0|false)$/i.test(process.env.CI)) throw new Error(`CI must run the Firefox end-to-end test: ${reason}`);
  return reason;
}

/**
 * The origin Firefox puts in `clientDataJSON` for WebAuthn from an extension page: the SHA-256 of
 * the add-on id, its 64 hex digits written with the letters a–p. Unlike the `moz-extension://<uuid>`
 * of its pages (new for each installation), it is the same wherever the add-on is installed.
 */
export const mozWebAuthnOrigin = (addonId: string): string => {
  const hex = createHash('sha256').update(addonId).digest('hex');
  return `moz-extension://${[...hex].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('')}`;
};

type BidiSend = (method: string, params: object) => Promise<{ result: unknown }>;

export interface Firefox {
  browser: Browser;
  /** One raw WebDriver BiDi command; its result. */
  bidi<T>(method: string, params: object): Promise<T>;
  /** The BiDi browsing context id of a page. */
  contextOf(page: Page): string;
  /** Load `url` in `page`, waiting for the load event (works for moz-extension:// pages). */
  navigate(page: Page, url: string): Promise<void>;
  /** The page of the first top-level window or tab that `match`es (its URL, its context id), waiting for it to open. */
  waitForPage(match: (url: string, context: string) => boolean, timeoutMs?: number): Promise<Page>;
  /** Evaluate `expression` (awaited) in the browser window's chrome scope; its JSON-serialisable value. */
  chromeEval<T>(expression: string): Promise<T>;
  /** Close the browser; kill its process group if it does not close in time. Idempotent. */
  close(): Promise<void>;
}

interface Context {
  context: string;
  url: string;
}

/** Launch headless Firefox ESR with extra prefs (puppeteer's own test prefs are added to them). */
export async function launchFirefox(prefs: Record<string, unknown>): Promise<Firefox> {
  const profile = mkdtempSync(join(tmpdir(), 'stepgate-firefox-'));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX_PATH,
      headless: true,
      protocol: 'webDriverBiDi',
      userDataDir: profile,
      args: ['--remote-allow-system-access'],
      extraPrefsFirefox: prefs,
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  const pid = browser.process()?.pid;
  // Why: nothing this starts may outlive the test run, even when the run itself is cut short.
  const killGroup = () => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL'); // puppeteer starts Firefox as a process group leader
    } catch {
      /* already gone */
    }
  };
  process.once('exit', killGroup);

  // puppeteer's BiDi connection (not in its public types): for the commands it has no API for.
  const connection = (browser as unknown as { connection: { send: BidiSend } }).connection;
  const bidi = async <T>(method: string, params: object) => (await connection.send(method, params)).result as T;
  const contextOf = (page: Page) => (page.mainFrame() as unknown as { _id: string })._id;
  const topLevel = async (scope?: 'chrome') =>
    (await bidi<{ contexts: Context[] }>('browsingContext.getTree', { maxDepth: 0, ...(scope ? { 'moz:scope': scope } : {}) })).contexts;

  let closed = false;
  return {
    browser,
    bidi,
    contextOf,
    async navigate(page, url) {
      await bidi('browsingContext.navigate', { context: contextOf(page), url, wait: 'complete' });
    },
    async waitForPage(match, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = (await topLevel()).find((c) => match(c.url, c.context));
        const page = found && (await browser.pages()).find((p) => contextOf(p) === found.context);
        if (page) return page;
        if (Date.now() > deadline) throw new Error(`no window opened whose URL matches ${match.toString()} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async chromeEval<T>(expression: string) {
      const [win] = (await topLevel('chrome')).filter((c) => c.url === 'chrome://browser/content/browser.xhtml');
      if (!win) throw new Error('no browser window in the chrome scope (is --remote-allow-system-access set?)');
      const r = await bidi<{ type: string; result?: { value?: string }; exceptionDetails?: { text: string } }>('script.evaluate', {
        target: { context: win.context },
        awaitPromise: true,
        expression: `(async () => JSON.stringify(await (async () => { ${expression} })()))()`,
      });
      if (r.type !== 'success') throw new Error(`chrome-scope script failed: ${r.exceptionDetails?.text ?? JSON.stringify(r)}`);
      return JSON.parse(r.result?.value ?? 'null') as T;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.race([browser.close().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
      killGroup();
      process.removeListener('exit', killGroup);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * A virtual CTAP2 authenticator (internal transport, resident keys, user verification, always
 * consenting and verified), Firefox's counterpart of the DevTools one. Returns its id.
 */
export const addVirtualAuthenticator = (ff: Firefox): Promise<string> =>
  ff.chromeEval<string>(
    'return Cc["@mozilla.org/webauthn/service;1"].getService(Ci.nsIWebAuthnService).addVirtualAuthenticator("ctap2", ' +
      '"internal", true, true, true, true);',
  );

/** The credentials a virtual authenticator holds (what a test checks). */
export const virtualCredentials = (ff: Firefox, authenticatorId: string) =>
  ff.chromeEval<{ rpId: string; signCount: number; isResidentCredential: boolean }[]>(
    `return Cc["@mozilla.org/webauthn/service;1"].getService(Ci.nsIWebAuthnService)` +
      `.getCredentials(${JSON.stringify(authenticatorId)})` +
      `.map((c) => ({ rpId: c.rpId, signCount: c.signCount, isResidentCredential: c.isResidentCredential }));`,
  );

/**
 * Click the extension's toolbar button, as a person would: it sits in the Extensions panel (not
 * pinned), so that opens first. Firefox then opens the action popup and grants `activeTab` for the
 * selected tab. The popup panel is closed again: BiDi reaches only tabs and windows, not panels.
 */
export async function clickToolbarButton(ff: Firefox, addonId: string): Promise<void> {
  const widget = `${addonId.toLowerCase().replace(/[^a-z0-9_-]/g, '_')}-browser-action`; // Firefox's makeWidgetId
  await ff.chromeEval(`
    const node = CustomizableUI.getWidget(${JSON.stringify(widget)})?.forWindow(window)?.node;
    if (!node) throw new Error('no toolbar button ${widget}');
    await window.gUnifiedExtensions.togglePanel();
    node.querySelector('.unified-extensions-item-action-button').click();
    const deadline = Date.now() + 5000;
    const popupOpen = () =>
      [...document.querySelectorAll('browser.webextension-popup-browser')].some((b) => b.currentURI?.spec.endsWith('/popup/index.html'));
    while (!popupOpen()) {
      if (Date.now() > deadline) throw new Error('the action popup did not open');
      await new Promise((r) => setTimeout(r, 50));
    }
    const panels = 'panel[panelopen="true"], panel#customizationui-widget-panel, panel#unified-extensions-panel';
    for (const panel of document.querySelectorAll(panels)) panel.hidePopup?.();
    return true;
  `);
}
