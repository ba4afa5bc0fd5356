/** What a person reads when a site refuses something in the extension: words, never the site's developer detail, a status or a code. */
import { describe, expect, it } from 'vitest';
import { GENERIC_PROBLEM, problemWords } from '../../extension/src/lib/problem-words';
import { siteApi } from '../../extension/src/lib/site-api';

const SITE = 'https://app.example';
const answer =
  (status: number, body: unknown): typeof fetch =>
  async () =>
    new Response(body === null ? 'oops' : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('siteApi refusals in words', () => {
  it("never shows the site's detail (it names endpoints and methods); keeps it for logs", async () => {
    const detail = 'Confirm it is you with an existing factor first (POST /.stepgate/api/factors/step-up).';
    const r = await siteApi(SITE, '/x', { body: {} }, answer(403, { code: 'ERR_FRESH_STEP_UP_REQUIRED', detail }));
    expect(r).toMatchObject({ ok: false, code: 'ERR_FRESH_STEP_UP_REQUIRED', detail });
    expect(!r.ok && r.message).toBe('Confirm it is you first, with a factor you already have.');
  });

  it('a failing site, a non-JSON answer or a network error: no status number, no exception text', async () => {
    const failing = await siteApi(SITE, '/x', {}, answer(500, null));
    expect(!failing.ok && failing.message).not.toMatch(/500|answered|JSON/);
    expect(!failing.ok && failing.message).toMatch(/^app\.example could not be reached/);
    const down = await siteApi(SITE, '/x', {}, async () => {
      throw new TypeError('NetworkError when attempting to fetch resource.');
    });
    expect(down).toMatchObject({ ok: false, code: 'EXT_UNREACHABLE', detail: 'NetworkError when attempting to fetch resource.' });
    expect(!down.ok && down.message).not.toMatch(/NetworkError/);
  });

  it('an unknown code gets a generic sentence with what to do; a lock-out says when, with the UTC time', async () => {
    const r = await siteApi(SITE, '/x', {}, answer(409, { code: 'ERR_NEW_THING', detail: 'ERR_NEW_THING at /x' }));
    expect(!r.ok && r.message).toBe(GENERIC_PROBLEM);
    // A person outside UTC reads their own time, with the UTC time beside it (Node follows TZ when it is set).
    const was = process.env.TZ;
    process.env.TZ = 'Europe/Berlin';
    try {
      const locked = problemWords('ERR_LOCKED_OUT', { retryAt: '2026-12-02T07:30:00Z' });
      expect(locked).toMatch(/^Too many failed attempts.* You can try again at .*8:30.*\(2026-12-02 07:30 UTC\)\.$/);
    } finally {
      if (was === undefined) delete process.env.TZ;
      else process.env.TZ = was;
    }
  });

  it('a wrong code says how many tries are left', () => {
    expect(problemWords('ERR_FACTOR_INVALID', { attemptsLeft: 2 })).toBe('That code is not right. Check it and try again (2 tries left).');
  });
});
