/**
 * The enrolment page as the edge draws it (Workers pool: real D1 and Durable Objects): who is signed
 * in, or a signed-out page with nothing usable; a person with a factor gets "Confirm it is you" with
 * the factors they have, until a fresh step-up; "Back" only to a same-origin path.
 */
import { describe, expect, it } from 'vitest';
import { sameOriginReturn } from '../../edge/endpoints/enrol-page-state';
import { enrolTotp, factorsStepUp, gw } from '../support/edge-flow';
import { sessionCookie } from '../support/session';

const page = async (path: string, cookie?: string) => {
  const r = await gw(path, { headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) } });
  expect(r.status).toBe(200);
  return r.text();
};
/** Whether the element with `id` carries `attr` (the page is ours: attributes are written in one order). */
const tagOf = (html: string, id: string) => html.match(new RegExp(`<[^>]*id="${id}"[^>]*>`))?.[0] ?? '';

describe('the enrolment page', () => {
  it('signed out: says so, with nothing usable and the reason', async () => {
    const html = await page('/.stepgate/enrol');
    expect(html).toContain('You are not signed in.');
    expect(tagOf(html, 'start-passkey')).toContain('disabled');
    expect(tagOf(html, 'start-totp')).toContain('disabled');
    expect(html).toContain('You need to be signed in to add a factor.');
    expect(html).not.toContain('id="step-up"');
  });

  it('a person with no factor: signed in, adding is open, no confirmation asked', async () => {
    const html = await page('/.stepgate/enrol', await sessionCookie('enid'));
    expect(html).toContain('Signed in as <strong>enid</strong>.');
    expect(html).toContain('You have no factor yet.');
    expect(tagOf(html, 'start-totp')).not.toContain('disabled');
    expect(tagOf(html, 'step-up')).toContain('hidden');
  });

  it('a person with a factor: "Confirm it is you" with what they have, and adding waits for it', async () => {
    const p = await enrolTotp('erik');
    const html = await page('/.stepgate/enrol', p.cookie);
    expect(html).toContain('You have an authenticator app, and 10 recovery codes left.');
    expect(tagOf(html, 'step-up')).not.toContain('hidden');
    expect(tagOf(html, 'step-up-passkey-row')).toContain('hidden');
    expect(tagOf(html, 'step-up-app')).not.toContain('hidden');
    expect(tagOf(html, 'start-totp')).toContain('disabled');
    // After a fresh step-up, the page knows: step 1 is done and adding is open.
    const fresh = await page('/.stepgate/enrol', await factorsStepUp(p));
    expect(tagOf(fresh, 'step-up-answer')).toContain('hidden');
    expect(tagOf(fresh, 'start-totp')).not.toContain('disabled');
  });

  it('"Back" only to a same-origin path', async () => {
    const html = await page(`/.stepgate/enrol?return=${encodeURIComponent('/projects?x=1')}`, await sessionCookie('enid'));
    expect(tagOf(html, 'back')).toContain('href="/projects?x=1"');
    for (const bad of ['//evil.example/', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', '/a\nb', '', 'projects']) {
      expect(sameOriginReturn(bad), bad).toBeNull();
    }
    expect(sameOriginReturn('/')).toBe('/');
    expect(await page(`/.stepgate/enrol?return=${encodeURIComponent('//evil.example/')}`)).not.toContain('id="back"');
  });

  it('"Back" is refused for encoded and dotted forms an app or a browser could read as another host', async () => {
    const cookie = await sessionCookie('enid');
    for (const bad of ['/%2F%2Fevil.example', '/%5Cevil', '/%09/x', '/%2e%2e//evil.example', '/..//evil.example/x', '/.//evil.example']) {
      expect(sameOriginReturn(bad), bad).toBeNull();
      const html = await page(`/.stepgate/enrol?return=${encodeURIComponent(bad)}`, cookie);
      expect(html, bad).not.toContain('id="back"');
      expect(html, bad).not.toContain('evil');
    }
  });
});
