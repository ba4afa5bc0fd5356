/** Hidden characters on approval surfaces: every invisible, bidi and control character is marked; ordinary text of any script is not. */
import { describe, expect, it } from 'vitest';
import { displaySegments, escapeCodePoint, hasHiddenCharacters, showHiddenCharacters } from '../../shared/visible-text';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Every character the finding lists, by range. */
const HIDDEN_RANGES: [string, number[]][] = [
  ['bidi embeddings and overrides U+202A–U+202E', range(0x202a, 0x202e)],
  ['bidi isolates U+2066–U+2069', range(0x2066, 0x2069)],
  ['bidi marks U+200E/U+200F and U+061C', [0x200e, 0x200f, 0x061c]],
  ['zero-width U+200B–U+200D', range(0x200b, 0x200d)],
  ['word joiner and invisible operators U+2060–U+2064', range(0x2060, 0x2064)],
  ['byte order mark U+FEFF', [0xfeff]],
  ['soft hyphen U+00AD', [0x00ad]],
  ['variation selectors U+FE00–U+FE0F', range(0xfe00, 0xfe0f)],
  ['variation selectors supplement U+E0100–U+E01EF', range(0xe0100, 0xe01ef)],
  ['Mongolian free variation selectors and vowel separator U+180B–U+180F', range(0x180b, 0x180f)],
  ['tag characters U+E0000–U+E007F', range(0xe0000, 0xe007f)],
  ['C0 controls U+0000–U+001F', range(0x0000, 0x001f)],
  ['DEL and C1 controls U+007F–U+009F', range(0x007f, 0x009f)],
  ['Hangul fillers U+115F, U+1160, U+3164, U+FFA0', [0x115f, 0x1160, 0x3164, 0xffa0]],
  ['line and paragraph separators U+2028/U+2029', [0x2028, 0x2029]],
  ['combining grapheme joiner, Khmer inherent vowels', [0x034f, 0x17b4, 0x17b5]],
  ['interlinear annotations U+FFF9–U+FFFB', range(0xfff9, 0xfffb)],
  ['noncharacters', [0xfdd0, 0xfffe, 0xffff, 0x1fffe]],
  ['blank Braille pattern', [0x2800]],
];

describe('displaySegments', () => {
  it.each(HIDDEN_RANGES)('marks every character of %s, escaped, between ordinary text', (_name, cps) => {
    for (const cp of cps) {
      const ch = String.fromCodePoint(cp);
      const segs = displaySegments(`a${ch}b`);
      const hex = cp.toString(16).toUpperCase().padStart(4, '0');
      expect(segs, `U+${hex}`).toEqual([
        { hidden: false, text: 'a' },
        { hidden: true, text: `\\u{${hex}}`, codePoint: cp, label: expect.stringContaining(`U+${hex}`) },
        { hidden: false, text: 'b' },
      ]);
      // Nothing invisible survives in what is shown.
      expect(segs.map((s) => s.text).join(''), `U+${hex}`).not.toContain(ch);
      expect(hasHiddenCharacters('x', `a${ch}b`), `U+${hex}`).toBe(true);
    }
  });

  it('names the common ones and says what kind of character each is', () => {
    const label = (ch: string) => (displaySegments(ch)[0] as { label: string }).label;
    expect(label('\u202E')).toBe('bidirectional control U+202E RIGHT-TO-LEFT OVERRIDE');
    expect(label('\u2067')).toBe('bidirectional control U+2067 RIGHT-TO-LEFT ISOLATE');
    expect(label('\u200B')).toBe('invisible character U+200B ZERO WIDTH SPACE');
    expect(label('\uFEFF')).toBe('invisible character U+FEFF ZERO WIDTH NO-BREAK SPACE');
    expect(label('\u00AD')).toBe('invisible character U+00AD SOFT HYPHEN');
    expect(label('\uFE0F')).toBe('invisible character U+FE0F VARIATION SELECTOR-16');
    expect(label('\u{E0100}')).toBe('invisible character U+E0100 VARIATION SELECTOR-17');
    expect(label('\u{E0041}')).toBe('invisible character U+E0041 TAG "A"');
    expect(label('\u3164')).toBe('invisible character U+3164 HANGUL FILLER');
    expect(label('\n')).toBe('control character U+000A LINE FEED');
    expect(label('\u0085')).toBe('control character U+0085 NEXT LINE');
    expect(label('\u2028')).toBe('line break character U+2028 LINE SEPARATOR');
    expect(label('\uD800')).toBe('unpaired surrogate U+D800');
    expect(label('\u0001')).toBe('control character U+0001');
  });

  it('escapes each hidden character on its own, and a whole string as plain text', () => {
    expect(displaySegments('/api/projects/\u202E1/eteled')).toEqual([
      { hidden: false, text: '/api/projects/' },
      { hidden: true, text: '\\u{202E}', codePoint: 0x202e, label: 'bidirectional control U+202E RIGHT-TO-LEFT OVERRIDE' },
      { hidden: false, text: '1/eteled' },
    ]);
    expect(displaySegments('\u200B\u200B').map((s) => s.hidden)).toEqual([true, true]);
    expect(showHiddenCharacters('rm\u200B -rf\u{E0041}')).toBe('rm\\u{200B} -rf\\u{E0041}');
    expect(escapeCodePoint(0x9)).toBe('\\u{0009}');
    // An unpaired surrogate (a body value cut in the middle of an emoji) is shown, not dropped.
    expect(showHiddenCharacters('ok \uD83D')).toBe('ok \\u{D83D}');
  });

  it.each([
    ['ASCII', '/api/projects/1?force=true&name=a b'],
    ['Latin with accents', 'Müller, Ångström, façade, Łódź'],
    ['CJK', '東京都 渋谷区 서울 ひらがな カタカナ'],
    ['Arabic and Hebrew letters', 'مرحبا بالعالم שלום עולם'],
    ['Devanagari, Thai, Greek, Cyrillic', 'नमस्ते สวัสดี Ελλάδα Москва'],
    ['emoji without joiners or selectors', '🚀 👍🏽 ✓'],
    ['visible punctuation and spaces', '— … “quoted” «guillemets» a\u00A0b a\u3000b'],
    ['a literal backslash escape typed as text', 'say \\u{202E}'],
  ])('leaves %s untouched', (_name, text) => {
    expect(displaySegments(text)).toEqual([{ hidden: false, text }]);
    expect(hasHiddenCharacters(text)).toBe(false);
    expect(showHiddenCharacters(text)).toBe(text);
  });

  it('has nothing to show for an empty string, and ignores absent texts', () => {
    expect(displaySegments('')).toEqual([]);
    expect(hasHiddenCharacters(null, undefined, '')).toBe(false);
  });
});
