/**
 * @module Reference readers of `_method` in a query string or a form body, one per origin stack, written
 * from each framework's documented or source behaviour rather than from Stepgate's code:
 *
 * - WHATWG `URLSearchParams` and Node's `querystring` (Express `urlencoded({ extended: false })`),
 * - `qs` semantics (Express `urlencoded({ extended: true })`): `[_method]`, `_method[]`, `]=` splits,
 * - PHP (`$_POST`/`$_GET`): `&` only, names URL-decoded, cut at NUL, leading spaces dropped,
 *   `.` and ` ` turned into `_` before the first `[`, an unmatched `[` turned into `_`,
 * - Rack 2 (`Rack::MethodOverride` reads `req.POST["_method"]`): `&` and `;`, leading brackets dropped.
 *
 * Each returns every value its framework could take as `_method` (conservatively: arrays and nested
 * values count too), so "Stepgate claims every method a reference finds" is a safe oracle.
 */
import { parse as parseQuerystring } from 'node:querystring';

const hexVal = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1);

/** PHP's `urldecode`: `+` is a space, `%XX` a byte, any other `%` stays. Bytes read as UTF-8. */
export function phpUrlDecode(s: string): string {
  const src = new TextEncoder().encode(s);
  const out: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x2b) out.push(0x20);
    else if (c === 0x25 && i + 2 < src.length && hexVal(src[i + 1]!) >= 0 && hexVal(src[i + 2]!) >= 0) {
      out.push(hexVal(src[i + 1]!) * 16 + hexVal(src[i + 2]!));
      i += 2;
    } else out.push(c);
  }
  return new TextDecoder().decode(new Uint8Array(out));
}

/**
 * The variable PHP registers for a (decoded) parameter name, `php_register_variable_ex`: the name
 * is a C string (cut at NUL); leading spaces are skipped; up to the first `[`, ` ` and `.` become
 * `_`; `name[...]` is an array under `name`, and a `[` with no `]` after it becomes `_`.
 */
export function phpVariable(decoded: string): { root: string; array: boolean } | null {
  let name = decoded.split('\0')[0]!.replace(/^ +/, '');
  let root = '';
  let i = 0;
  for (; i < name.length; i++) {
    const c = name[i]!;
    if (c === '[') break;
    root += c === ' ' || c === '.' ? '_' : c;
  }
  if (i === name.length) return root === '' ? null : { root, array: false };
  if (root === '') return null;
  if (name.indexOf(']', i + 1) < 0) {
    // Not an index: the '[' becomes '_' and the rest is kept as it is.
    name = `${root}_${name.slice(i + 1)}`;
    return { root: name, array: false };
  }
  return { root, array: true };
}

/** PHP `$_POST` for a urlencoded body (and `$_GET`): every value registered under `_method`. */
export function phpFormMethods(text: string): string[] {
  const out: string[] = [];
  let last: string | undefined;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const v = phpVariable(phpUrlDecode(eq < 0 ? pair : pair.slice(0, eq)));
    if (v?.root !== '_method') continue;
    const value = eq < 0 ? '' : phpUrlDecode(pair.slice(eq + 1));
    if (v.array) out.push(value);
    else last = value; // a plain duplicate overwrites
  }
  if (last !== undefined) out.push(last);
  return out;
}

/** Rack 2's `unescape` is strict (a bad escape is a 400); lenient here, which only finds more. */
const lenient = (s: string): string => {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return phpUrlDecode(s);
  }
};

/**
 * Rack 2 `normalize_params`: the key is the first run of non-bracket characters after leading
 * brackets; what follows it (`after`) decides the shape: "" is a plain string.
 */
export function rackKey(name: string): { root: string; after: string } {
  const m = /^[[\]]*([^[\]]+)\]*/.exec(name);
  return m ? { root: m[1]!, after: name.slice(m[0].length) } : { root: '', after: name };
}
export const rackRoot = (name: string): string => rackKey(name).root;

/**
 * Rack 2 `parse_nested_query` on `&` and `;`, as `Rack::MethodOverride` reads it
 * (`req.POST["_method"].to_s.upcase`): only a plain string under `_method` is a method (an array
 * or hash stringifies to `["DELETE"]`, which is none). The last duplicate wins; both are kept here.
 */
export function rackFormMethods(text: string): string[] {
  const out: string[] = [];
  for (const pair of text.split(/[&;] */)) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const k = rackKey(lenient(eq < 0 ? pair : pair.slice(0, eq)));
    if (k.root === '_method' && k.after === '') out.push(eq < 0 ? '' : lenient(pair.slice(eq + 1)));
  }
  return out;
}

/** qs's decoder: `+` is a space, then `decodeURIComponent`, or the string unchanged if that throws. */
const qsDecode = (s: string): string => {
  const plus = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
};

/** qs `parseKeys`: the parent before the first `[...]`, each `[...]` (depth 5), and any rest as one more key. */
export function qsKeys(key: string): string[] {
  const first = /(\[[^[\]]*])/.exec(key);
  const parent = first ? key.slice(0, first.index) : key;
  const keys: string[] = [];
  if (parent) keys.push(parent);
  const child = /(\[[^[\]]*])/g;
  let segment: RegExpExecArray | null = null;
  for (let i = 0; i < 5; i++) {
    segment = child.exec(key);
    if (segment === null) break;
    keys.push(segment[1]!);
  }
  if (segment) keys.push(`[${key.slice(segment.index)}]`);
  return keys;
}

/** qs's top-level key: the parent, or the first bracket's content when nothing precedes it. */
export function qsRoot(key: string): string {
  const first = qsKeys(key)[0] ?? '';
  return first.startsWith('[') && first.endsWith(']') ? first.slice(1, -1) : first;
}

/**
 * qs `parse` (Express's extended urlencoded parser) as the method-override getter reads
 * `req.body._method`: a string, or the first element of an array (`_method[]`, `_method[0]`, or
 * duplicates); anything nested deeper is an object, not a method. Every candidate is kept.
 */
export function qsFormMethods(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split('&')) {
    if (part === '') continue;
    const be = part.indexOf(']=');
    const pos = be === -1 ? part.indexOf('=') : be + 1;
    const keys = qsKeys(qsDecode(pos === -1 ? part : part.slice(0, pos)));
    if (keys.length === 0 || qsRoot(keys[0]!) !== '_method') continue;
    const shape = keys.slice(1);
    if (shape.length === 0 || (shape.length === 1 && /^\[\d*\]$/.test(shape[0]!)))
      out.push(pos === -1 ? '' : qsDecode(part.slice(pos + 1)));
  }
  return out;
}

/** `URLSearchParams` (WHATWG form parsing; Hono's `parseBody`, Deno, Workers): exact name. */
export const urlSearchParamsMethods = (text: string): string[] => new URLSearchParams(text).getAll('_method');

/** Node's `querystring` (Express `urlencoded({ extended: false })`): exact name. */
export function querystringMethods(text: string): string[] {
  const v = parseQuerystring(text)._method;
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Every reference reading of a urlencoded text, by reader name. */
export const FORM_READERS: Record<string, (text: string) => string[]> = {
  urlSearchParams: urlSearchParamsMethods,
  nodeQuerystring: querystringMethods,
  qs: qsFormMethods,
  php: phpFormMethods,
  rack: rackFormMethods,
};

/** The methods an origin would take from `_method` values: upper-cased as Rack, Laravel and Express do, tokens only. */
export function overrideMethods(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    const m = v.toUpperCase();
    // Rack checks HTTP_METHODS, Symfony /^[A-Z]++$/, Express its METHODS list: a method is a token.
    if (/^[A-Z][A-Z-]*$/.test(m)) out.push(m);
  }
  return out;
}
