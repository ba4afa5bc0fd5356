/**
 * Dual control's pure modules in the extension: the approval window's state machine (approve only
 * what is open to this person, the step-up must bind the request shown, refusals by code in plain
 * sentences, retry after a wrong code, nothing after the end), the words of the lists and results,
 * and the check of what a site sends (only its own page opens from **Carry it out**).
 */
import { describe, expect, it } from 'vitest';
import type { ApprovalJson, VerifiedPrompt } from '../../shared/wire-shapes';
import { approvalPageUrl, checkApproval, isApprovalStepUp } from '../../extension/src/lib/approval-check';
import { approvalRefusal, approvalsNeeded, canDecide, stateWords, voteResult } from '../../extension/src/lib/approval-words';
import {
  nextApprovalState,
  LOOK_AGAIN,
  NO_RECOVERY,
  PASSKEY_ONLY,
  STEP_UP_GONE,
  stepUpMismatch,
  type ApprovalPromptEvent,
  type ApprovalPromptState,
} from '../../extension/src/prompt/approval-state';
import { approval, FIXTURE_NOW as NOW } from './extension-approvals-fixture';

const SITE = 'http://localhost:8787';
const A = approval({ id: 'apr_1' });
const stepUp = (over: Partial<VerifiedPrompt> = {}): VerifiedPrompt => ({
  id: 'S'.repeat(22),
  rule: 'approval:apr_1',
  bind: 'action',
  factors: ['webauthn'],
  max_age: 300,
  action: { ...A.action },
  matched_method: A.matched_method,
  body: A.body,
  requested_from: A.requested_from,
  created_at: new Date(NOW).toISOString(),
  expires_at: new Date(NOW + 300_000).toISOString(),
  held: false,
  hold_until: null,
  other_session: false,
  ...over,
});
const run = (events: ApprovalPromptEvent[], from: ApprovalPromptState = { kind: 'loading' }) => events.reduce(nextApprovalState, from);
const loaded = (a: ApprovalJson = A): ApprovalPromptEvent => ({ type: 'loaded', approval: a, now: NOW });
const approved = approval({ id: 'apr_1', state: 'approved', required: [{ from: 'admins', kind: 'role', count: 1, have: 1 }] });

describe('approval window state', () => {
  it('opens for a decision only when the request waits and this person may approve it; otherwise it is only shown', () => {
    expect(run([loaded()])).toMatchObject({ kind: 'open', stepUp: null, error: null });
    for (const a of [
      approval({ id: 'apr_1', you: { requester: true } }),
      approval({ id: 'apr_1', you: { can_approve: false, why_not: 'You are not an admin.' } }),
      approval({ id: 'apr_1', you: { voted: 'approve' } }),
      approval({ id: 'apr_1', state: 'denied' }),
      approval({ id: 'apr_1', expires_at: new Date(NOW - 1).toISOString() }),
    ]) {
      expect(run([loaded(a)])).toMatchObject({ kind: 'view' });
      // And nothing can be approved or denied from there.
      expect(run([loaded(a), { type: 'approve', method: 'webauthn' }])).toMatchObject({ kind: 'view' });
      expect(run([loaded(a), { type: 'deny' }])).toMatchObject({ kind: 'view' });
    }
  });

  it('approve → the step-up is opened → answered → approved, with the request as the vote left it', () => {
    const s = run([loaded(), { type: 'approve', method: 'webauthn' }]);
    expect(s).toMatchObject({ kind: 'approving', method: 'webauthn', stepUp: null });
    const t = run([{ type: 'stepped-up', stepUp: stepUp() }], s);
    expect(t).toMatchObject({ kind: 'approving', stepUp: { rule: 'approval:apr_1' } });
    expect(run([{ type: 'voted', approval: approved }], t)).toEqual({ kind: 'approved', approval: approved });
  });

  it('a code on a passkey-only step-up goes back to open, keeping the step-up, saying to use the passkey', () => {
    const s = run([loaded(), { type: 'approve', method: 'totp' }, { type: 'stepped-up', stepUp: stepUp() }]);
    expect(s).toMatchObject({ kind: 'open', error: PASSKEY_ONLY, stepUp: { id: 'S'.repeat(22) } });
    // A second code attempt is refused at once; the passkey goes on with the same step-up.
    expect(run([{ type: 'approve', method: 'totp' }], s)).toMatchObject({ kind: 'open', error: PASSKEY_ONLY });
    expect(run([{ type: 'approve', method: 'webauthn' }], s)).toMatchObject({ kind: 'approving', stepUp: { id: 'S'.repeat(22) } });
  });

  it('a recovery code cannot approve: back to open, saying so', () => {
    const s = run([
      loaded(),
      { type: 'approve', method: 'recovery' },
      { type: 'stepped-up', stepUp: stepUp({ factors: ['webauthn', 'totp'] }) },
    ]);
    expect(s).toMatchObject({ kind: 'open', error: NO_RECOVERY });
  });

  it('a wrong code can be tried again on the same step-up; a step-up that is gone starts a new one next time', () => {
    const withCodes = stepUp({ factors: ['webauthn', 'totp'] });
    const s = run([loaded(), { type: 'approve', method: 'totp' }, { type: 'stepped-up', stepUp: withCodes }]);
    const wrong = run([{ type: 'refused', code: 'ERR_FACTOR_INVALID', message: 'That code is not right.' }], s);
    expect(wrong).toMatchObject({ kind: 'open', error: 'That code is not right.', stepUp: withCodes });
    const gone = run(
      [
        { type: 'approve', method: 'totp' },
        { type: 'refused', code: 'ERR_CHALLENGE_NOT_FOUND', message: 'x' },
      ],
      wrong,
    );
    expect(gone).toMatchObject({ kind: 'open', error: STEP_UP_GONE, stepUp: null });
  });

  it('refusals about the approval end it with a plain sentence', () => {
    for (const [code, words] of [
      ['ERR_APPROVAL_SELF', /asked for this yourself/],
      ['ERR_APPROVAL_NOT_ELIGIBLE', /not one of the people/],
      ['ERR_APPROVAL_CLOSED', /no longer takes a decision from you/],
    ] as const) {
      const s = run([loaded(), { type: 'approve', method: 'webauthn' }, { type: 'refused', code, message: 'raw' }]);
      expect(s).toMatchObject({ kind: 'failed', code });
      expect(s.kind === 'failed' && s.reason).toMatch(words);
      const d = run([loaded(), { type: 'deny' }, { type: 'refused', code, message: 'raw' }]);
      expect(d.kind === 'failed' && d.reason).toMatch(words);
    }
    // A step-up that does not bind the request shown ends it too.
    expect(
      run([loaded(), { type: 'approve', method: 'webauthn' }, { type: 'refused', code: 'EXT_BAD_PROMPT', message: 'another request' }]),
    ).toMatchObject({
      kind: 'failed',
      reason: 'another request',
    });
  });

  it('deny → denied; late answers and clicks after the end change nothing', () => {
    const d = run([loaded(), { type: 'deny' }, { type: 'denied', approval: approval({ id: 'apr_1', state: 'denied' }) }]);
    expect(d).toMatchObject({ kind: 'denied' });
    for (const e of [
      { type: 'approve', method: 'webauthn' },
      { type: 'voted', approval: approved },
      { type: 'deny' },
    ] as ApprovalPromptEvent[])
      expect(run([e], d)).toBe(d);
    // A vote answer while denying (or the reverse) is ignored.
    const denying = run([loaded(), { type: 'deny' }]);
    expect(run([{ type: 'voted', approval: approved }], denying)).toBe(denying);
    expect(run([{ type: 'deny' }], denying)).toBe(denying);
  });

  it('decided elsewhere or expired meanwhile: only shown', () => {
    const open = run([loaded()]);
    expect(run([{ type: 'refreshed', approval: approved, now: NOW }], open)).toMatchObject({ kind: 'view', approval: approved });
    expect(run([{ type: 'tick', now: Date.parse(A.expires_at) }], open)).toMatchObject({ kind: 'view' });
    expect(run([{ type: 'tick', now: NOW }], open)).toBe(open);
    expect(run([{ type: 'load-failed', code: 'ERR_APPROVAL_NOT_FOUND', message: 'x' }])).toMatchObject({
      kind: 'failed',
      reason: /does not exist/,
    });
  });

  it('the step-up must be the one for this request: its signed rule, one-time, the exact action shown', () => {
    expect(stepUpMismatch(stepUp(), A)).toBeNull();
    expect(stepUpMismatch(stepUp({ rule: 'approval:apr_2' }), A)).toMatch(/not this request/);
    expect(stepUpMismatch(stepUp({ rule: 'delete-project' }), A)).toMatch(/not this request/);
    expect(stepUpMismatch(stepUp({ bind: 'session' }), A)).toMatch(/one-time/);
    for (const change of [
      { path: '/api/projects/8' },
      { query: 'all=1' },
      { bodySha256: 'x' },
      { method: 'POST' },
      { host: 'evil.example' },
    ])
      expect(stepUpMismatch(stepUp({ action: { ...A.action, ...change } }), A)).toMatch(/another request/);
    expect(isApprovalStepUp(stepUp())).toBe(true);
    expect(isApprovalStepUp(stepUp({ rule: 'delete-project' }))).toBe(false);
  });

  it('the step-up must sign the method it acts as, the body summary and the origin shown, member by member', () => {
    const body = { kind: 'json', bytes: 30, fields: [{ name: 'confirm', value: 'yes' }], truncated: false };
    const withBody = approval({ id: 'apr_1', matched_method: 'DELETE', body });
    const signed = stepUp({ body, requested_from: A.requested_from });
    expect(stepUpMismatch(signed, withBody)).toBeNull();
    // The site's API shows "confirm = no" beside the real body's hash: the signed summary says otherwise.
    for (const shown of [
      { ...body, fields: [{ name: 'confirm', value: 'no' }] },
      { ...body, fields: [{ name: 'Confirm', value: 'yes' }] },
      { ...body, fields: [...body.fields, { name: 'x', value: '1' }] },
      { ...body, fields: [] },
      { ...body, kind: 'form' },
      { ...body, bytes: 31 },
      { ...body, truncated: true },
      null,
    ])
      expect(stepUpMismatch(signed, { ...withBody, body: shown })).toMatch(/another body/);
    expect(stepUpMismatch(stepUp({ body: null }), withBody)).toMatch(/another body/);
    // A `_method` override hidden: the approver digest binds the method it matched as.
    expect(stepUpMismatch(stepUp({ body, matched_method: 'POST' }), withBody)).toMatch(/acts as POST/);
    for (const from of [
      null,
      { ...A.requested_from!, page: 'https://changes.example' },
      { ...A.requested_from!, ip: '10.0.0.9' },
      { ...A.requested_from!, user_agent: 'curl/8' },
    ])
      expect(stepUpMismatch(signed, { ...withBody, requested_from: from })).toMatch(/came from elsewhere/);
  });

  it('a refresh that changes what is asked while a step-up is held drops it: the person must look again', () => {
    const codes = stepUp({ factors: ['webauthn', 'totp'] });
    // A wrong code leaves the window open holding the step-up, still polling the site.
    const held = run([
      loaded(),
      { type: 'approve', method: 'totp' },
      { type: 'stepped-up', stepUp: codes },
      { type: 'refused', code: 'ERR_FACTOR_INVALID', message: 'That code is not right.' },
    ]);
    expect(held).toMatchObject({ kind: 'open', stepUp: codes });
    for (const changed of [
      approval({ id: 'apr_1', body: { kind: 'json', bytes: 2, fields: [{ name: 'confirm', value: 'no' }], truncated: false } }),
      approval({ id: 'apr_1', matched_method: 'POST' }),
      approval({ id: 'apr_1', requested_from: null }),
      approval({ id: 'apr_1', justification: 'Approved by the CAB already.' }),
      approval({ id: 'apr_1', requester: 'carol' }),
      approval({ id: 'apr_1', rule_description: 'Harmless.' }),
      approval({ id: 'apr_1', action: { ...A.action, path: '/api/projects/8' } }),
    ]) {
      const s = run([{ type: 'refreshed', approval: changed, now: NOW }], held);
      expect(s).toEqual({ kind: 'open', approval: changed, stepUp: null, error: LOOK_AGAIN });
      // The next Approve opens a new step-up, checked against what is shown now.
      expect(run([{ type: 'approve', method: 'totp' }], s)).toMatchObject({ kind: 'approving', stepUp: null });
    }
    // Another approver's vote changes the tally, not what is asked: the step-up is kept.
    const tally = approval({
      id: 'apr_1',
      required: [{ from: 'admins', kind: 'role', count: 2, have: 1 }],
      votes: [{ person: 'bob', vote: 'approve', at: new Date(NOW).toISOString(), factor: ['hwk'], reason: null }],
    });
    const heldTwo = run([loaded(approval({ id: 'apr_1', required: [{ from: 'admins', kind: 'role', count: 2, have: 0 }] }))], {
      kind: 'loading',
    });
    const kept = run(
      [
        { type: 'approve', method: 'totp' },
        { type: 'stepped-up', stepUp: codes },
        { type: 'refused', code: 'ERR_FACTOR_INVALID', message: 'x' },
      ],
      heldTwo,
    );
    expect(run([{ type: 'refreshed', approval: tally, now: NOW }], kept)).toMatchObject({ kind: 'open', approval: tally, stepUp: codes });
  });

  it('without a step-up held, a refresh just shows the request as it is now', () => {
    const changed = approval({ id: 'apr_1', justification: 'Another reason.' });
    expect(run([loaded(), { type: 'refreshed', approval: changed, now: NOW }])).toEqual({
      kind: 'open',
      approval: changed,
      stepUp: null,
      error: null,
    });
  });
});

describe('approval words', () => {
  it('say where a request stands', () => {
    const two = approval({
      required: [
        { from: 'admins', kind: 'role', count: 1, have: 0 },
        { from: 'bob or carol', kind: 'people', count: 2, have: 1 },
      ],
    });
    expect(approvalsNeeded(two)).toBe(2);
    expect(stateWords(two, NOW)).toBe('Waiting for 2 more approvals');
    expect(stateWords(approval(), NOW)).toBe('Waiting for 1 more approval');
    expect(stateWords(approval(), Date.parse(approval().expires_at))).toBe('Expired');
    expect(stateWords(approved, NOW)).toBe('Approved — carry it out');
    const denied = approval({
      state: 'denied',
      votes: [{ person: 'bob', vote: 'deny', at: new Date(NOW).toISOString(), factor: [], reason: 'Not today' }],
    });
    expect(stateWords(denied, NOW)).toBe('Denied by bob: Not today');
    expect(stateWords(approval({ state: 'expired' }), NOW)).toBe('Expired');
    expect(stateWords(approval({ state: 'cancelled' }), NOW)).toBe('Cancelled');
    expect(stateWords(approval({ state: 'carried-out' }), NOW)).toBe('Carried out');
  });

  it('say what a vote did', () => {
    expect(voteResult(approved)).toBe('Approved: alice can carry it out now.');
    const oneMore = approval({ required: [{ from: 'bob or carol', kind: 'people', count: 2, have: 1 }] });
    expect(voteResult(oneMore)).toBe('Your approval is recorded; 1 more needed.');
    expect(approvalRefusal('ERR_FACTOR_INVALID')).toBeNull();
    expect(canDecide(A, NOW)).toBe(true);
  });
});

describe('what a site sends', () => {
  it('is kept with its known members only', () => {
    expect(checkApproval({ ...A, extra: '<img src=x>', you: { ...A.you, admin: true } }, SITE)).toEqual(A);
    expect(checkApproval({ ...A, rule_description: undefined, justification: undefined, closed_at: undefined }, SITE)).toEqual({
      ...A,
      rule_description: null,
      justification: null,
    });
    for (const bad of [
      { ...A, votes: [{ person: 'bob', vote: 'maybe', at: A.created_at, factor: [], reason: null }] },
      { ...A, required: Array.from({ length: 6 }, () => A.required[0]) },
      { ...A, requester: 'x'.repeat(600) },
      { ...A, body: { kind: 'json', bytes: 1, fields: 'a=1', truncated: false } },
      { ...A, created_at: 'yesterday' },
      { ...A, you: { ...A.you, voted: 'yes' } },
    ])
      expect(checkApproval(bad, SITE)).toBeNull();
  });

  it('Carry it out opens only a page of the site itself, under /.stepgate/approvals/', () => {
    expect(approvalPageUrl(SITE, '/.stepgate/approvals/apr_1')).toBe(`${SITE}/.stepgate/approvals/apr_1`);
    for (const bad of [
      'https://evil.example/.stepgate/approvals/apr_1',
      '//evil.example/.stepgate/approvals/apr_1',
      '/\\evil.example/.stepgate/approvals/apr_1',
      '/.stepgate/approvals/../../api/projects/1',
      'javascript:alert(1)',
      '/api/projects/1',
      42,
    ])
      expect(approvalPageUrl(SITE, bad)).toBeNull();
  });
});
