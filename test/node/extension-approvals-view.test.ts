/**
 * Dual control's views in the extension, rendered into a minimal DOM stand-in: the approval
 * window's facts (the request as a challenge's window shows it, then who asked, why, who must
 * approve, the decisions, the state), hidden characters in any of it marked under a warning; and the
 * popup's and options page's two lists (Review for requests awaiting you, Carry it out only for your
 * approved ones, opening the site's own page). The ids here are the ones docs/extension.md names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateSentence } from '../../shared/approval-words';
import { approvalLists } from '../../extension/src/lib/approval-list';
import type { SiteApprovals } from '../../extension/src/lib/messages';
import type { VerifiedPrompt } from '../../shared/wire-shapes';
import { approvalFacts, approvalHiddenCharactersWarning, whyNotYours } from '../../extension/src/prompt/approval-view';
import { approval, FIXTURE_NOW as NOW } from './extension-approvals-fixture';

class FakeText {
  constructor(readonly data: string) {}
  get textContent(): string {
    return this.data;
  }
}
class FakeElement {
  className = '';
  readonly attributes = new Map<string, string>();
  readonly listeners = new Map<string, () => void>();
  childNodes: (FakeElement | FakeText)[] = [];
  constructor(readonly tagName: string) {}
  setAttribute(k: string, v: string): void {
    this.attributes.set(k, v);
  }
  getAttribute(k: string): string | null {
    return this.attributes.get(k) ?? null;
  }
  addEventListener(type: string, fn: () => void): void {
    this.listeners.set(type, fn);
  }
  appendChild<T extends FakeElement | FakeText>(c: T): T {
    this.childNodes.push(c);
    return c;
  }
  set textContent(v: string) {
    this.childNodes = [new FakeText(v)];
  }
  get textContent(): string {
    return this.childNodes.map((c) => c.textContent).join('');
  }
}
type FakeNode = FakeElement | FakeText;

const saved = (globalThis as { document?: unknown }).document;
beforeAll(() => {
  (globalThis as { document?: unknown }).document = {
    createElement: (t: string) => new FakeElement(t),
    createTextNode: (t: string) => new FakeText(t),
  };
});
afterAll(() => {
  (globalThis as { document?: unknown }).document = saved;
});

const all = (n: FakeNode): FakeNode[] => [n, ...(n instanceof FakeElement ? n.childNodes.flatMap(all) : [])];
const els = (n: FakeNode) => all(n).filter((e): e is FakeElement => e instanceof FakeElement);
const byId = (n: FakeNode, id: string): FakeElement => els(n).find((e) => e.getAttribute('id') === id)!;
const buttons = (n: FakeNode) => els(n).filter((e) => e.tagName === 'button');

const SITE = 'http://localhost:8787';

describe('the approval window shows the request, who asked and why', () => {
  it('as a challenge window shows the request, then requester, justification, rule, approvers, decisions and state', () => {
    const a = approval({
      required: [
        { from: 'admins', kind: 'role', count: 1, have: 0 },
        { from: 'bob or carol', kind: 'people', count: 2, have: 1 },
      ],
      votes: [{ person: 'bob', vote: 'approve', at: new Date(NOW).toISOString(), factor: ['hwk'], reason: null }],
    });
    const view = approvalFacts(a, SITE, NOW) as unknown as FakeElement;
    expect(byId(view, 'app').textContent).toBe('Demo projects · localhost:8787');
    expect(byId(view, 'request').textContent).toBe('Delete /api/projects/7');
    expect(byId(view, 'requester').textContent).toBe('alice');
    expect(byId(view, 'justification').textContent).toBe('Customer asked for it (ticket 4411).');
    expect(byId(view, 'rule').textContent).toBe('delete-project');
    expect(byId(view, 'rule-description').textContent).toBe('Deleting a project needs an admin’s approval.');
    expect(byId(view, 'required').textContent).toBe(
      '1 from admins: 0 of 1 approved so far2 from bob or carol: 1 of 2 approved so far2 more needed',
    );
    expect(byId(view, 'votes').textContent).toMatch(/^bob approved with a passkey · /);
    // The edge's own sentence (shared/approval-words.ts), whatever its wording.
    expect(byId(view, 'approval-state').textContent).toBe(stateSentence(a));
    expect(byId(view, 'approval-state').textContent).toMatch(/your decision/);
    expect(approvalHiddenCharactersWarning(a)).toBeNull();
  });

  it('marks hidden characters in the requester, the justification and a denial reason, and warns', () => {
    const a = approval({
      requester: 'ali\u202Eecila',
      justification: 'ok\u200B',
      votes: [{ person: 'bob', vote: 'deny', at: new Date(NOW).toISOString(), factor: [], reason: 'no\u2066' }],
    });
    const view = approvalFacts(a, SITE, NOW) as unknown as FakeElement;
    for (const id of ['requester', 'justification', 'votes'])
      expect(els(byId(view, id)).filter((e) => e.tagName === 'mark')).toHaveLength(1);
    expect(
      all(view)
        .flatMap((n) => (n instanceof FakeText ? [n.data] : []))
        .join(''),
    ).not.toMatch(/[\u202E\u200B\u2066]/);
    expect((approvalHiddenCharactersWarning(a) as unknown as FakeElement).getAttribute('id')).toBe('hidden-chars');
  });

  it('once the step-up is open, draws the request, what it acts as, the body and the origin from its verified prompt', () => {
    const a = approval({
      body: { kind: 'json', bytes: 16, fields: [{ name: 'confirm', value: 'no' }], truncated: false },
      requested_from: { page: SITE, ip: '127.0.0.1', user_agent: null },
    });
    const signed: VerifiedPrompt = {
      id: 'S'.repeat(22),
      rule: `approval:${a.id}`,
      bind: 'action',
      factors: ['webauthn'],
      max_age: 300,
      action: { ...a.action, path: '/api/projects/9' },
      matched_method: 'PATCH',
      body: { kind: 'json', bytes: 17, fields: [{ name: 'confirm', value: 'yes' }], truncated: false },
      requested_from: { page: 'https://elsewhere.example', ip: '10.0.0.1', user_agent: null },
      created_at: new Date(NOW).toISOString(),
      expires_at: new Date(NOW + 300_000).toISOString(),
      held: false,
      hold_until: null,
      other_session: false,
    };
    const unsigned = approvalFacts(a, SITE, NOW) as unknown as FakeElement;
    expect(unsigned.getAttribute('data-signed')).toBe('none');
    expect(byId(unsigned, 'body-fields').textContent).toBe('confirm = no');
    const view = approvalFacts(a, SITE, NOW, signed) as unknown as FakeElement;
    expect(view.getAttribute('data-signed')).toBe('request');
    // What the signed request asks for, in words; what it was sent as, in one plain line.
    expect(byId(view, 'request').textContent).toBe('Change /api/projects/9');
    expect(byId(view, 'body-fields').textContent).toBe('confirm = yes');
    expect(byId(view, 'from').textContent).toBe('https://elsewhere.example · 10.0.0.1 — not a page of this site');
    expect(byId(view, 'method-note').textContent).toBe('Sent by a form that asks the app to change.');
    // Who asked and why are still the site's (unsigned) words.
    expect(byId(view, 'requester').textContent).toBe('alice');
    // Hidden characters are looked for in what is shown: the signed rows.
    expect(approvalHiddenCharactersWarning(a, signed)).toBeNull();
    const sneaky = { ...signed, body: { ...signed.body!, fields: [{ name: 'confirm', value: 'yes\u202E' }] } };
    expect(approvalHiddenCharactersWarning(a, sneaky)).not.toBeNull();
  });

  it('says why there is nothing to decide', () => {
    expect(whyNotYours(approval({ you: { requester: true, can_approve: false } }))).toMatch(/your own request/);
    expect(whyNotYours(approval({ you: { voted: 'approve' } }))).toBe('You approved it.');
    expect(whyNotYours(approval({ you: { can_approve: false, why_not: 'Only admins approve this.' } }))).toBe('Only admins approve this.');
    expect(whyNotYours(approval())).toBeNull();
  });
});

describe('the popup and options lists', () => {
  const list: SiteApprovals[] = [
    {
      site: SITE,
      awaiting_you: [approval({ id: 'apr_wait' }), approval({ id: 'apr_old', expires_at: new Date(NOW - 1).toISOString() })],
      yours: [
        approval({ id: 'apr_ok', state: 'approved', requester: 'me', you: { requester: true, can_approve: false } }),
        approval({ id: 'apr_no', state: 'denied', you: { requester: true, can_approve: false } }),
      ],
    },
  ];

  it('list requests awaiting you (not expired ones) with Review, and yours with their state', () => {
    const reviewed: string[] = [];
    const opened: string[] = [];
    const nodes = approvalLists(list, NOW, { review: (s, id) => reviewed.push(`${s} ${id}`), carryOut: (u) => opened.push(u) });
    const root = new FakeElement('div');
    for (const n of nodes) root.appendChild(n as unknown as FakeElement);
    expect(byId(root, 'approvals-awaiting-title').textContent).toBe('Requests waiting for your approval (1)');
    const awaiting = byId(root, 'approvals-awaiting');
    expect(awaiting.childNodes.map((li) => (li as FakeElement).getAttribute('data-approval-id'))).toEqual(['apr_wait']);
    expect(awaiting.textContent).toMatch(/^Demo projectsDELETE \/api\/projects\/7Requested by alice · expires in 60 min 0 s/);
    const [review] = buttons(awaiting);
    expect(review!.textContent).toBe('Review');
    review!.listeners.get('click')!();
    expect(reviewed).toEqual([`${SITE} apr_wait`]);

    const yours = byId(root, 'approvals-yours');
    expect(yours.childNodes.map((li) => (li as FakeElement).getAttribute('data-state'))).toEqual(['approved', 'denied']);
    expect(
      els(yours)
        .filter((e) => e.className.includes('approval-state'))
        .map((e) => e.textContent),
    ).toEqual(['Approved — carry it out', 'Denied']);
    // Only the approved one can be carried out, and it opens the site's own page of it.
    const carry = buttons(yours);
    expect(carry.map((b) => b.textContent)).toEqual(['Carry it out']);
    carry[0]!.listeners.get('click')!();
    expect(opened).toEqual([`${SITE}/.stepgate/approvals/apr_ok`]);
  });

  it('show nothing when there is nothing', () => {
    expect(
      approvalLists([{ site: SITE, awaiting_you: [], yours: [] }], NOW, { review: () => undefined, carryOut: () => undefined }),
    ).toEqual([]);
  });
});
