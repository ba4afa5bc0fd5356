/**
 * The admin console's controls (/.stepgate/admin/*) in the Workers pool: each page offers only the
 * buttons and forms the viewer’s roles allow (apps, people, recovery, audit, tokens, the bootstrap
 * claim), is never opened with an API token, escapes what people wrote, and the dashboard draws its
 * charts and refuses dates it cannot use. The fixture: console-fixture.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { as, type Caller, expectSafeHtml, fx, NAMES, PATH, page, seedConsole, send, signIn } from './console-fixture';

const { people } = fx;
beforeAll(seedConsole, 60_000);

describe('the controls shown match what the roles allow', () => {
  it('apps: admins create, change, delete and edit the policy; an app-admin only edits their app’s policy', async () => {
    const admin = await (await page(people.admin, PATH.apps)).text();
    for (const s of ['Add an app', 'Change this app', 'Edit the policy', 'Delete this app', 'Console X']) expect(admin).toContain(s);
    expect(admin).toMatch(/POST on \/api\/\*\*/);
    expect(admin).toContain('for 5 minutes, then again');
    const appAdmin = await (await page(people['app-admin'], PATH.apps)).text();
    expect(appAdmin).toContain('Console X');
    expect(appAdmin).toContain('Edit the policy');
    for (const s of ['Add an app', 'Change this app', 'Delete this app']) expect(appAdmin).not.toContain(s);
  });

  it('escape what people wrote: an app named like markup is shown as text', async () => {
    const evil = '<img src=x onerror=alert(1)>';
    const made = await as(people.admin, 'POST', '/.stepgate/api/admin/orgs/default/apps', {
      name: evil,
      hosts: ['console-evil.example'],
      identity: { source: 'dev', loginUrl: '/login"><script>alert(1)</script>' },
      policy: { version: 1, rules: [] },
    });
    expect(made.status).toBe(201);
    const res = await page(people.admin, PATH.apps);
    const html = await res.text();
    expectSafeHtml(res, html);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain(evil);
  });

  it('people: helpdesk unlocks and starts recovery but reads nothing; nobody is offered to act on themselves', async () => {
    const helpdesk = await (await page(people.helpdesk, `${PATH.people}?user=${NAMES.auditor}`)).text();
    expect(helpdesk).toContain('data-person-action="unlock"');
    expect(helpdesk).toContain('data-person-action="start-recovery"');
    for (const s of ['revoke-form', 'grant-form', 'Roles in this organisation', 'Authenticator app']) expect(helpdesk).not.toContain(s);

    const admin = await (await page(people.admin, `${PATH.people}?user=${NAMES.helpdesk}`)).text();
    for (const s of ['Authenticator app', 'Not locked.', 'helpdesk', 'revoke-form', 'grant-form', 'data-person-action="unlock"']) {
      expect(admin).toContain(s);
    }
    // Only an owner names an owner: an admin is not offered the role.
    expect(admin).not.toContain('<option value="owner">');
    expect(await (await page(people.owner, PATH.people)).text()).toContain('<option value="owner">');

    const self = await (await page(people.admin, `${PATH.people}?user=${NAMES.admin}`)).text();
    expect(self).toContain('This is you.');
    for (const s of ['data-person-action', 'value="factors"', 'value="grants"', 'data-recovery-action']) expect(self).not.toContain(s);
    // Revoking one's own API tokens is not a factor action: it stays offered.
    expect(self).toContain('value="tokens"');
  });

  it('people: a recovery shows its state; a second admin is offered to approve it, never the one who started it', async () => {
    const started = await as(people.admin, 'POST', '/.stepgate/api/admin/orgs/default/recoveries', { user: NAMES.none });
    expect(started.status).toBe(201);
    const starter = await (await page(people.admin, `${PATH.people}?user=${NAMES.none}`)).text();
    expect(starter).toContain(`Started by ${NAMES.admin}`);
    expect(starter).not.toContain('data-recovery-action="approve"');
    expect(starter).toContain('data-recovery-action="cancel"');
    expect(starter).not.toContain('data-person-action="start-recovery"');
    const owner = await (await page(people.owner, `${PATH.people}?user=${NAMES.none}`)).text();
    expect(owner).toContain('data-recovery-action="approve"');
    expect(owner).toMatch(/<h2>Open recoveries<\/h2>[\s\S]*cnone/);
    // Helpdesk sees it (they may start one), but neither approves nor cancels.
    const helpdesk = await (await page(people.helpdesk, `${PATH.people}?user=${NAMES.none}`)).text();
    expect(helpdesk).toContain(`Started by ${NAMES.admin}`);
    expect(helpdesk).not.toContain('data-recovery-action');
  });

  it('audit: readers get the log with exports; the chain is verified only in the default organisation', async () => {
    const auditor = await (await page(people.auditor, PATH.audit)).text();
    expect(auditor).toContain('id="x-ocsf"');
    expect(auditor).toMatch(/<a id="x-ocsf" href="[^"]*format=ocsf" download>/);
    expect(auditor).toContain('id="verify"');
    expect(auditor).toMatch(/<div class="scroll"/);
    expect(auditor).not.toMatch(/Give someone a role|Claim ownership|token-form/);
    const acme = await (await page(fx.acmeBoss, PATH.audit)).text();
    expect(acme).toContain('id="x-ocsf"');
    expect(acme).not.toContain('id="verify"');
  });

  it('tokens: your own only, with the scopes your roles can use', async () => {
    const made = await as(people.auditor, 'POST', '/.stepgate/api/tokens', { scopes: ['audit:read'], ttl_days: 3, label: 'caud-cli' });
    expect(made.status).toBe(201);
    const admins = await as(people.admin, 'POST', '/.stepgate/api/tokens', { scopes: ['admin:read'], ttl_days: 3, label: 'cade-cli' });
    expect(admins.status).toBe(201);
    // A page is for a person in a browser: a token is no way in, not even its owner's.
    const { token } = (await made.json()) as { token: string };
    const byToken = await send(`http://app.test${PATH.audit}`, { headers: { authorization: `Bearer ${token}`, accept: 'text/html' } });
    expect(byToken.status).toBe(401);
    expect(await byToken.text()).not.toContain('id="events"');
    const mine = await (await page(people.auditor, PATH.tokens)).text();
    expect(mine).toContain('caud-cli');
    expect(mine).not.toContain('cade-cli');
    expect(mine).toContain('value="audit:read"');
    expect(mine).not.toContain('value="admin:write"');
    expect(mine).not.toMatch(/sgt\./);
  });

  it('overview: the bootstrap claim only for the person BOOTSTRAP_OWNER names, while they hold no role', async () => {
    const alice: Caller = { host: 'app.test', plain: await signIn('alice'), stepped: {} };
    expect(await (await page(alice, PATH.overview, false)).text()).toContain('id="claim-owner"');
    expect(await (await page(people.none, PATH.overview, false)).text()).not.toContain('id="claim-owner"');
  });
});

describe('the dashboard page', () => {
  it('draws the four charts as titled SVG with tables, counting this organisation’s step-ups', async () => {
    const res = await page(people.auditor, PATH.dashboard);
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html.match(/<svg role="img" aria-labelledby="chart-\w+-title chart-\w+-desc"/g)).toHaveLength(4);
    for (const t of ['Step-ups', 'Failed attempts', 'Denied requests', 'Lockouts'])
      expect(html).toMatch(new RegExp(`<title id="chart-\\w+-title">${t}</title>`));
    expect(html.match(/<table class="data" id="chart-\w+-table">/g)).toHaveLength(4);
    // Everyone above stepped up through the bundled app today.
    expect(html).toMatch(/The bundled app: \d+ step-ups<\/title>/);
  });

  it('refuses dates it cannot use, in words, with a way back', async () => {
    for (const q of ['from=2026-02-30', 'from=yesterday', 'from=2026-03-10&to=2026-03-01', 'from=2025-01-01&to=2025-06-01']) {
      const res = await page(people.auditor, `${PATH.dashboard}?${q}`);
      expect(res.status, q).toBe(400);
      const html = await res.text();
      expect(html).toMatch(/year-month-day|swap them|at most 90 days/);
      expect(html).toContain('href="/.stepgate/admin/dashboard"');
    }
    expect((await page(people.auditor, `${PATH.dashboard}?from=2026-01-01&to=2026-01-31`)).status).toBe(200);
  });
});
