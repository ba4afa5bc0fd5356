/**
 * Hidden characters on the approval page: a protected request whose path or body carries
 * bidirectional overrides or zero-width characters is shown with each one escaped and marked,
 * under a warning, never raw (`/api/projects/` + U+202E + `1-eteled` must not read as something else).
 */
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { stepUpPage } from '../../edge/pages/step-up-page';
import { sessionCookie } from '../support/session';

const worker = (exports as unknown as { default: Fetcher }).default;
const gw = (input: string, init?: RequestInit) => worker.fetch(new Request(`http://app.test${input}`, init));
const browser = async () => ({ cookie: await sessionCookie('alice'), 'sec-fetch-mode': 'navigate', accept: 'text/html' });

const RLO = '\u202E';
const ZWSP = '\u200B';
const RLO_MARK = '<mark class="hidden-char" title="bidirectional control U+202E RIGHT-TO-LEFT OVERRIDE">\\u{202E}</mark>';
const ZWSP_MARK = '<mark class="hidden-char" title="invisible character U+200B ZERO WIDTH SPACE">\\u{200B}</mark>';
const WARNING = 'This request contains hidden characters, shown marked below.';

describe('the approval page marks hidden characters', () => {
  it('shows U+202E and U+200B in the path, query and body escaped and marked, under a warning, never raw', async () => {
    const res = await gw('/api/projects/%E2%80%AE1-eteled%E2%80%8B?note=%E2%80%AEx', {
      method: 'DELETE',
      headers: { ...(await browser()), 'content-type': 'application/json' },
      body: JSON.stringify({ reason: `tidy${ZWSP}up`, [`${RLO}nosaer`]: `${RLO}evol` }),
    });
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).not.toContain(RLO);
    expect(html).not.toContain(ZWSP);
    expect(html).toContain(`<span class="method">Delete</span> /api/projects/${RLO_MARK}1-eteled${ZWSP_MARK}?note=%E2%80%AEx`);
    expect(html).toContain(`<span class="field">reason</span> = tidy${ZWSP_MARK}up`);
    expect(html).toContain(`<span class="field">${RLO_MARK}nosaer</span> = ${RLO_MARK}evol`);
    // The warning comes before the action.
    const warning = html.indexOf(`<p class="hidden-chars" id="hidden-chars" role="alert">${WARNING}`);
    expect(warning).toBeGreaterThan(0);
    expect(warning).toBeLessThan(html.indexOf('<section class="action"'));
    // Still no inline style: the marks are styled by class from the stylesheet.
    expect(html).not.toMatch(/style=/);
    const css = await (await gw('/.stepgate/assets/stepgate.css')).text();
    expect(css).toContain('mark.hidden-char');
    expect(css).toContain('.hidden-chars');
  });

  it('shows an ordinary request, in any script, without marks or warning', async () => {
    const res = await gw('/api/projects/%E6%9D%B1%E4%BA%AC', {
      method: 'DELETE',
      headers: { ...(await browser()), 'content-type': 'application/json' },
      body: JSON.stringify({ owner: 'Müller', city: 'مرحبا' }),
    });
    const html = await res.text();
    expect(html).toContain('<span class="method">Delete</span> /api/projects/東京');
    expect(html).toContain('<span class="field">owner</span> = Müller');
    expect(html).toContain('<span class="field">city</span> = مرحبا');
    expect(html).not.toContain('hidden-char');
    expect(html).not.toContain(WARNING);
  });

  it('marks every field the page shows, and escapes the marks’ own text and tooltips', async () => {
    const page = String(
      await stepUpPage({
        action: { method: 'POST', host: 'app.test', path: '/api/projects/1', query: '', bodySha256: '' },
        matchedMethod: 'DELETE',
        rule: 'delete-project',
        bind: 'action',
        factors: ['totp'],
        expiresAt: Date.now() + 60_000,
        challengeId: 'c'.repeat(22),
        bodySummary: { kind: `text/plain${'\u0007'}`, bytes: 3, fields: [], truncated: false },
        requestedFrom: { page: `http://app.test${'\u2066'}`, ip: null, user_agent: null },
      }),
    );
    expect(page).toContain('<p class="hidden-chars" id="hidden-chars" role="alert">');
    expect(page).toContain('3 bytes of text/plain<mark class="hidden-char" title="control character U+0007 BELL">\\u{0007}</mark>');
    expect(page).toContain(
      '<dd>http://app.test<mark class="hidden-char" title="bidirectional control U+2066 LEFT-TO-RIGHT ISOLATE">\\u{2066}</mark></dd>',
    );
    // A method-override request is described by what it asks for, in words.
    expect(page).toContain('<span class="method">Delete</span> /api/projects/1');
    expect(page).not.toContain('sent as POST');
    // …and that it is a form asking, in plain words (the app may not honour the override).
    expect(page).toContain('<small class="method-note" id="method-note">Sent by a form that asks the app to delete.</small>');
    expect(page).not.toMatch(/[\u0007\u2066]/);
    // A tag character's tooltip quotes the letter it hides; the quote is escaped in the attribute.
    const tagged = String(
      await stepUpPage({
        action: { method: 'DELETE', host: 'app.test', path: '/api/projects/1', query: '', bodySha256: '' },
        matchedMethod: 'DELETE',
        rule: 'delete-project',
        bind: 'action',
        factors: ['totp'],
        expiresAt: Date.now() + 60_000,
        challengeId: 'c'.repeat(22),
        bodySummary: { kind: 'json', bytes: 9, fields: [{ name: 'x', value: `<b>${'\u{E0041}'}` }], truncated: false },
      }),
    );
    expect(tagged).toContain(
      '= &lt;b&gt;<mark class="hidden-char" title="invisible character U+E0041 TAG &quot;A&quot;">\\u{E0041}</mark>',
    );
  });
});
