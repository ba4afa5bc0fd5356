/**
 * The console's policy page of an app (/.stepgate/admin/orgs/:org/apps/:app/policy) in the Workers
 * pool, real D1 and Durable Objects: who may open it (policy.read on that app, decided before the
 * app is looked up, and never another organisation's), "confirm it is you" first, the controls each
 * role is offered (saving, the enrolment note, the baseline link), the bundled app's page, the links
 * from the apps page, and that its page script sets text only and calls the policy API of the design;
 * the history shows, under each proposal, what approving it changes and why it weakens protection.
 * The fixture: console-fixture.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createEndpointsApp } from '../../edge/endpoints/endpoints-app';
import { CLIENT_ASSETS } from '../../edge/pages/generated/client-assets';
import { proposalChanges } from '../../edge/browser/proposal-changes';
import { as, type Caller, expectSafeHtml, fx, PATH, page, seedConsole } from './console-fixture';

const { people } = fx;
beforeAll(seedConsole, 60_000);

const policyPath = (app: string, org = 'default') => `/.stepgate/admin/orgs/${org}/apps/${app}/policy`;
const open = async (who: Caller, path: string, stepped = true) => {
  const res = await page(who, path, stepped);
  const html = await res.text();
  expectSafeHtml(res, html);
  return { status: res.status, html };
};
/** The controls every reader of the page gets: the editor, the tester, the replay, the report and the history. */
const READ_CONTROLS = [
  'id="policy-text"',
  'id="test-form"',
  'id="test-method"',
  'id="test-url"',
  'id="replay"',
  'id="report-panel"',
  'id="versions"',
];

describe('the policy page', () => {
  it('opens for owners, admins and the app’s app-admin, under "Apps", with the editor, tester, report and history', async () => {
    for (const who of ['owner', 'admin', 'app-admin'] as const) {
      const { status, html } = await open(people[who], policyPath(fx.appX));
      expect(status, who).toBe(200);
      expect(html).toContain('<h1>Policy of Console X</h1>');
      expect(html).toContain('data-state="ready"');
      expect(html).toContain(`data-app="${fx.appX}"`);
      expect(html).toContain('<script type="module" src="/.stepgate/assets/policy-editor.js"></script>');
      expect(html).toContain('href="/.stepgate/admin/apps" aria-current="page"');
      for (const s of [...READ_CONTROLS, 'id="save-form"', 'id="save-comment"', 'id="canary-start-percent"'])
        expect(html, `${who} ${s}`).toContain(s);
      expect(html).toContain('data-may-update="yes"');
    }
  });

  it('offers the baseline link and enrolment changes to owners and admins only; tells an app-admin to keep enrolment', async () => {
    for (const who of ['owner', 'admin'] as const) {
      const { html } = await open(people[who], policyPath(fx.appX));
      expect(html).toContain('<a id="baseline-link" href="/.stepgate/admin/orgs/default/baseline">');
      expect(html).not.toContain('only an owner or admin changes how people enrol');
    }
    const { html } = await open(people['app-admin'], policyPath(fx.appX));
    expect(html).not.toContain('baseline-link');
    expect(html).toContain('only an owner or admin changes how people enrol');
  });

  it('is refused in words, naming nothing of the app, to roles without policy.read on it and to another organisation', async () => {
    const refusals: [Caller, string][] = [
      [people.auditor, policyPath(fx.appX)],
      [people.helpdesk, policyPath(fx.appX)],
      [people.none, policyPath(fx.appX)],
      // An app-admin reaches only their app: not the bundled one, nor one that does not exist (nothing learnt of it).
      [people['app-admin'], policyPath('bundled')],
      [people['app-admin'], policyPath('no-such-app')],
      // Another organisation's path: even an owner of this one sees nothing of acme's.
      [people.owner, policyPath('acme-secret-app', 'acme')],
      [fx.acmeBoss, policyPath(fx.appX)],
    ];
    for (const [who, path] of refusals) {
      const { status, html } = await open(who, path);
      expect(status, path).toBe(403);
      expect(html).toContain('This policy: not for you');
      expect(html).toContain('href="/.stepgate/admin/apps"');
      const theirs = who === fx.acmeBoss ? ['Console X', 'console-x.example'] : ['Console X', 'acme-secret-app', 'Acme Corp'];
      for (const s of ['policy-text', ...theirs]) expect(html, `${path}: ${s}`).not.toContain(s);
    }
  });

  it('shows only "confirm it is you" without a fresh step-up: no app name, no controls', async () => {
    const { status, html } = await open(people['app-admin'], policyPath(fx.appX), false);
    expect(status).toBe(200);
    expect(html).toContain('data-state="confirm"');
    expect(html).toMatch(/<section id="confirm" class="confirm">/);
    for (const s of ['Console X', 'policy-text', 'save-form', 'versions']) expect(html).not.toContain(s);
  });

  it('answers an app that does not exist with 404 in words, escaping the name asked for', async () => {
    const { status, html } = await open(people.owner, policyPath('%3Cimg%20src%3Dx%3E'));
    expect(status).toBe(404);
    expect(html).toContain('No such app');
    expect(html).toContain('&lt;img src=x&gt;');
    expect(html).not.toContain('<img');
  });

  it('opens the bundled app’s page for an owner, saying policy.json is its first version', async () => {
    const { status, html } = await open(people.owner, policyPath('bundled'));
    expect(status).toBe(200);
    expect(html).toContain('<h1>Policy of the bundled app</h1>');
    expect(html).toMatch(/policy\.json is its first version/);
    expect(html).toContain('id="save-form"');
  });
});

describe('the apps page links each app to its policy page', () => {
  it('an admin and the app-admin get “Edit the policy” for Console X; the page no longer has its own policy editor', async () => {
    for (const who of ['admin', 'app-admin'] as const) {
      const { html } = await open(people[who], PATH.apps);
      expect(html, who).toContain(`<a id="app-${fx.appX}-policy-link" href="${policyPath(fx.appX)}">Edit the policy</a>`);
      expect(html).not.toContain('class="policy-form');
    }
    const admin = (await open(people.admin, PATH.apps)).html;
    // The bundled app: listed with its policy page, or named in the introduction with a link to it.
    expect(admin).toMatch(/href="\/\.stepgate\/admin\/orgs\/default\/apps\/bundled\/policy"/);
    expect(admin).toMatch(/policy\.json is its first version/);
    // The app-admin of Console X is not offered the bundled app's article.
    expect((await open(people['app-admin'], PATH.apps)).html).not.toContain('id="app-bundled"');
  });
});

describe('the policy page script', () => {
  const script = CLIENT_ASSETS['policy-editor.js'] ?? '';

  it('is served, and sets what it shows as text only (never markup built from data)', () => {
    expect(script.length).toBeGreaterThan(1000);
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });

  it('calls the policy API of the design: check, test, replay, promote, versions, approve, reject, roll back, canary, report', () => {
    for (const s of [
      '/check',
      '/test',
      '/replay',
      '/rules/',
      '/promote',
      '/versions?limit=50',
      '/versions/',
      '/canary',
      '/report?hours=',
    ]) {
      expect(script, s).toContain(s);
    }
    // Approve, reject and roll back: POST …/versions/:n/<action>.
    for (const a of ['approve', 'reject', 'activate']) expect(script, a).toMatch(new RegExp(`path: ["']${a}["']`));
    expect(script).toContain('canary_percent');
  });

  it('finds every endpoint it calls among the gateway’s routes (the contract of the policy API)', () => {
    const routes = new Set(createEndpointsApp({} as never).routes.map((r) => `${r.method} ${r.path}`));
    const base = '/.stepgate/api/admin/orgs/:org/apps/:app/policy';
    const calls = ['GET ', 'PUT ', 'POST /check', 'POST /test', 'POST /replay', 'POST /rules/:rule/promote', 'GET /report'];
    calls.push('GET /versions', 'POST /versions/:n/approve', 'POST /versions/:n/reject', 'POST /versions/:n/activate', 'POST /canary');
    for (const c of calls) {
      const [method, tail] = c.split(' ') as [string, string];
      expect(routes, c).toContain(`${method} ${base}${tail}`);
    }
  });
});

describe('the history shows what a proposal changes before it can be approved', () => {
  const script = CLIENT_ASSETS['policy-editor.js'] ?? '';
  const api = (app: string) => `/.stepgate/api/admin/orgs/default/apps/${app}/policy`;

  it('the script checks each proposal’s document and offers Approve only once its changes are shown', () => {
    expect(script).toContain('What approving it changes in');
    expect(script).toContain('cannot be approved here');
    expect(script).toMatch(/-changes/);
  });

  it('a second admin reads, for an app-admin’s proposal, the rule it removes and why that weakens protection', async () => {
    // The app-admin removes the only rule: a weakening change, so it waits as a proposal.
    const put = await as(people['app-admin'], 'PUT', api(fx.appX), { policy: { version: 1, rules: [] }, comment: 'drop writes' });
    expect(put.status).toBe(202);
    const { version } = (await put.json()) as { version: number };
    const list = (await (await as(people.admin, 'GET', `${api(fx.appX)}/versions?limit=50`)).json()) as {
      versions: { version: number; state: string; policy: unknown }[];
    };
    const proposal = list.versions.find((v) => v.version === version)!;
    expect(proposal.state).toBe('proposed');
    const active = list.versions.find((v) => v.state === 'active')!.version;
    // What the page does: POST …/check with the proposal's document, then says it in words.
    const check = await as(people.admin, 'POST', `${api(fx.appX)}/check`, { policy: proposal.policy });
    expect(check.status).toBe(200);
    const words = proposalChanges(await check.json(), active);
    expect(words.summary).toBe(`What approving it changes in the active version (${active}):`);
    expect(words.lines).toHaveLength(1);
    expect(words.lines[0]).toMatch(/^Rule "writes" removed: /);
    expect(words.verdict).toBe('It weakens protection, which is why a second person must approve it:');
    expect(words.weakens.join(' ')).toContain('writes');
    expect(words.refused).toEqual([]);
    // Nothing in words is JSON: the person reads sentences.
    expect([words.summary, ...words.lines, words.verdict, ...words.weakens].join(' ')).not.toMatch(/[{}]/);
  });
});
