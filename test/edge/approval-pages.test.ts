/**
 * The dual-control pages (docs/approvals.md "Pages"), rendered from the approval API's shapes: the
 * page of one request shows exactly what the extension's prompt shows (what you see is what you
 * approve), escaped and with hidden characters marked; each viewer is offered only their own
 * controls (approver: Approve and Deny; requester: a reason, Cancel, and Carry it out as a plain
 * form POST once approved); closed states say what happened and link back; the queue lists what
 * waits for you and your own requests, with empty states in words; the console nav offers
 * "Approvals" to everyone; the page scripts are built, set text only and call the API of the design.
 */
import { describe, expect, it } from 'vitest';
import { countdownWords, relativeTime, stateSentence } from '../../shared/approval-words';
import { utcTime } from '../../shared/local-time';
import type { ApprovalJson, ApprovalState } from '../../shared/wire-shapes';
import { approvalPage } from '../../edge/pages/approval-page';
import { approvalsPage } from '../../edge/pages/approvals-page';
import type { ConsoleFrame } from '../../edge/pages/console-layout';
import { pagesAllowed } from '../../edge/pages/console-nav';
import { CLIENT_ASSETS } from '../../edge/pages/generated/client-assets';

const NOW = Date.parse('2026-03-07T14:00:00Z');
const iso = (minutes: number) => new Date(NOW + minutes * 60_000).toISOString();

/** Everyone reaches the approvals, with or without a role. */
const frame = (person = 'bob'): ConsoleFrame => ({
  page: 'approvals',
  allowed: pagesAllowed({ sub: person, orgId: 'default', roles: [] }),
  orgId: 'default',
  orgName: 'Default',
  person,
});

const approval = (over: Partial<ApprovalJson> = {}, you: Partial<ApprovalJson['you']> = {}): ApprovalJson => ({
  id: 'apr_1',
  state: 'pending',
  app: { id: 'demo', name: 'Demo app' },
  rule: 'delete-project',
  rule_description: 'Deleting a project needs an admin’s approval',
  action: { method: 'DELETE', host: 'app.test', path: '/api/projects/%E6%9D%B1%E4%BA%AC', query: 'force=1', bodySha256: 'SECRETDIGEST' },
  matched_method: 'DELETE',
  body: { kind: 'json', bytes: 27, fields: [{ name: 'confirm', value: 'yes' }], truncated: true },
  requester: 'alice',
  requested_from: { page: 'https://app.test', ip: '203.0.113.9', user_agent: 'Firefox' },
  justification: 'Customer asked to close the account',
  created_at: iso(-3),
  expires_at: iso(57),
  closed_at: null,
  required: [{ from: 'admins', kind: 'role', count: 1, have: 0 }],
  votes: [],
  you: { requester: false, can_approve: true, voted: null, why_not: null, ...you },
  status_url: '/.stepgate/api/approvals/apr_1',
  page_url: '/.stepgate/approvals/apr_1',
  ...over,
});

const render = async (a: ApprovalJson, person = 'bob') => String(await approvalPage(frame(person), { approval: a, now: NOW }));
/** Whether an element (by id) is in the page and shown. */
const visible = (html: string, id: string) =>
  new RegExp(`<[a-z]+ id="${id}"(?![^>]*\\shidden)[^>]*>`).test(html) ||
  new RegExp(`<[a-z]+(?![^>]*\\shidden)[^>]* id="${id}"[^>]*>`).test(html);

/** What every approval page must be: no inline script or style, only built scripts, no raw JSON, no jargon. */
function expectSafe(html: string): void {
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  expect(html).not.toMatch(/\sstyle=/);
  expect(html).not.toMatch(/\son[a-z]+="/);
  for (const [, file] of html.matchAll(/<script[^>]*src="\/\.stepgate\/assets\/([^"]+)"/g))
    expect(Object.keys(CLIENT_ASSETS)).toContain(file);
  expect(html).not.toMatch(/\{"|":\s*[{["\d]|\[object |undefined|NaN/);
  expect(html).not.toMatch(/digest|\bsid\b|bodySha256|SECRETDIGEST/i);
}

describe('the page of one approval request', () => {
  it('shows an approver exactly what the prompt shows, with times in words and ISO in their title', async () => {
    const html = await render(approval());
    expectSafe(html);
    expect(html).toContain('<h1>Approval request</h1>');
    expect(html).toContain('<script type="module" src="/.stepgate/assets/approval.js"></script>');
    expect(html).toContain('<dt>App</dt><dd>Demo app</dd>');
    expect(html).toContain('<dt>Site</dt><dd>app.test</dd>');
    expect(html).toContain('<span class="method">Delete</span> /api/projects/東京?force=1');
    expect(html).toContain('<span class="field">confirm</span> = yes');
    expect(html).toContain('… and more fields');
    expect(html).toContain('<dt>Asked by</dt><dd>alice</dd>');
    expect(html).toContain(
      `<time datetime="${iso(-3)}" title="${utcTime(iso(-3))}" data-relative>3 minutes ago</time>, ` +
        'from the page https://app.test, at the address 203.0.113.9',
    );
    expect(html).toContain('<dd id="justification">Customer asked to close the account</dd>');
    expect(html).toContain('<dt>Rule</dt><dd>delete-project — Deleting a project needs an admin’s approval</dd>');
    expect(html).toContain(
      `<time id="expires" datetime="${iso(57)}" title="${utcTime(iso(57))}" data-countdown>expires in 57 minutes 0 seconds</time>`,
    );
    expect(html).toContain('<li>1 from admins: 0 of 1 approved so far</li>');
    expect(html).toContain('Nobody has decided yet.');
    expect(html).toContain('It waits for your decision.');
    // The approver's controls, and none of the requester's.
    for (const id of ['approve', 'deny-open']) expect(visible(html, id), id).toBe(true);
    for (const id of ['answer', 'deny-form']) expect(html).toMatch(new RegExp(`id="${id}"[^>]*hidden`));
    expect(html).toContain('maxlength="500"');
    for (const id of ['reason-form', 'carry-out', 'cancel']) expect(html, id).not.toContain(`id="${id}"`);
    // A way on: the queue and the app; the nav marks Approvals.
    expect(html).toContain('<a href="/.stepgate/approvals">All approval requests</a>');
    expect(html).toContain('<a href="/.stepgate/approvals" aria-current="page">Approvals</a>');
  });

  it('escapes every value a person or an app wrote, and marks hidden characters under a warning', async () => {
    const evil = '<img src=x onerror=alert(1)>"\'';
    const html = await render(
      approval(
        {
          app: { id: 'x', name: evil },
          requester: evil,
          rule: evil,
          rule_description: evil,
          justification: `tidy\u202Eup ${evil}`,
          body: { kind: 'form', bytes: 9, fields: [{ name: evil, value: evil }], truncated: false },
          requested_from: { page: evil, ip: null, user_agent: null },
          votes: [{ person: evil, vote: 'approve', at: iso(-1), factor: ['hwk', 'user'], reason: null }],
        },
        { can_approve: false, why_not: evil },
      ),
    );
    expectSafe(html);
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;');
    expect(html).not.toContain('\u202E');
    expect(html).toContain('<mark class="hidden-char" title="bidirectional control U+202E RIGHT-TO-LEFT OVERRIDE">\\u{202E}</mark>');
    expect(html).toContain('This request contains hidden characters, shown marked below.');
    expect(html).toContain('approved with a passkey');
  });

  it('offers the requester a reason before any vote, Cancel, and nothing of an approver', async () => {
    const mine = { requester: true, can_approve: false, why_not: 'You asked for it: someone else must approve.' };
    const html = await render(approval({ justification: null }, mine), 'alice');
    expectSafe(html);
    expect(html).toContain('Nothing has been sent yet; this page updates by itself.');
    expect(html).toContain('<dd id="justification">No reason given.</dd>');
    expect(visible(html, 'reason-form')).toBe(true);
    expect(visible(html, 'cancel-box')).toBe(true);
    expect(html).toMatch(/<form id="carry-out"[^>]* hidden>/);
    for (const id of ['approve', 'deny-form', 'why-not']) expect(html, id).not.toContain(`id="${id}"`);
    // Once someone decided, or a reason was given, the reason can no longer be added.
    const voted = await render(
      approval({ justification: null, votes: [{ person: 'carol', vote: 'approve', at: iso(-1), factor: ['otp'], reason: null }] }, mine),
    );
    expect(voted).toMatch(/<form id="reason-form"[^>]* hidden>/);
    expect(voted).toContain('carol approved with a code from an authenticator app');
    expect(await render(approval({}, mine))).toMatch(/<form id="reason-form"[^>]* hidden>/);
  });

  it('offers Carry it out once approved, as a plain form POST to the carry-out path (no script needed)', async () => {
    const a = approval(
      {
        id: 'apr/../2',
        state: 'approved',
        required: [{ from: 'admins', kind: 'role', count: 1, have: 1 }],
        votes: [{ person: 'bob', vote: 'approve', at: iso(-1), factor: ['hwk'], reason: null }],
      },
      { requester: true, can_approve: false },
    );
    const html = await render(a, 'alice');
    expectSafe(html);
    expect(html).toContain('<form id="carry-out" method="post" action="/.stepgate/approvals/apr%2F..%2F2/carry-out">');
    expect(html).toContain('<button type="submit" class="wide">Carry it out</button>');
    expect(html).toContain('Approved. Carry it out below');
    expect(html).toContain('<li>1 from admins: 1 of 1 approved</li>');
    // An approver who already approved sees it waiting for the requester, with no controls.
    const theirs = await render({ ...a, you: { requester: false, can_approve: true, voted: 'approve', why_not: null } });
    expect(theirs).toContain('It waits for alice to carry it out; nothing has been sent yet.');
    for (const id of ['approve', 'carry-out', 'cancel']) expect(theirs, id).not.toContain(`id="${id}"`);
  });

  it('says plainly what happened to a closed request, offers no action on it, and links back', async () => {
    const deny = { person: 'carol', vote: 'deny' as const, at: iso(-1), factor: [], reason: 'Not during the freeze' };
    const cases: [ApprovalState, Partial<ApprovalJson>, string][] = [
      ['denied', { votes: [deny] }, 'Denied. carol denied it: “Not during the freeze”. Nothing was sent'],
      ['expired', {}, 'Expired: it was not approved in time. Nothing was sent'],
      ['cancelled', {}, 'You cancelled it. Nothing was sent.'],
      ['carried-out', {}, 'Carried out: the request was sent to the app once'],
    ];
    for (const [state, over, said] of cases) {
      const html = await render(approval({ state, closed_at: iso(-1), ...over }, { requester: true, can_approve: false }), 'alice');
      expectSafe(html);
      expect(html, state).toContain(said);
      expect(html, state).toMatch(/<form id="carry-out"[^>]* hidden>/);
      expect(html, state).toMatch(/<p hidden id="cancel-box">/);
      expect(html, state).toMatch(/<form id="reason-form"[^>]* hidden>/);
      expect(html, state).not.toContain('data-countdown');
      expect(html, state).toContain(`<dd id="expiry">no longer open (closed <time datetime="${iso(-1)}"`);
      expect(html, state).toContain('<a href="/.stepgate/approvals">All approval requests</a> <a href="/">Back to the app</a>');
      // An approver who could have decided is offered nothing on a closed request.
      const approver = await render(approval({ state, closed_at: iso(-1), ...over }));
      expect(approver, state).not.toContain('id="approve"');
    }
  });

  it('tells a reader who may not decide why, and offers no control', async () => {
    const html = await render(approval({}, { can_approve: false, why_not: 'You are not one of the approvers this rule names.' }));
    expect(html).toContain('<p class="note" id="why-not">You are not one of the approvers this rule names.</p>');
    for (const id of ['approve', 'deny-form', 'reason-form', 'carry-out']) expect(html, id).not.toContain(`id="${id}"`);
  });
});

describe('the approval queue', () => {
  it('lists what waits for you (app, action, requester, when, expiry, a link) and your requests with their state', async () => {
    const waiting = approval({ id: 'apr_w' });
    const mine = [
      approval(
        { id: 'apr_m1', state: 'approved', required: [{ from: 'bob or carol', kind: 'people', count: 2, have: 2 }] },
        { requester: true },
      ),
      approval({ id: 'apr_m2', state: 'denied', closed_at: iso(-1) }, { requester: true }),
    ];
    const html = String(await approvalsPage(frame(), { list: { awaiting_you: [waiting], yours: mine }, now: NOW }));
    expectSafe(html);
    expect(html).toContain('<h1>Approvals</h1>');
    expect(html).toContain('<script type="module" src="/.stepgate/assets/approvals.js"></script>');
    expect(html).toContain('Waiting for you (1)');
    const row = html.slice(html.indexOf('<tr data-approval="apr_w">'));
    const cells =
      '<tr data-approval="apr_w">\n<td data-label="App">Demo app</td>\n' +
      '<td data-label="Action" class="mono"><span class="method">Delete</span> /api/projects/東京?force=1</td>\n' +
      '<td data-label="Asked by">alice</td>';
    expect(row.startsWith(cells), row.slice(0, 300)).toBe(true);
    expect(row).toContain(`title="${utcTime(iso(-3))}" data-relative>3 minutes ago</time>`);
    expect(row).toContain('data-countdown>expires in 57 minutes 0 seconds</time>');
    expect(row).toContain('<a href="/.stepgate/approvals/apr_w">Review</a>');
    expect(html).toContain('<h2 id="yours-title">Your requests</h2>');
    expect(html).toContain('<strong data-state-badge>Approved</strong>');
    expect(html).toContain('<strong class="warn" data-state-badge>Denied</strong>');
    expect(html).toContain('>2 of 2 approvals</td>');
    expect(html).toContain('<a href="/.stepgate/approvals/apr_m1">Carry it out</a>');
    expect(html).toContain('<a href="/.stepgate/approvals/apr_m2">Open</a>');
    expect(html).toContain('data-signature="apr_w:pending:0:1|apr_m1:approved:0:1,apr_m2:denied:0:1"');
  });

  it('says what would appear in an empty queue', async () => {
    const html = String(await approvalsPage(frame('cnone'), { list: { awaiting_you: [], yours: [] }, now: NOW }));
    expectSafe(html);
    expect(html).toContain('Waiting for you (0)');
    expect(html).toContain('Nothing is waiting for you. When someone asks for an action that a rule says you');
    expect(html).toContain('You have no requests here yet.');
    expect(html).not.toContain('<table');
  });
});

describe('the console nav and the words', () => {
  it('offers Approvals to everyone signed in, with or without a role', () => {
    expect(pagesAllowed({ sub: 'x', orgId: 'default', roles: [] }).has('approvals')).toBe(true);
    expect(pagesAllowed({ sub: 'x', orgId: 'default', roles: [{ role: 'auditor', appId: null }] }).has('approvals')).toBe(true);
  });

  it('says times in words and counts the expiry down to the second', () => {
    expect(relativeTime(iso(-90), NOW)).toBe('1 hour ago');
    expect(relativeTime(iso(2 * 24 * 60), NOW)).toBe('in 2 days');
    expect(relativeTime(new Date(NOW + 1000).toISOString(), NOW)).toBe('just now');
    expect(relativeTime('not a time', NOW)).toBe('unknown');
    expect(countdownWords(new Date(NOW + 61_000).toISOString(), NOW)).toBe('expires in 1 minute 1 second');
    expect(countdownWords(iso(-1), NOW)).toBe('has expired');
    expect(countdownWords(iso(125), NOW)).toBe('expires in 2 hours');
  });

  it('says, for every closed state, that nothing was sent unless it was carried out', () => {
    for (const state of ['denied', 'expired', 'cancelled'] as const)
      expect(stateSentence(approval({ state }, { requester: false })), state).toContain('Nothing was sent');
    expect(stateSentence(approval({ state: 'carried-out' }))).not.toContain('Nothing was sent');
  });
});

describe('the approval page scripts', () => {
  const item = CLIENT_ASSETS['approval.js'] ?? '';
  const queue = CLIENT_ASSETS['approvals.js'] ?? '';
  const all = Object.values(CLIENT_ASSETS).join('\n');

  it('are built, and set what they show as text only (never markup built from data)', () => {
    expect(item.length).toBeGreaterThan(1000);
    expect(queue.length).toBeGreaterThan(300);
    for (const s of [item, queue, CLIENT_ASSETS['approval-live.js'] ?? ''])
      expect(s).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });

  it('call the approval API of the design, answer the step-up as the step-up page does, and poll every 2 seconds', () => {
    for (const s of ['/.stepgate/api/approvals/', '/step-up', '/deny', '/justification', '/cancel']) expect(item, s).toContain(s);
    expect(queue).toContain('/.stepgate/api/approvals');
    // The challenge is answered by the module the step-up page uses too.
    expect(item).toContain('from "./answer-challenge.js"');
    expect(CLIENT_ASSETS['step-up.js']).toContain('from "./answer-challenge.js"');
    expect(CLIENT_ASSETS['answer-challenge.js']).toContain('/webauthn/options');
    expect(CLIENT_ASSETS['answer-challenge.js']).toContain('/verify');
    expect(all).toMatch(/POLL_MS = 2e3|POLL_MS = 2000/);
  });
});
