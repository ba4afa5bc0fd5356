/**
 * @module Text a person approves, made visible: invisible, bidirectional-control and control
 * characters in a path, query, host or body summary become marked escapes (`\u{202E}`), so what a
 * person reads is what runs. Used by the edge's approval page, its audit console and the
 * extension's prompt. Confusable letters from other scripts are left alone: they are visible, and
 * ordinary text (Müller, 東京, مرحبا) must stay as it is.
 */

/** A piece of text as shown: ordinary text, or one hidden character shown escaped and marked. */
export type DisplaySegment =
  | { hidden: false; text: string }
  | {
      hidden: true;
      /** What is shown instead of the character: `\u{202E}`. */
      text: string;
      codePoint: number;
      /** For a tooltip: "bidirectional control U+202E RIGHT-TO-LEFT OVERRIDE". */
      label: string;
    };

/** The warning above an action that contains a hidden character; each surface adds what to do. */
export const HIDDEN_CHARACTERS_WARNING = 'This request contains hidden characters, shown marked below.';

/**
 * Characters a person cannot see, or that change how the text around them is shown: controls (C0,
 * DEL, C1), format characters (bidi embeddings, overrides, isolates and marks, zero-width
 * characters, soft hyphen, interlinear annotations, tags), line and paragraph separators, unpaired
 * surrogates, noncharacters, every default-ignorable code point (variation selectors, Hangul
 * fillers, combining grapheme joiner, …) and the blank Braille pattern. `HIDDEN_CLASS` is the body
 * of the character class (`u` flag), for patterns that refuse them (policy path patterns).
 */
export const HIDDEN_CLASS = String.raw`\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}\u2800`;
const HIDDEN = new RegExp(`[${HIDDEN_CLASS}]`, 'gu');

const BIDI = new Set([0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]);

/** Names of the common ones (Unicode character names, C0 controls by their usual names). */
// biome-ignore-start lint/complexity/useSimpleNumberKeys: code points in hex, as the Unicode charts write them; only read by number
const NAMES: Record<number, string> = {
  0x00: 'NULL',
  0x07: 'BELL',
  0x08: 'BACKSPACE',
  0x09: 'CHARACTER TABULATION',
  0x0a: 'LINE FEED',
  0x0b: 'LINE TABULATION',
  0x0c: 'FORM FEED',
  0x0d: 'CARRIAGE RETURN',
  0x1b: 'ESCAPE',
  0x7f: 'DELETE',
  0x85: 'NEXT LINE',
  0xad: 'SOFT HYPHEN',
  0x034f: 'COMBINING GRAPHEME JOINER',
  0x061c: 'ARABIC LETTER MARK',
  0x115f: 'HANGUL CHOSEONG FILLER',
  0x1160: 'HANGUL JUNGSEONG FILLER',
  0x17b4: 'KHMER VOWEL INHERENT AQ',
  0x17b5: 'KHMER VOWEL INHERENT AA',
  0x180e: 'MONGOLIAN VOWEL SEPARATOR',
  0x200b: 'ZERO WIDTH SPACE',
  0x200c: 'ZERO WIDTH NON-JOINER',
  0x200d: 'ZERO WIDTH JOINER',
  0x200e: 'LEFT-TO-RIGHT MARK',
  0x200f: 'RIGHT-TO-LEFT MARK',
  0x2028: 'LINE SEPARATOR',
  0x2029: 'PARAGRAPH SEPARATOR',
  0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING',
  0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
  0x2060: 'WORD JOINER',
  0x2061: 'FUNCTION APPLICATION',
  0x2062: 'INVISIBLE TIMES',
  0x2063: 'INVISIBLE SEPARATOR',
  0x2064: 'INVISIBLE PLUS',
  0x2066: 'LEFT-TO-RIGHT ISOLATE',
  0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE',
  0x2069: 'POP DIRECTIONAL ISOLATE',
  0x2800: 'BRAILLE PATTERN BLANK',
  0x3164: 'HANGUL FILLER',
  0xfeff: 'ZERO WIDTH NO-BREAK SPACE',
  0xffa0: 'HALFWIDTH HANGUL FILLER',
  0xfff9: 'INTERLINEAR ANNOTATION ANCHOR',
  0xfffa: 'INTERLINEAR ANNOTATION SEPARATOR',
  0xfffb: 'INTERLINEAR ANNOTATION TERMINATOR',
  0xe0001: 'LANGUAGE TAG',
  0xe007f: 'CANCEL TAG',
};
// biome-ignore-end lint/complexity/useSimpleNumberKeys: end of the table

const nameOf = (cp: number): string | undefined => {
  if (cp in NAMES) return NAMES[cp];
  if (cp >= 0xfe00 && cp <= 0xfe0f) return `VARIATION SELECTOR-${cp - 0xfe00 + 1}`;
  if (cp >= 0xe0100 && cp <= 0xe01ef) return `VARIATION SELECTOR-${cp - 0xe0100 + 17}`;
  // Tag characters mirror ASCII and can spell hidden text: say which letter each one is.
  if (cp >= 0xe0020 && cp <= 0xe007e) return `TAG ${JSON.stringify(String.fromCharCode(cp - 0xe0000))}`;
  return undefined;
};

const kindOf = (cp: number, ch: string): string => {
  if (BIDI.has(cp)) return 'bidirectional control';
  if (/\p{Cc}/u.test(ch)) return 'control character';
  if (cp === 0x2028 || cp === 0x2029) return 'line break character';
  if (/\p{Cs}/u.test(ch)) return 'unpaired surrogate';
  if (/\p{Noncharacter_Code_Point}/u.test(ch)) return 'noncharacter';
  return 'invisible character';
};

const hex = (cp: number): string => cp.toString(16).toUpperCase().padStart(4, '0');

/** How one hidden character is shown: `\u{202E}`. */
export const escapeCodePoint = (cp: number): string => `\\u{${hex(cp)}}`;

/**
 * Split text for display: ordinary runs unchanged, each hidden character its own marked segment.
 * Renderers still escape every segment for their medium (HTML templates, text nodes).
 */
export function displaySegments(text: string): DisplaySegment[] {
  const out: DisplaySegment[] = [];
  let last = 0;
  for (const m of text.matchAll(HIDDEN)) {
    if (m.index > last) out.push({ hidden: false, text: text.slice(last, m.index) });
    const ch = m[0];
    const cp = ch.codePointAt(0)!;
    const name = nameOf(cp);
    out.push({ hidden: true, text: escapeCodePoint(cp), codePoint: cp, label: `${kindOf(cp, ch)} U+${hex(cp)}${name ? ` ${name}` : ''}` });
    last = m.index + ch.length;
  }
  if (last < text.length) out.push({ hidden: false, text: text.slice(last) });
  return out;
}

/** Whether any of these texts has a character `displaySegments` marks. */
export const hasHiddenCharacters = (...texts: (string | null | undefined)[]): boolean =>
  texts.some((t) => typeof t === 'string' && t.search(HIDDEN) >= 0);

/** The same text as plain text, each hidden character replaced by its escape (where marks cannot be styled). */
export const showHiddenCharacters = (text: string): string =>
  displaySegments(text)
    .map((s) => s.text)
    .join('');
