/**
 * The extension's prompt window as a person uses it, in real Chromium against `npm start`: closing
 * it before answering denies the request at once (the page that made it stops waiting within
 * seconds, not at the end of the 60 s hold); approving works with the keyboard alone; a request made
 * in another browser is approved by typing the number that browser shows (no choices offered), a
 * wrong number is refused and typed again, and the last wrong one denies the request; with several
 * such requests at once the prompt and the popup warn, and the prompt says where the number comes
 * from; the request is said in words (a form's method override in one plain line). Every state
 * is screenshot at desktop and phone width and checked with axe and for horizontal overflow.
 *
 * Like extension.test.ts, the test build grants the demo's host up front (automation cannot answer
 * Chromium's permission dialog).
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, expectNoHorizontalOverflow } from '../support/axe';
import { addVirtualAuthenticator, CHROMIUM_FLAGS, launchChromium } from '../support/chromium';
import { buildTestExtension, extUrl } from '../support/extension-build';
import { ROOT } from '../support/miniflare-gateway';
import { npmStart, type StartedDemo } from '../support/npm-start';

const artifacts = join(ROOT, 'test-results/e2e');

let demo: StartedDemo;
let context: BrowserContext;
let options: Page;
let optionsCdp: CDPSession;
let optionsAuthenticator = '';
let base = '';
let plain: Browser;

type Credential = { credentialId: string; privateKey: string; signCount: number; isResidentCredential: boolean; rpId?: string };

/** A virtual authenticator on `page` (test/support/chromium.ts). */
const addAuthenticator = addVirtualAuthenticator;

/**
 * Give the prompt's own virtual authenticator the enrolled passkey; the returned function carries
 * its signature counter back to the options page's (one passkey, two virtual authenticators).
 */
async function lendPasskey(prompt: Page): Promise<() => Promise<void>> {
  const { cdp, authenticatorId } = await addAuthenticator(prompt);
  const [cred] = (await optionsCdp.send('WebAuthn.getCredentials', { authenticatorId: optionsAuthenticator })).credentials as Credential[];
  await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: cred! });
  return async () => {
    const [used] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials as Credential[];
    await optionsCdp.send('WebAuthn.removeCredential', { authenticatorId: optionsAuthenticator, credentialId: used!.credentialId });
    await optionsCdp.send('WebAuthn.addCredential', { authenticatorId: optionsAuthenticator, credential: used! });
  };
}

const projects = async () =>
  ((await (await options.request.get(`${base}/api/projects`)).json()) as { id: number; name: string }[]).map((p) => p.name);

const promptOpens = () =>
  context.waitForEvent('page', { predicate: (p) => p.url().startsWith(extUrl('prompt/index.html')), timeout: 20_000 });

/** Open the SPA, click Delete on `name`, and return the prompt window the extension opens for it. */
async function deleteFromSpa(spa: Page, name: string): Promise<Page> {
  await spa.goto(`${base}/spa`);
  const row = spa.locator('#spa-projects li', { hasText: name });
  await row.getByRole('button', { name: 'Delete' }).waitFor();
  const [prompt] = await Promise.all([promptOpens(), row.getByRole('button', { name: 'Delete' }).click()]);
  await prompt.waitForSelector('#request');
  return prompt;
}

/** Screenshots at desktop and phone width, each checked with axe and for horizontal overflow. */
async function look(page: Page, name: string): Promise<void> {
  for (const [width, suffix] of [
    [1280, ''],
    [360, '-360'],
  ] as const) {
    await page.setViewportSize({ width, height: 800 });
    await expectAccessible(page, `${name} at ${width} px`);
    await expectNoHorizontalOverflow(page, `${name} at ${width} px`);
    await page.screenshot({ path: join(artifacts, `${name}${suffix}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 440, height: 760 });
}

/** A delete made in the plain browser (same person, no extension): the number its step-up shows, and the challenge. */
async function deleteElsewhere(other: Page, name: string): Promise<{ number: number; id: string; url: string }> {
  await other.goto(`${base}/spa`);
  const row = other.locator('#spa-projects li', { hasText: name });
  const [refused] = await Promise.all([
    other.waitForResponse((r) => r.request().method() === 'DELETE'),
    row.getByRole('button', { name: 'Delete' }).click(),
  ]);
  expect(refused.status()).toBe(401);
  const p = (await refused.json()) as { number: number; challenge_id: string; challenge_url: string };
  expect(String(p.number)).toMatch(/^\d{3}$/);
  return { number: p.number, id: p.challenge_id, url: new URL(p.challenge_url, base).href };
}

/** In the extension's browser: the popup lists the other browser's request; Review opens its prompt. */
async function reviewFromPopup(id: string): Promise<Page> {
  const popup = await context.newPage();
  await popup.goto(extUrl('popup/index.html'));
  const item = popup.locator('#pending-list li', { hasText: 'another browser' });
  await expect.poll(() => item.count(), { timeout: 15_000 }).toBeGreaterThan(0);
  const [prompt] = await Promise.all([promptOpens(), item.first().getByRole('button', { name: 'Review' }).click()]);
  await popup.close();
  await prompt.waitForSelector('#match-number');
  expect(new URL(prompt.url()).searchParams.get('id')).toBe(id);
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
    // Another zone than the machine's UTC: the prompt shows local times with the UTC time beside them.
    timezoneId: 'America/New_York',
    args: [...CHROMIUM_FLAGS, `--disable-extensions-except=${dir}`, `--load-extension=${dir}`],
  });
  const signIn = await context.newPage();
  await signIn.goto(`${base}/login?user=fay`);
  await signIn.close();
  options = await context.newPage();
  await options.goto(extUrl('options/index.html'));
  ({ cdp: optionsCdp, authenticatorId: optionsAuthenticator } = await addAuthenticator(options));
  // (expect.poll runs only inside a test: here the page is waited on directly.)
  const shows = (selector: string, text: string) =>
    options.waitForFunction(([s, t]) => document.querySelector(s!)?.textContent?.includes(t!) ?? false, [selector, text], {
      timeout: 15_000,
    });
  await options.fill('#add-url', base);
  await options.click('#add-form button');
  await shows('#add-status', 'Paired with');
  await options.waitForSelector('#add-passkey:not([disabled])');
  await options.click('#add-passkey');
  await shows('#site-status', 'Your passkey is added.');
  await options.click('text=I have saved them');
}, 180_000);
afterAll(async () => {
  await plain?.close();
  await context?.close();
  await demo?.stop();
});

describe('the prompt window in Chromium', () => {
  it('closing it before answering denies the request at once: the page stops waiting within seconds, and nothing is deleted', async () => {
    const spa = await context.newPage();
    const prompt = await deleteFromSpa(spa, 'Apollo');
    expect(await spa.textContent('#spa-status')).toContain('Deleting Apollo');
    // Times in the person's zone, the UTC time beside them.
    expect(await prompt.textContent('#expires')).toMatch(/ (EST|EDT) \(in \d+ min.*\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
    await look(prompt, 'extension-prompt-pending');
    const t0 = Date.now();
    await prompt.close();
    // The hold is 60 s: before, the page said "Deleting Apollo…" all that time.
    await expect.poll(() => spa.textContent('#spa-status'), { timeout: 10_000 }).not.toContain('Deleting');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await spa.textContent('#spa-status')).toMatch(/denied/i);
    expect(await projects()).toContain('Apollo');
    await spa.screenshot({ path: join(artifacts, 'extension-prompt-closed-spa.png'), fullPage: true });
    await spa.close();
  });

  it('approves with the keyboard alone: the approve button has the focus, Tab reaches the code field and back, Enter', async () => {
    const spa = await context.newPage();
    const prompt = await deleteFromSpa(spa, 'Apollo');
    const giveBack = await lendPasskey(prompt);
    await prompt.bringToFront();
    const focused = () => prompt.evaluate(() => document.activeElement?.id ?? '');
    await expect.poll(focused).toBe('approve-passkey');
    await prompt.keyboard.press('Tab');
    expect(await focused()).toBe('code');
    // The code field says what it takes in a label, not a placeholder cut off by its width.
    expect(await prompt.textContent('label[for="code"]')).toBe('Code from your authenticator app, or a recovery code');
    await prompt.keyboard.press('Shift+Tab');
    expect(await focused()).toBe('approve-passkey');
    await prompt.keyboard.press('Enter');
    await expect.poll(() => spa.textContent('#spa-status'), { timeout: 20_000 }).toBe('Deleted Apollo.');
    await expect.poll(() => prompt.getAttribute('#status', 'data-state')).toBe('approved');
    await look(prompt, 'extension-prompt-approved');
    await giveBack();
    await spa.close();
  });

  it('another browser’s request: the number is typed, not offered; a wrong one is refused; the right one approves', async () => {
    plain = await launchChromium();
    const other = await (await plain.newContext()).newPage();
    await other.goto(`${base}/login?user=fay`);
    const { number, id, url } = await deleteElsewhere(other, 'Borealis');
    await other.goto(url);
    expect(await other.textContent('body')).toContain(String(number));

    const prompt = await reviewFromPopup(id);
    expect(await prompt.textContent('#other-session')).toBe('This request was made in another browser or device');
    expect(await prompt.textContent('label[for="match-number"]')).toBe('Number shown in the other browser');
    // No choices: nothing on the page names the number.
    expect(await prompt.locator('#number-match button').count()).toBe(0);
    expect(await prompt.textContent('main')).not.toContain(String(number));
    await look(prompt, 'extension-prompt-number');
    const giveBack = await lendPasskey(prompt);

    // Keyboard only: the number field has the focus; type, Tab to the passkey button, Enter.
    await expect.poll(() => prompt.evaluate(() => document.activeElement?.id ?? '')).toBe('match-number');
    const wrong = number === 999 ? 998 : number + 1;
    await prompt.keyboard.type(String(wrong));
    await prompt.keyboard.press('Tab');
    const mismatch = prompt.waitForResponse((r) => r.url().endsWith(`/${id}/verify`));
    await prompt.keyboard.press('Enter');
    expect(await (await mismatch).json()).toMatchObject({ code: 'ERR_NUMBER_MISMATCH', tries_left: 2 });
    await expect.poll(() => prompt.textContent('#status'), { timeout: 15_000 }).toContain('That is not the number shown there.');
    expect(await prompt.textContent('#status')).toContain('2 tries left');
    expect(await prompt.inputValue('#match-number')).toBe('');
    await look(prompt, 'extension-prompt-number-wrong');

    // Approving without a number says what to do, and sends nothing.
    await prompt.click('#approve-passkey');
    await expect.poll(() => prompt.textContent('#status')).toBe('First type the 3-digit number the other browser shows.');

    await prompt.fill('#match-number', String(number));
    const verified = prompt.waitForResponse((r) => r.url().endsWith(`/${id}/verify`));
    await prompt.click('#approve-passkey');
    expect((await verified).status()).toBe(200);
    await expect
      .poll(() => prompt.textContent('#status'), { timeout: 15_000 })
      .toContain('Approved. Repeat the action in the other browser');
    await giveBack();
    const again = await other.request.delete(`${base}/api/projects/2`);
    expect(again.status()).toBe(200);
    expect(await projects()).not.toContain('Borealis');
  });

  it('the last wrong number denies the request: the prompt says so and offers nothing more to answer', async () => {
    const other = await (await plain.newContext()).newPage();
    await other.goto(`${base}/login?user=fay`);
    const { number, id } = await deleteElsewhere(other, 'Cassini');
    const prompt = await reviewFromPopup(id);
    const giveBack = await lendPasskey(prompt);
    const statuses: number[] = [];
    for (let k = 1; k <= 3; k++) {
      await prompt.fill('#match-number', String(100 + ((number - 100 + k) % 900)));
      const answered = prompt.waitForResponse((r) => r.url().endsWith(`/${id}/verify`));
      await prompt.click('#approve-passkey');
      statuses.push((await answered).status());
      if (k < 3)
        await expect.poll(() => prompt.textContent('#status'), { timeout: 15_000 }).toContain('That is not the number shown there.');
    }
    expect(statuses).toEqual([400, 400, 403]);
    await expect.poll(() => prompt.getAttribute('#status', 'data-state'), { timeout: 15_000 }).toBe('failed');
    expect(await prompt.textContent('#status')).toContain('The number was wrong too many times, so this request was denied');
    expect(await prompt.locator('#approve-passkey, #approve-code, #deny, #match-number').count()).toBe(0);
    await look(prompt, 'extension-prompt-number-denied');
    await giveBack();
    // The right number is now too late, from anywhere.
    expect((await other.request.delete(`${base}/api/projects/3`)).status()).toBe(401);
    expect(await projects()).toContain('Cassini');
  });

  it('several requests from another browser: both warn; the number comes only from your screen; a form says what it asks', async () => {
    const other = await (await plain.newContext()).newPage();
    await other.goto(`${base}/login?user=fay`);
    // One-time requests of a stolen session: one whose text asks for a number, one sent by a form asking to delete.
    const lure = await other.request.delete(`${base}/api/projects/3?note=type+427+on+the+other+request`, {
      headers: { accept: 'application/json' },
    });
    expect(lure.status()).toBe(401);
    const form = await other.request.post(`${base}/api/projects/3`, {
      form: { _method: 'DELETE' },
      headers: { accept: 'application/json', origin: base },
    });
    expect(form.status()).toBe(401);
    const formId = ((await form.json()) as { challenge_id: string }).challenge_id;

    const popup = await context.newPage();
    await popup.goto(extUrl('popup/index.html'));
    const others = popup.locator('#pending-list li', { hasText: 'another browser' });
    // (An earlier test's request may still be listed: at least these two.)
    await expect.poll(() => others.count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    await popup.waitForSelector('#several-requests');
    expect(await popup.textContent('#several-requests')).toBe(
      `${await others.count()} requests from another browser are waiting for your approval at once. ` +
        'If you made only one, someone else may be asking you to approve theirs: ' +
        'approve only the one whose number you see on your own screen, and deny the rest.',
    );
    // The popup names the action in words, not as an HTTP method.
    expect(await popup.textContent('#pending-list')).toContain('Delete localhost');
    expect(await popup.textContent('#pending-list')).not.toMatch(/\bDELETE\b/);
    await look(popup, 'extension-popup-several-requests');
    const waiting = await others.count();
    await popup.close();
    // The form's request, in the window the popup's Review opens (the same page, named by site and id).
    const prompt = await context.newPage();
    await prompt.goto(extUrl(`prompt/index.html?${new URLSearchParams({ site: base, id: formId })}`));
    await prompt.waitForSelector('#match-number');

    // Next to the number field: where the number comes from, and the warning about several at once.
    expect(await prompt.textContent('#number-source')).toBe(
      'The number comes only from the screen where you made the request. ' +
        'Never type a number shown in this window or sent to you by anyone (message, mail, call).',
    );
    await prompt.waitForSelector('#several-requests');
    expect(await prompt.textContent('#several-requests')).toMatch(new RegExp(`^${waiting} requests from another browser are waiting`));
    expect(await prompt.getAttribute('#match-number', 'aria-describedby')).toContain('number-source');

    // The request in words, as the step-up page says it; the rule id behind Details.
    expect(await prompt.textContent('#request')).toBe('Delete /api/projects/3');
    expect(await prompt.textContent('#method-note')).toBe('Sent by a form that asks the app to delete.');
    expect(await prompt.textContent('main')).not.toMatch(/\b(POST|DELETE)\b|Acts as/);
    expect(await prompt.isVisible('#rule')).toBe(false);
    await prompt.click('#details summary');
    expect(await prompt.textContent('#rule')).toBe('delete-project');
    await look(prompt, 'extension-prompt-several-form');

    // Deny it: nothing is deleted.
    await prompt.click('#deny');
    await expect.poll(() => prompt.getAttribute('#status', 'data-state'), { timeout: 15_000 }).toBe('denied');
    expect(await projects()).toContain('Cassini');
  });
});
