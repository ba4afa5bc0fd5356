/**
 * The admin console's pages (/.stepgate/admin/*) in the Workers pool, real D1 and Durable Objects:
 * each page's access by role (200 where the roles allow it, 403 in words with a way back elsewhere,
 * "confirm it is you" and no data without a fresh step-up), a
 * navigation that lists exactly the allowed pages, nothing of another organisation, no raw JSON, no
 * inline script or style and the strict CSP on every answer. The fixture: console-fixture.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ACME, ALLOWED, expectSafeHtml, fx, NAMES, navOf, PAGES, PATH, page, seedConsole, send, type Who } from './console-fixture';

const { people } = fx;
beforeAll(seedConsole, 60_000);

describe('the console pages, by role', () => {
  it('answer someone who is not signed in with a page that says so and links back, never data', async () => {
    const res = await send('http://app.test/.stepgate/admin/apps', { headers: { accept: 'text/html' } });
    const html = await res.text();
    expect(res.status).toBe(401);
    expectSafeHtml(res, html);
    expect(html).toContain('Sign in first');
    // The app's sign-in page, coming back to this console page after.
    expect(html).toContain('href="/login?return_to=%2F.stepgate%2Fadmin%2Fapps"');
    expect(html).not.toContain('Console X');
  });

  it('open exactly the pages each role allows; the others are refused in words with a way back', async () => {
    for (const who of Object.keys(ALLOWED) as Who[]) {
      for (const p of PAGES) {
        const res = await page(people[who], PATH[p]);
        const html = await res.text();
        expectSafeHtml(res, html);
        if (ALLOWED[who].includes(p)) {
          expect(res.status, `${who} ${p}`).toBe(200);
          // The nav lists exactly the allowed pages, the current one marked.
          expect(navOf(html), `${who} ${p}`).toEqual(ALLOWED[who].map((q) => PATH[q]));
          expect(html).toMatch(new RegExp(`href="${PATH[p].replace(/\./g, '\\.')}" aria-current="page"`));
          expect(html).toContain('data-state="ready"');
        } else {
          expect(res.status, `${who} ${p}`).toBe(403);
          expect(html).toMatch(/not for you/);
          expect(html).toContain('href="/.stepgate/admin"');
          expect(html).not.toContain('Console X');
        }
      }
    }
  }, 60_000);

  it('show only "confirm it is you" without a fresh step-up: no data, and the section visible', async () => {
    for (const p of ['overview', 'apps', 'people', 'tokens', 'audit', 'dashboard'] as const) {
      const res = await page(people.owner, `${PATH[p]}?user=${NAMES.helpdesk}`, false);
      const html = await res.text();
      expect(res.status).toBe(200);
      expectSafeHtml(res, html);
      expect(html).toContain('data-state="confirm"');
      expect(html).toMatch(/<section id="confirm" class="confirm">/);
      for (const secret of ['Console X', 'console-x.example', NAMES.helpdesk, '<svg', 'id="events"'])
        expect(html, `${p}`).not.toContain(secret);
    }
    // A person with no role is not asked to confirm: there is nothing to show them.
    const none = await (await page(people.none, PATH.overview, false)).text();
    expect(none).toContain('You hold no role');
    expect(none).not.toMatch(/<section id="confirm" class="confirm">/);
  });

  it('never show another organisation: every page of each side names nothing of the other', async () => {
    for (const p of PAGES) {
      const mine = await (await page(people.owner, `${PATH[p]}${p === 'people' ? '?user=boss' : ''}`)).text();
      for (const s of ACME.filter((x) => !(p === 'people' && x === 'boss'))) expect(mine, `${p}: ${s}`).not.toContain(s);
      const theirs = await page(fx.acmeBoss, `${PATH[p]}${p === 'people' ? `?user=${NAMES.helpdesk}` : ''}`);
      const html = await theirs.text();
      expect(theirs.status, p).toBe(200);
      expectSafeHtml(theirs, html);
      expect(html).toContain('Acme Corp');
      for (const s of ['Console X', 'console-x.example', NAMES.admin, NAMES.auditor]) expect(html, `${p}: ${s}`).not.toContain(s);
    }
    // In the default organisation, "acme/boss" is nobody of ours: refused as input, nothing shown.
    const res = await page(people.owner, '/.stepgate/admin/people?user=acme%2Fboss');
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('never contains &quot;/&quot;');
    expect(html).toContain('href="/.stepgate/admin/people"');
  }, 60_000);
});
