/**
 * @module The demo app ("your app" in the quickstart) as a person meets it through the gateway: every
 * page state says in words what happened and what each button demonstrates, never an error code;
 * a browser's form ends on the app's page with a short message (303), a program still gets JSON.
 * Each state: axe, no sideways scrolling, screenshots at 1280 and 360 px (test-results/e2e/demo-*.png).
 * Run from quickstart.test.ts, which owns the one `npm start`.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { expectAccessible, expectNoHorizontalOverflow } from '../support/axe';
import { person } from '../support/console-browser';
import { ROOT } from '../support/miniflare-gateway';
import type { StartedDemo } from '../support/npm-start';

const artifacts = join(ROOT, 'test-results/e2e');

/** Axe, no sideways scrolling, no error code in the words, and a screenshot, at desktop and phone width. */
async function lookAt(page: Page, name: string): Promise<void> {
  for (const width of [1280, 360]) {
    await page.setViewportSize({ width, height: 800 });
    await expectAccessible(page, `demo ${name} at ${width}px`);
    await expectNoHorizontalOverflow(page, `demo ${name} at ${width}px`);
    await page.screenshot({ path: join(artifacts, `demo-${name}-${width}.png`), fullPage: true });
  }
  expect(await page.textContent('body')).not.toMatch(/ERR_[A-Z_]+|\bPOST\b/);
}

/** The message at the top of the page (polled: a form's answer is a redirect, then a page). */
const flash = (page: Page) => page.textContent('main .flash', { timeout: 2000 }).catch(() => null);
const spaStatus = (page: Page) => page.textContent('#spa-status');
/** The single-page view's Delete of `name`, once its list has loaded. */
const spaDelete = async (page: Page, name: string) => {
  const button = page.locator('#spa-projects li', { hasText: name }).getByRole('button', { name: 'Delete' });
  await expect.poll(() => button.isEnabled()).toBe(true);
  await button.click();
};
const problem = (status: number, code: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) => ({
  status,
  headers: { 'content-type': 'application/problem+json', ...headers },
  body: JSON.stringify({ type: 'about:blank', title: 'refused', status, code, detail: 'Refused.', ...extra }),
});

export function demoAppStories(started: () => { demo: StartedDemo; browser: Browser }): void {
  describe('the demo app', () => {
    it('signed out: the home page says what each page shows; signing in takes a name, and says when it cannot', async () => {
      const { demo, browser } = started();
      const page = await browser.newPage();
      await page.goto(`${demo.gateway}/`);
      expect(await page.textContent('header')).toContain('Not signed in');
      const home = (await page.textContent('main')) ?? '';
      expect(home).toContain('Delete asks you to confirm it is you');
      expect(home).toContain('Save asks you to confirm it is you once');
      await lookAt(page, 'home-signed-out');

      await page.goto(`${demo.gateway}/projects`);
      expect(await page.textContent('main')).toContain('You are not signed in');
      await lookAt(page, 'projects-signed-out');
      // A page the app does not have: a page in words with the way home (before: JSON).
      expect((await page.goto(`${demo.gateway}/no-such-page`))!.status()).toBe(404);
      expect(await page.textContent('main')).toContain('This app has no such page.');
      await lookAt(page, 'not-found');

      // Before: /login without a name answered 400 "user: 1-64 letters…" in plain text.
      await page.goto(`${demo.gateway}/login?return_to=%2Fadmin`);
      await lookAt(page, 'login');
      await page.fill('#user', 'not a name');
      await page.click('form.card button');
      expect(await page.textContent('[role=alert]')).toContain('A name is 1 to 64 letters');
      await lookAt(page, 'login-refused');
      await page.fill('#user', 'demo-dora');
      await Promise.all([page.waitForURL(`${demo.gateway}/admin`), page.click('form.card button')]);
      expect(await page.textContent('header')).toContain('Signed in as demo-dora');
      await page.close();
    });

    it('a form is answered with the app’s page and a short message; a program still gets JSON', async () => {
      const { demo, browser } = started();
      const dora = await person(browser, new URL(demo.gateway).port, 'demo-dora');
      const page = dora.page;
      await page.goto(`${demo.gateway}/`);
      await lookAt(page, 'home');
      await page.goto(`${demo.gateway}/projects`);
      await lookAt(page, 'projects');

      // Not protected: added at once, back on the list with a message.
      await page.fill('#new-name', 'Launch');
      await Promise.all([page.waitForURL(`${demo.gateway}/projects`), page.getByRole('button', { name: 'Add' }).click()]);
      await expect.poll(() => flash(page)).toBe('Added Launch.');
      await lookAt(page, 'projects-added');
      await page.reload();
      expect(await page.locator('main .flash').count()).toBe(0); // said once

      // A delete: Stepgate's page; confirmed with a code, the same Delete is carried out and said in words.
      const held = page.waitForResponse((r) => r.url().endsWith('/api/projects/2') && r.request().method() === 'POST');
      await page.locator('li', { hasText: 'Borealis' }).getByRole('button', { name: 'Delete' }).click();
      const challenge = (await held).headers()['stepgate-challenge']!;
      const verify = (code: string) =>
        page.request.post(`${demo.gateway}/.stepgate/api/challenges/${challenge}/verify`, {
          headers: { origin: demo.gateway, 'content-type': 'application/json' },
          data: { method: 'totp', code },
        });
      expect((await verify(await dora.code())).status()).toBe(200);
      await page.goto(`${demo.gateway}/projects`);
      await page.locator('li', { hasText: 'Borealis' }).getByRole('button', { name: 'Delete' }).click();
      await expect.poll(() => flash(page)).toBe('Deleted Borealis.');
      expect(page.url()).toBe(`${demo.gateway}/projects`);
      await lookAt(page, 'projects-deleted');

      // Admin settings: the saved value is on the page, with a message (before: {"saved":…} as JSON).
      await page.goto(`${demo.gateway}/admin`);
      await lookAt(page, 'admin');
      await page.fill('input[name=support_email]', 'help@example.com');
      const save = page.waitForResponse((r) => r.url().endsWith('/admin/settings'));
      await page.click('form button');
      const stepUp = (await save).headers()['stepgate-challenge']!;
      const ok = await page.request.post(`${demo.gateway}/.stepgate/api/challenges/${stepUp}/verify`, {
        headers: { origin: demo.gateway, 'content-type': 'application/json' },
        data: { method: 'totp', code: await dora.code() },
      });
      expect(ok.status()).toBe(200);
      await page.goto(`${demo.gateway}/admin`);
      await page.fill('input[name=support_email]', 'help@example.com');
      await page.click('form button');
      await expect.poll(() => flash(page)).toBe('Saved. The support e-mail is now help@example.com.');
      expect(page.url()).toBe(`${demo.gateway}/admin`);
      expect(await page.textContent('#support-email')).toBe('help@example.com');
      await lookAt(page, 'admin-saved');

      // A program (no HTML asked for) still gets JSON from the same route.
      const api = await page.request.post(`${demo.gateway}/admin/settings`, { form: { support_email: 'ops@example.com' } });
      expect(api.status()).toBe(200);
      expect(await api.json()).toMatchObject({ saved: { support_email: 'ops@example.com' }, by: 'demo-dora' });

      await Promise.all([page.waitForURL(`${demo.gateway}/`), page.getByRole('link', { name: 'Log out' }).click()]);
      await expect.poll(() => flash(page)).toBe('You are signed out.');
      expect(await page.textContent('header')).toContain('Not signed in');
      await lookAt(page, 'signed-out');
      await dora.ctx.close();
    });

    it('the single-page view says every answer in words, never an error code', async () => {
      const { demo, browser } = started();
      const page = await browser.newPage();
      await page.goto(`${demo.gateway}/login?user=demo-sam&return_to=%2Fspa`);
      await page.waitForSelector('#spa-projects li button');
      await lookAt(page, 'spa');

      // Without the extension: Stepgate asks for a step-up; the page links to where to confirm.
      await spaDelete(page, 'Cassini');
      await expect.poll(() => spaStatus(page)).toContain('Cassini is not deleted yet: confirm it is you first');
      expect(await page.getAttribute('#spa-status', 'data-code')).toBe('ERR_STEP_UP_REQUIRED'); // for programs, not shown
      expect(await page.getAttribute('#spa-status a', 'href')).toContain('/.stepgate/challenge/');
      await lookAt(page, 'spa-confirm-first');

      // The answers the extension's prompt leads to, as the gateway sends them.
      const answers: [string, ReturnType<typeof problem>, string][] = [
        // Before: "Not deleted (403 ERR_STEP_UP_DENIED): You denied this action."
        ['denied', problem(403, 'ERR_STEP_UP_DENIED'), 'You denied it in the Stepgate prompt, so Cassini was not deleted.'],
        [
          'paused',
          problem(429, 'ERR_TOO_MANY_PROMPTS', {}, { 'retry-after': '40' }),
          'Cassini was not deleted: Stepgate paused approval prompts after too many in a short time. Try again in a minute.',
        ],
        [
          'waiting',
          problem(202, 'ERR_APPROVAL_PENDING', { page_url: '/.stepgate/approvals/abc', required: 'one of the admins' }),
          'Cassini is not deleted yet: it waits for one of the admins to approve it. Follow it on its approval page',
        ],
      ];
      for (const [name, answer, words] of answers) {
        await page.route('**/api/projects/3', (route) => route.fulfill(answer));
        await spaDelete(page, 'Cassini');
        await expect.poll(() => spaStatus(page)).toBe(words);
        await lookAt(page, `spa-${name}`);
        await page.unroute('**/api/projects/3');
      }
      await page.close();
    });
  });
}
