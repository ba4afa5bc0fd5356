/**
 * @module bodyMethodClaims: `_method` in a POST body. Rails, Laravel, Express method-override and
 * Symfony honour it, so a POST can really be a DELETE at the origin.
 */
import { ambiguous } from '../errors';
import { methodParams } from '../policy/canonical-request';

/** Content types whose body frameworks read `_method` from. */
export const overridableBody = (contentType: string | null): 'form' | 'multipart' | 'json' | null => {
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (ct === 'application/x-www-form-urlencoded') return 'form';
  if (ct === 'multipart/form-data') return 'multipart';
  if (ct === 'application/json' || ct.endsWith('+json')) return 'json';
  return null;
};

const isMethodKey = (k: string): boolean => k.replace(/[. []/g, '_').toLowerCase() === '_method';

/**
 * Method claims in a body.
 *
 * @throws {StepgateError} 400 when a form or JSON body cannot be parsed: the origin might parse it differently.
 */
export async function bodyMethodClaims(kind: 'form' | 'multipart' | 'json', bytes: Uint8Array<ArrayBuffer>, contentType: string): Promise<string[]> {
  if (kind === 'form') return methodParams(new TextDecoder().decode(bytes));
  if (kind === 'json') {
    if (bytes.length === 0) return [];
    let doc: unknown;
    try {
      doc = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw ambiguous('body: not valid JSON');
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return [];
    return Object.entries(doc).filter(([k, v]) => isMethodKey(k) && typeof v === 'string').map(([, v]) => v as string);
  }
  let form: FormData;
  try {
    form = await new Response(bytes, { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw ambiguous('body: malformed multipart/form-data');
  }
  const out: string[] = [];
  for (const [k, v] of form) if (isMethodKey(k) && typeof v === 'string') out.push(v);
  return out;
}
