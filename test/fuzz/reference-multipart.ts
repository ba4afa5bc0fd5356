/**
 * @module Reference readers of `_method` in a multipart/form-data body, written from how PHP
 * (main/rfc1867.c) and Rack 2 (Rack::Multipart::Parser) read one — deliberately not from the
 * WHATWG/undici parser Stepgate uses — and a duplicate-aware JSON reader. Each returns every value
 * its framework could take as `_method`.
 */
import { phpVariable, rackKey } from './reference-forms';

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
const skipSpace = (s: string): string => {
  let i = 0;
  while (isSpace(s[i])) i++;
  return s.slice(i);
};

/**
 * PHP's boundary: "boundary" found anywhere in the Content-Type (case-sensitively first, then not),
 * then the first `=` after it; a quoted value runs to the next `"`, else to `,` or `;`.
 */
export function phpBoundary(contentType: string): string | null {
  let at = contentType.indexOf('boundary');
  if (at < 0) at = contentType.toLowerCase().indexOf('boundary');
  if (at < 0) return null;
  const eq = contentType.indexOf('=', at);
  if (eq < 0) return null;
  let b = contentType.slice(eq + 1);
  if (b.startsWith('"')) {
    const end = b.indexOf('"', 1);
    if (end < 0) return null;
    b = b.slice(1, end);
  } else {
    const end = b.search(/[,;]/);
    if (end >= 0) b = b.slice(0, end);
  }
  return b === '' ? null : b;
}

/** `php_ap_getword`: split at `stop`, skipping quoted runs (`"` or `'`, with `\` before the quote). */
function getword(line: string, stop: string): [string, string] {
  let pos = 0;
  while (pos < line.length && line[pos] !== stop) {
    const q = line[pos];
    if (q === '"' || q === "'") {
      pos++;
      while (pos < line.length && line[pos] !== q) pos += line[pos] === '\\' && line[pos + 1] === q ? 2 : 1;
      if (pos < line.length) pos++;
    } else pos++;
  }
  if (pos >= line.length) return [line, ''];
  const word = line.slice(0, pos);
  while (line[pos] === stop) pos++;
  return [word, line.slice(pos)];
}

/** `substring_conf`: up to the closing quote (or NUL), `\\` and `\<quote>` unescaped. */
function substringConf(s: string, quote: string): string {
  let out = '';
  for (let i = 0; i < s.length && s[i] !== (quote || '\0'); i++) {
    if (s[i] === '\\' && (s[i + 1] === '\\' || (quote && s[i + 1] === quote))) out += s[++i];
    else out += s[i];
  }
  return out;
}

/** `php_ap_getword_conf`: a quoted or bare (to whitespace) parameter value. */
function getwordConf(s: string): string {
  const str = skipSpace(s);
  if (str === '') return '';
  if (str[0] === '"' || str[0] === "'") return substringConf(str.slice(1), str[0]);
  let end = 0;
  while (end < str.length && !isSpace(str[end])) end++;
  return substringConf(str.slice(0, end), '');
}

/**
 * `$_POST` from a multipart body as PHP builds it: only for `multipart/form-data` (the type cut at
 * `;`, `,` or space); lines end at LF (a CR before it dropped); a part starts after a line equal to
 * `--boundary`; headers until an empty line, continuation lines appended; the part's value runs to
 * the next LF + `--boundary` (one trailing CR dropped); parts with a `filename` are files.
 */
export function phpMultipartMethods(contentType: string, body: string): string[] {
  const type = contentType.split(/[;, ]/)[0]!.toLowerCase();
  if (type !== 'multipart/form-data') return [];
  const b = phpBoundary(contentType);
  if (b === null) return [];
  const boundary = `--${b}`;
  const boundaryNext = `\n${boundary}`;
  let pos = 0;
  const getLine = (): string | null => {
    const nl = body.indexOf('\n', pos);
    if (nl < 0) return null;
    let line = body.slice(pos, nl);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    pos = nl + 1;
    return line.split('\0')[0]!; // a C string
  };
  const out: string[] = [];
  let last: string | undefined;
  for (;;) {
    // find_boundary
    let found = false;
    for (let line = getLine(); line !== null; line = getLine()) {
      if (line === boundary) {
        found = true;
        break;
      }
    }
    if (!found) break;
    // multipart_buffer_headers
    const headers: [string, string][] = [];
    let key: string | null = null;
    let value = '';
    for (let line = getLine(); line !== null && line !== ''; line = getLine()) {
      const colon = isSpace(line[0]) ? -1 : line.indexOf(':');
      if (colon >= 0) {
        if (key !== null) headers.push([key, value]);
        key = line.slice(0, colon);
        value = skipSpace(line.slice(colon + 1));
      } else if (key !== null) value += line;
    }
    if (key !== null) headers.push([key, value]);
    const cd = headers.find(([k]) => k.toLowerCase() === 'content-disposition')?.[1];
    if (cd === undefined) continue;
    let param: string | null = null;
    let filename: string | null = null;
    let rest = skipSpace(cd);
    while (rest !== '') {
      const [pair, after] = getword(rest, ';');
      rest = skipSpace(after);
      if (pair.includes('=')) {
        const [k, v] = getword(pair, '=');
        if (k.toLowerCase() === 'name') param = getwordConf(v);
        else if (k.toLowerCase() === 'filename') filename = getwordConf(v);
      }
    }
    if (filename !== null || param === null) continue;
    // multipart_buffer_read_body: to the next "\n--boundary", or to a prefix of it at the very end.
    let end = body.indexOf(boundaryNext, pos);
    if (end < 0) {
      end = body.length;
      for (let n = Math.min(boundaryNext.length - 1, body.length - pos); n > 0; n--) {
        if (body.endsWith(boundaryNext.slice(0, n))) {
          end = body.length - n;
          break;
        }
      }
    }
    let val = body.slice(pos, end);
    if (end < body.length && val.endsWith('\r')) val = val.slice(0, -1);
    pos = end;
    const v = phpVariable(param.split('\0')[0]!);
    if (v?.root !== '_method') continue;
    if (v.array) out.push(val);
    else last = val;
  }
  if (last !== undefined) out.push(last);
  return out;
}

const RACK_TOKEN = String.raw`[^\s()<>,;:\\"\/\[\]?=]+`;
const RACK_VALUE = String.raw`"(?:\\"|[^"])*"|${RACK_TOKEN}`;
const RACK_DISPOSITION = new RegExp(String.raw`Content-Disposition:[^:]*;\s*name=(${RACK_VALUE})`, 'i');
const RACK_FILENAME = new RegExp(String.raw`Content-Disposition:[^:]*;\s*filename=(${RACK_VALUE})`, 'i');
const RACK_CONTENT_ID = /Content-ID:\s*([^\r\n]*)/i;
/** Rack::Auth::Digest::Params.dequote: surrounding quotes dropped, every `\x` becomes `x`. */
const dequote = (s: string): string => (/^"(.*)"$/s.exec(s)?.[1] ?? s).replace(/\\(.)/gs, '$1');

/**
 * Rack 2 (Rails' `_method` comes from `req.POST`): boundary from `multipart/…boundary="?([^";,]+)`;
 * parts separated by an optional CRLF, `--boundary`, then CRLF or `--`; head up to CRLF CRLF; the
 * name from a `name=` anywhere after `Content-Disposition:` and a `;` (across header lines),
 * else from `Content-ID`; parts with a filename are files. Lenient (a preamble is allowed).
 */
export function rackMultipartMethods(contentType: string, body: string): string[] {
  const m = /^multipart\/.*boundary="?([^";,]+)"?/is.exec(contentType);
  if (!m) return [];
  const esc = `--${m[1]!}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const parts = body.split(new RegExp(`(?:\\r\\n)?${esc}(?:\\r\\n|--)`));
  const out: string[] = [];
  for (const part of parts.slice(1)) {
    const headEnd = part.indexOf('\r\n\r\n');
    if (headEnd < 0) continue;
    const head = part.slice(0, headEnd + 2);
    if (RACK_FILENAME.test(head)) continue;
    const cd = RACK_DISPOSITION.exec(head);
    const name = cd ? dequote(cd[1]!) : RACK_CONTENT_ID.exec(head)?.[1];
    const key = name === undefined ? null : rackKey(name);
    if (key?.root === '_method' && key.after === '') out.push(part.slice(headEnd + 4));
  }
  return out;
}

/** `_method` values from the platform's multipart parser (WHATWG `Request.formData()`; undici in Node). */
export async function whatwgMultipartMethods(contentType: string, bytes: Uint8Array<ArrayBuffer>): Promise<string[]> {
  let form: FormData;
  try {
    form = await new Response(bytes, { headers: { 'content-type': contentType } }).formData();
  } catch {
    return [];
  }
  return form.getAll('_method').filter((v): v is string => typeof v === 'string');
}

// --- JSON, every top-level pair (first-wins and last-wins parsers alike) -----------------------

/** Top-level `[key, value]` pairs of a JSON object text, duplicates kept, or null if it is not one. */
export function jsonTopLevelPairs(text: string): [string, unknown][] | null {
  let i = 0;
  const ws = () => {
    while (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r') i++;
  };
  const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const str = (): string => {
    STRING.lastIndex = i;
    const m = STRING.exec(text);
    if (!m) throw new SyntaxError('string');
    i += m[0].length;
    return JSON.parse(m[0]) as string;
  };
  const value = (depth: number): void => {
    if (depth > 512) throw new SyntaxError('depth');
    ws();
    const c = text[i];
    if (c === '"') str();
    else if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          ws();
          str();
          ws();
          if (text[i++] !== ':') throw new SyntaxError(':');
        }
        value(depth + 1);
        ws();
        const sep = text[i++];
        if (sep === close) return;
        if (sep !== ',') throw new SyntaxError(',');
      }
    } else if (text.startsWith('true', i)) i += 4;
    else if (text.startsWith('false', i)) i += 5;
    else if (text.startsWith('null', i)) i += 4;
    else {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) throw new SyntaxError('value');
      i += m[0].length;
    }
  };
  try {
    ws();
    if (text[i] !== '{') return null;
    i++;
    const pairs: [string, unknown][] = [];
    ws();
    if (text[i] === '}') i++;
    else {
      for (;;) {
        ws();
        const k = str();
        ws();
        if (text[i++] !== ':') return null;
        ws();
        const start = i;
        value(0);
        pairs.push([k, JSON.parse(text.slice(start, i))]);
        ws();
        const sep = text[i++];
        if (sep === '}') break;
        if (sep !== ',') return null;
      }
    }
    ws();
    return i === text.length ? pairs : null;
  } catch {
    return null;
  }
}

/**
 * `_method` in a JSON body as Express (`req.body._method`) and Laravel (`$request->input('_method')`)
 * read it: a top-level string under exactly that key; with duplicates, any of them (parsers differ).
 */
export function jsonMethods(text: string): string[] {
  const out: string[] = [];
  for (const t of [text, text.replace(/^\ufeff/, '')]) {
    const pairs = jsonTopLevelPairs(t);
    if (pairs) for (const [k, v] of pairs) if (k === '_method' && typeof v === 'string') out.push(v);
  }
  return out;
}
