/**
 * canonicalJson defines the audit chain hash (and policy hashes): the faster one-pass version must
 * give byte-for-byte the output of the first version, kept here as the reference, on generated
 * events and on the edge cases (key order by UTF-16 code units, surrogates, undefined members,
 * sparse arrays, -0, large numbers), and throw the same TypeErrors.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../edge/audit/canonical-json';
import { referenceCanonicalJson } from '../support/reference-canonical-json';
import { mulberry32 as rng } from '../support/mulberry32';

/** Characters that sort or escape differently: ASCII, controls, quotes, BMP, astral pairs, lone surrogates. */
const ALPHABET = [
  'a',
  'b',
  'Z',
  '_',
  '0',
  '9',
  ' ',
  '"',
  '\\',
  '\n',
  '\u0000',
  '\u001f',
  '\u007f',
  'é',
  'ÿ',
  '中',
  '\uffff',
  '\ud83d\ude00',
  '\ud800',
  '\udfff',
  '\ue000',
  '\u2028',
];

function randomString(r: () => number, max = 8): string {
  let s = '';
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)]!;
  return s;
}

const NUMBERS = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 2 ** 53, -(2 ** 53) - 2, Number.MAX_VALUE, Number.MIN_VALUE, 123456789.125, 5e-324];

function randomValue(r: () => number, depth: number): unknown {
  const pick = r();
  if (depth > 3 || pick < 0.45) {
    const p = r();
    if (p < 0.4) return randomString(r);
    if (p < 0.7) return r() < 0.5 ? NUMBERS[Math.floor(r() * NUMBERS.length)] : Math.floor(r() * 1e6) - 5e5;
    if (p < 0.85) return r() < 0.5;
    return null;
  }
  if (pick < 0.65) return Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  const n = Math.floor(r() * 7);
  for (let i = 0; i < n; i++)
    o[r() < 0.2 ? String(Math.floor(r() * 20)) : randomString(r, 5)] = r() < 0.1 ? undefined : randomValue(r, depth + 1);
  return o;
}

/** An audit event as the sequencer seals it, with optional members sometimes absent or undefined. */
function randomEvent(r: () => number, seq: number): Record<string, unknown> {
  return {
    v: 1,
    id: crypto.randomUUID(),
    tenant: r() < 0.9 ? 'default' : randomString(r),
    seq,
    time: new Date(1.7e12 + Math.floor(r() * 1e11)).toISOString(),
    salt: randomString(r, 22),
    type: ['factor.verified', 'request.forwarded', 'grant.used', 'request.denied'][Math.floor(r() * 4)],
    outcome: ['success', 'failure', 'denied', 'info'][Math.floor(r() * 4)],
    actor: r() < 0.2 ? null : `user-${Math.floor(r() * 50)}@example.com`,
    via: 'session',
    app: r() < 0.1 ? undefined : 'app.test',
    ...(r() < 0.3 ? { org: r() < 0.5 ? undefined : randomString(r) } : {}),
    ...(r() < 0.5 ? { factor: r() < 0.5 ? 'totp' : 'webauthn' } : {}),
    request: { method: 'POST', path: `/api/${randomString(r)}`, ip: `203.0.113.${Math.floor(r() * 255)}`, user_agent: randomString(r, 30) },
    details: randomValue(r, 1),
  };
}

const same = (v: unknown) => expect(canonicalJson(v)).toBe(referenceCanonicalJson(v));

describe('canonicalJson', () => {
  it('matches the reference byte for byte on 3,000 generated events and 3,000 random values', () => {
    const r = rng(15);
    for (let i = 0; i < 3000; i++) {
      same(randomEvent(r, i + 1));
      same(randomValue(r, 0));
    }
  });

  it('matches on an event after a JSON round trip (as verify sees it) and on real-world nesting', () => {
    const r = rng(7);
    for (let i = 0; i < 200; i++) same(JSON.parse(JSON.stringify(randomEvent(r, i))));
    same({ a: [{ z: 1, y: [2, { x: null }] }], b: { c: { d: { e: 'deep' } } } });
  });

  it('sorts keys by UTF-16 code units, not code points or locale', () => {
    // U+FFFF sorts after an astral character's high surrogate (U+D83D) in code units; before it in code points.
    const o = { '\uffff': 1, '\ud83d\ude00': 2, '\ue000': 3, é: 4, Z: 5, a: 6, '10': 7, '9': 8, '': 9, aa: 10, 'a\u0000': 11 };
    same(o);
    expect(canonicalJson(o)).toBe('{"":9,"10":7,"9":8,"Z":5,"a":6,"a\\u0000":11,"aa":10,"é":4,"\ud83d\ude00":2,"\ue000":3,"\uffff":1}');
  });

  it('sorts objects with many keys the same way (the other sort path)', () => {
    const r = rng(3);
    for (let i = 0; i < 50; i++) {
      const o: Record<string, unknown> = {};
      for (let k = 0; k < 40 + i; k++) o[randomString(r, 6)] = k;
      same(o);
    }
  });

  it('escapes strings and lone surrogates as JSON.stringify does', () => {
    for (const s of [
      '',
      '"',
      '\\',
      '\n\r\t\b\f',
      '\u0000\u001f',
      '\u2028\u2029',
      '\ud800',
      '\udfff',
      'a\ud83d',
      '\ud83d\ude00',
      '</script>',
    ])
      same({ [s]: s, list: [s] });
  });

  it('omits undefined members, keeps null, and writes -0 as 0 and numbers as JSON does', () => {
    same({ a: undefined, b: null, c: -0, d: 1e21, e: 2 ** 53 + 2, f: -1.5e-7, g: Number.MAX_VALUE, h: 0.1 + 0.2 });
    expect(canonicalJson({ a: undefined, b: null, c: -0 })).toBe('{"b":null,"c":0}');
    expect(canonicalJson([-0, 1e21, 5e-324])).toBe('[0,1e+21,5e-324]');
    same({});
    same([]);
    same([[[]], {}, [{}]]);
  });

  it('treats non-plain objects as their own enumerable keys, as before (no toJSON)', () => {
    same(new Date(0));
    same({ d: new Date(0), m: new Map([[1, 2]]) });
    same(Object.assign(Object.create(null) as object, { b: 1, a: 2 }));
    same(Object.create({ inherited: 1 }) as object);
  });

  it('writes a sparse array hole as the reference did, and throws on an explicit undefined', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the case under test
    const sparse = [1, , 2];
    same(sparse);
    same(new Array(3));
  });

  it('throws the same TypeErrors', () => {
    const cases: unknown[] = [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      { a: Number.NEGATIVE_INFINITY },
      [undefined],
      [1, undefined],
      { a: [undefined] },
      undefined,
      () => 1,
      { f: () => 1 },
      [Symbol('s')],
      10n,
      { n: 10n },
    ];
    for (const c of cases) {
      let expected: unknown;
      try {
        referenceCanonicalJson(c);
      } catch (e) {
        expected = e;
      }
      expect(expected).toBeInstanceOf(TypeError);
      expect(() => canonicalJson(c)).toThrow(TypeError);
      expect(() => canonicalJson(c)).toThrow((expected as Error).message);
    }
  });
});
