/**
 * The approval window's view of a verified prompt, rendered into a minimal DOM stand-in: hidden
 * characters in the action, body summary and origin are shown as marked escapes under a warning,
 * never raw, and everything stays text nodes (no HTML is parsed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifiedPrompt } from '../../shared/wire-shapes';
import { facts, hiddenCharactersWarning } from '../../extension/src/prompt/prompt-view';
import { marked } from '../../extension/src/lib/marked-text';

/** Just what extension/src/lib/dom.ts `h` uses: elements with attributes, listeners and children, and text nodes. */
class FakeText {
  readonly nodeType = 3;
  constructor(readonly data: string) {}
  get textContent(): string {
    return this.data;
  }
}
class FakeElement {
  readonly nodeType = 1;
  className = '';
  readonly attributes = new Map<string, string>();
  childNodes: (FakeElement | FakeText)[] = [];
  constructor(readonly tagName: string) {}
  setAttribute(k: string, v: string): void {
    this.attributes.set(k, v);
  }
  getAttribute(k: string): string | null {
    return this.attributes.get(k) ?? null;
  }
  addEventListener(): void {}
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
const byId = (n: FakeNode, id: string): FakeElement =>
  all(n).find((e): e is FakeElement => e instanceof FakeElement && e.getAttribute('id') === id)!;
const marks = (n: FakeNode) =>
  all(n)
    .filter((e): e is FakeElement => e instanceof FakeElement && e.tagName === 'mark')
    .map((m) => ({ class: m.className, title: m.getAttribute('title'), text: m.textContent }));
/** Every string put on the page, as text nodes. */
const texts = (n: FakeNode): string[] => all(n).flatMap((e) => (e instanceof FakeText ? [e.data] : []));

const SITE = 'http://localhost:8787';
const NOW = Date.parse('2026-11-29T12:00:00Z');
const prompt = (over: Partial<VerifiedPrompt> = {}): VerifiedPrompt => ({
  id: 'c'.repeat(22),
  rule: 'delete-project',
  bind: 'action',
  factors: ['webauthn', 'totp', 'recovery'],
  max_age: 300,
  action: { method: 'DELETE', host: 'localhost:8787', path: '/api/projects/1', query: '', bodySha256: '' },
  matched_method: 'DELETE',
  body: null,
  requested_from: { page: SITE, ip: null, user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0' },
  created_at: new Date(NOW - 1000).toISOString(),
  expires_at: new Date(NOW + 60_000).toISOString(),
  held: true,
  hold_until: new Date(NOW + 59_000).toISOString(),
  other_session: false,
  ...over,
});

const RLO = { class: 'hidden-char', title: 'bidirectional control U+202E RIGHT-TO-LEFT OVERRIDE', text: '\\u{202E}' };
const ZWSP = { class: 'hidden-char', title: 'invisible character U+200B ZERO WIDTH SPACE', text: '\\u{200B}' };
const HIDDEN = /[\u202E\u200B\u2066\u0000]/;

describe('the prompt view marks hidden characters', () => {
  it('shows U+202E and U+200B in the body summary and origin as marked escapes, under a warning, never raw', () => {
    const p = prompt({
      action: {
        method: 'DELETE',
        host: 'localhost:8787',
        path: '/api/projects/%E2%80%AE1-eteled',
        query: 'note=%E2%80%8B',
        bodySha256: '',
      },
      body: {
        kind: 'json',
        bytes: 60,
        fields: [
          { name: 'reason', value: 'tidy\u200Bup' },
          { name: '\u202Enosaer', value: '\u202Eevol' },
        ],
        truncated: false,
      },
      requested_from: { page: SITE, ip: '203.0.113.9', user_agent: 'curl\u0000\u2066' },
    });
    const view = facts(p, SITE, NOW) as unknown as FakeElement;
    expect(texts(view).join('')).not.toMatch(HIDDEN);
    const fields = byId(view, 'body-fields');
    expect(fields.childNodes.map((li) => li.textContent)).toEqual(['reason = tidy\\u{200B}up', '\\u{202E}nosaer = \\u{202E}evol']);
    expect(marks(fields)).toEqual([ZWSP, RLO, RLO]);
    expect(byId(view, 'from').textContent).toBe('http://localhost:8787 · 203.0.113.9 · curl\\u{0000}\\u{2066}');
    expect(marks(byId(view, 'from')).map((m) => m.title)).toEqual([
      'control character U+0000 NULL',
      'bidirectional control U+2066 LEFT-TO-RIGHT ISOLATE',
    ]);
    // The path and query are signed percent-encoded: shown as such, nothing to mark there.
    expect(byId(view, 'request').textContent).toBe('Delete /api/projects/%E2%80%AE1-eteled?note=%E2%80%8B');
    const warning = hiddenCharactersWarning(p) as unknown as FakeElement;
    expect(warning.getAttribute('id')).toBe('hidden-chars');
    expect(warning.getAttribute('role')).toBe('alert');
    expect(warning.textContent).toBe('This request contains hidden characters, shown marked below. If you did not expect them, deny it.');
  });

  it.each([
    ['the app', { action: { method: 'DELETE', host: 'localhost:8787\u200B', path: '/x', query: '', bodySha256: '' } }, 'app'],
    [
      'the method and path',
      { action: { method: 'DELETE', host: 'localhost:8787', path: '/api/projects/\u202E1', query: '', bodySha256: '' } },
      'request',
    ],
    ['the body type', { body: { kind: 'text/plain\u200B', bytes: 3, fields: [], truncated: false } }, 'body'],
    ['the page it came from', { requested_from: { page: 'https://evil.test\u202E', ip: null, user_agent: null } }, 'from'],
  ] as [string, Partial<VerifiedPrompt>, string][])('warns about and marks a hidden character in %s', (_name, over, id) => {
    const p = prompt(over);
    const view = facts(p, SITE, NOW) as unknown as FakeElement;
    expect(marks(byId(view, id))).toHaveLength(1);
    expect(texts(view).join('')).not.toMatch(HIDDEN);
    expect(hiddenCharactersWarning(p)).not.toBeNull();
  });

  it('keeps a foreign page flagged, and its marks, with the note after them', () => {
    const from = byId(
      facts(
        prompt({ requested_from: { page: 'https://evil.test\u202E', ip: null, user_agent: null } }),
        SITE,
        NOW,
      ) as unknown as FakeElement,
      'from',
    );
    expect(from.className).toBe('error');
    expect(from.textContent).toBe('https://evil.test\\u{202E} — not a page of this site');
  });

  it('shows ordinary text of any script as it is, with no marks and no warning', () => {
    const p = prompt({
      action: { method: 'DELETE', host: 'localhost:8787', path: '/api/projects/1', query: 'q=1', bodySha256: '' },
      body: {
        kind: 'json',
        bytes: 60,
        fields: [
          { name: 'owner', value: 'Müller' },
          { name: 'city', value: '東京' },
          { name: 'note', value: 'مرحبا' },
        ],
        truncated: false,
      },
    });
    const view = facts(p, SITE, NOW) as unknown as FakeElement;
    expect(marks(view)).toEqual([]);
    expect(byId(view, 'body-fields').childNodes.map((li) => li.textContent)).toEqual(['owner = Müller', 'city = 東京', 'note = مرحبا']);
    expect(hiddenCharactersWarning(p)).toBeNull();
  });

  it('puts markup from the prompt on the page as text, never as elements', () => {
    const nodes = marked('<img src=x onerror=alert(1)>\u202E') as unknown as FakeNode[];
    expect(nodes[0]).toBeTypeOf('string');
    expect(nodes[0]).toBe('<img src=x onerror=alert(1)>');
    expect((nodes[1] as FakeElement).tagName).toBe('mark');
    const view = facts(
      prompt({ body: { kind: 'json', bytes: 9, fields: [{ name: '<b>x</b>', value: '<img src=x>' }], truncated: false } }),
      SITE,
      NOW,
    ) as unknown as FakeElement;
    expect(all(view).filter((e) => e instanceof FakeElement && ['img', 'b'].includes(e.tagName))).toEqual([]);
    expect(byId(view, 'body-fields').textContent).toBe('<b>x</b> = <img src=x>');
  });
});

describe('the prompt says the request in words, as the pages do', () => {
  it('"Delete /api/projects/1"; a form\'s method override is one plain line; no HTTP method in the text', () => {
    const plain = facts(prompt(), SITE, NOW) as unknown as FakeElement;
    expect(byId(plain, 'request').textContent).toBe('Delete /api/projects/1');
    expect(byId(plain, 'method-note')).toBeUndefined();
    const form = facts(
      prompt({ action: { method: 'POST', host: 'localhost:8787', path: '/api/projects/1', query: '', bodySha256: '' } }),
      SITE,
      NOW,
    ) as unknown as FakeElement;
    expect(byId(form, 'request').textContent).toBe('Delete /api/projects/1');
    expect(byId(form, 'method-note').textContent).toBe('Sent by a form that asks the app to delete.');
    expect(texts(form).join(' ')).not.toMatch(/\b(POST|DELETE)\b|Acts as/);
  });

  it('keeps the rule id behind a "Details" disclosure, opened only when it carries a hidden character', () => {
    const view = facts(prompt(), SITE, NOW) as unknown as FakeElement;
    const details = byId(view, 'details');
    expect(details.tagName).toBe('details');
    expect(details.childNodes[0]).toMatchObject({ tagName: 'summary', textContent: 'Details' });
    expect(byId(details, 'rule').textContent).toBe('delete-project');
    expect(details.getAttribute('open')).toBeNull();
    const hidden = facts(prompt({ rule: 'delete\u202Eproject' }), SITE, NOW) as unknown as FakeElement;
    expect(byId(hidden, 'details').getAttribute('open')).toBe('');
  });

  it('"waiting until" gives the UTC time beside the local one', () => {
    const was = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      const view = facts(prompt(), SITE, NOW) as unknown as FakeElement;
      expect(byId(view, 'waiting').textContent).toMatch(/ until .*7:00.*\(2026-11-29 12:00 UTC\)\.$/);
    } finally {
      if (was === undefined) delete process.env.TZ;
      else process.env.TZ = was;
    }
  });
});
