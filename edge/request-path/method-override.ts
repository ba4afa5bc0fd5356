/**
 * @module `_method` in a POST body. Rails, Laravel, Symfony and Express method-override honour it,
 * so a POST can really be a DELETE at the origin. Servers disagree on when and how they parse a
 * body, so Stepgate parses it every way any of them would, and refuses bodies whose meaning
 * depends on the parser (compressed, non-UTF-8, several content types, odd multipart boundaries).
 */
import { ambiguous } from '../http/stepgate-error';
import { isMethodParamName, methodMentions, methodParams } from '../policy/canonical-request';

interface MediaType {
  type: string;
  params: Map<string, string[]>;
}

const parseMediaType = (ct: string): MediaType => {
  const [type, ...rest] = ct.split(';');
  const params = new Map<string, string[]>();
  for (const p of rest) {
    const eq = p.indexOf('=');
    const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    const value =
      eq < 0
        ? ''
        : p
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1');
    params.set(name, [...(params.get(name) ?? []), value]);
  }
  return { type: type!.trim().toLowerCase(), params };
};

/**
 * Refuse a body that parsers would read differently. Call before reading a body to inspect it.
 *
 * @throws {StepgateError} 400 `ERR_AMBIGUOUS_REQUEST`
 */
export function checkInspectable(headers: Headers): void {
  const encoding = headers.get('content-encoding');
  // Why: body parsers decompress (Express does by default); Stepgate would inspect compressed bytes.
  if (encoding !== null && encoding.trim().toLowerCase() !== 'identity') throw ambiguous('body: Content-Encoding cannot be inspected');
  const ct = headers.get('content-type');
  if (ct === null) return;
  // Why: two Content-Type headers arrive joined by ','; PHP and Rack each take a different one.
  if (ct.includes(',')) throw ambiguous('Content-Type: more than one media type');
  const mt = parseMediaType(ct);
  const charset = mt.params.get('charset');
  // Why: a UTF-7 or UTF-16 body hides `_method` from a UTF-8 reading (Express honours any utf-*).
  if (charset && (charset.length > 1 || !/^(utf-?8|us-ascii)$/i.test(charset[0]!)))
    throw ambiguous('Content-Type: only UTF-8 bodies can be inspected');
  if (mt.type.startsWith('multipart/')) {
    // Why: PHP finds "boundary" anywhere in the header (`xboundary=`), workerd only as a parameter.
    const names = [...mt.params.keys()];
    if (
      mt.params.get('boundary')?.length !== 1 ||
      names.some((n) => n !== 'boundary' && n !== 'charset') ||
      /boundary/i.test(ct.replace(/;\s*boundary=/i, ''))
    ) {
      throw ambiguous('Content-Type: multipart needs exactly one boundary parameter');
    }
  }
}

export interface BodyClaims {
  /** Methods claimed by `_method` fields found by the structured parsers. */
  claims: string[];
  /** True when more `_method`-like names appear than were parsed: match as every method. */
  anyMethod: boolean;
}

/**
 * Method claims in a body, parsed as a form (always: Rack treats a POST without a type as one),
 * as JSON (whenever it parses: Laravel reads JSON for any type containing "/json"), and as
 * multipart when declared.
 *
 * @throws {StepgateError} 400 when the body does not parse as the type it declares
 */
export async function bodyMethodClaims(bytes: Uint8Array<ArrayBuffer>, contentType: string | null): Promise<BodyClaims> {
  const text = new TextDecoder().decode(bytes);
  const mt = parseMediaType(contentType ?? '');
  const claims = methodParams(text);
  const jsonDeclared = mt.type.includes('/json') || mt.type.endsWith('+json');
  if (text.trim() !== '' && (jsonDeclared || /^\s*[{[]/.test(text))) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      if (jsonDeclared) throw ambiguous('body: not valid JSON');
    }
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
      for (const [k, v] of Object.entries(doc)) if (isMethodParamName(k)) claims.push(typeof v === 'string' ? v : '');
    }
  }
  if (mt.type.startsWith('multipart/')) {
    let form: FormData;
    try {
      form = await new Response(bytes, { headers: { 'content-type': contentType! } }).formData();
    } catch {
      throw ambiguous('body: malformed multipart/form-data');
    }
    for (const [k, v] of form) if (isMethodParamName(k)) claims.push(typeof v === 'string' ? v : '');
  }
  // Why JSON escapes are undone: `{"_method":"DELETE","\u005fmethod":"PUT"}` names `_method` twice.
  return {
    claims,
    anyMethod: methodMentions(text.replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))) > claims.length,
  };
}
