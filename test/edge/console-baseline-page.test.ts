/**
 * The console's organisation baseline page (edge/pages/baseline-page.ts): owners, admins, auditors and
 * app-admins read the baseline in words; only owners and admins get the editor and the Approve /
 * Reject buttons (the author only Withdraw); others and other organisations are refused in words;
 * "confirm it is you" first; the strict CSP and no raw JSON outside the editor.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveBaseline } from '../../edge/admin/baseline-writes';
import { parseKeyring } from '../../edge/crypto/keyring';
import { expectSafeHtml, fx, page, seedConsole } from './console-fixture';

const ring = parseKeyring(env.STEPGATE_KEYS);
const PATH = '/.stepgate/admin/orgs/default/baseline';
const rule = { id: 'admin-area', match: { path: '/admin/**' }, require: { factors: ['webauthn'], bind: 'session' } };

beforeAll(async () => {
  await seedConsole();
  const now = Date.now();
  expect(await saveBaseline(env.DB, ring, { orgId: 'default', document: { version: 1, rules: [rule] }, by: 'cora', now })).toMatchObject({
    state: 'active',
  });
}, 60_000);

const open = async (who: keyof typeof fx.people, path = PATH, stepped = true) => {
  const res = await page(fx.people[who], path, stepped);
  return { res, html: await res.text() };
};

describe('the organisation baseline page', () => {
  it('shows the rules in words to owners, admins, auditors and app-admins; the editor only to owners and admins', async () => {
    for (const who of ['owner', 'admin', 'auditor', 'app-admin'] as const) {
      const { res, html } = await open(who);
      expect(res.status).toBe(200);
      expectSafeHtml(res, html);
      expect(html).toContain('baseline.admin-area');
      expect(html).toContain('any method /admin/**');
      expect(html).toContain('webauthn, once per session');
      expect(html.includes('id="baseline-form"')).toBe(who === 'owner' || who === 'admin');
      if (who === 'app-admin') expect(html).toContain('Only owners and admins change the baseline');
    }
  });

  it('is refused in words to helpdesk, to people without a role, and for another organisation', async () => {
    for (const who of ['helpdesk', 'none'] as const) {
      const { res, html } = await open(who);
      expect(res.status).toBe(403);
      expect(html).not.toContain('admin-area');
    }
    const other = await page(fx.acmeBoss, PATH);
    expect(other.status).toBe(403);
    expect(await other.text()).not.toContain('admin-area');
  });

  it('asks to confirm it is you first, with no data', async () => {
    const { res, html } = await open('owner', PATH, false);
    expect(res.status).toBe(200);
    expect(html).toContain('data-state="confirm"');
    expect(html).not.toContain('admin-area');
  });

  it('a waiting change: why it weakens, Approve for another owner or admin, Withdraw for its author, nothing for readers', async () => {
    const now = Date.now();
    expect(await saveBaseline(env.DB, ring, { orgId: 'default', document: { version: 1, rules: [] }, by: 'cade', now })).toMatchObject({
      state: 'proposed',
    });
    const owner = await open('owner');
    expectSafeHtml(owner.res, owner.html);
    expect(owner.html).toContain('Waiting for approval');
    expect(owner.html).toMatch(/Rule &quot;admin-area&quot; was removed|Rule "admin-area" was removed/);
    expect(owner.html).toContain('id="approve"');
    const author = await open('admin');
    expect(author.html).not.toContain('id="approve"');
    expect(author.html).toContain('Withdraw it');
    const reader = await open('auditor');
    expect(reader.html).toContain('Waiting for approval');
    expect(reader.html).not.toContain('id="approve"');
    expect(reader.html).not.toContain('id="reject"');
  });
});
