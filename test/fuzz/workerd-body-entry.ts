/**
 * @module A Worker that runs Stepgate's `_method` body readers inside workerd on a batch of bodies
 * and answers what it made of each, plus workerd's own `formData()` reading (the parser Stepgate
 * uses in production). Bundled and driven by test/fuzz/workerd-body.ts; not part of the gateway.
 */
import { addClaim } from '../../edge/policy/canonical-request';
import { bodyMethodClaims, checkInspectable } from '../../edge/request-path/method-override';

export interface WorkerdCase {
  contentType: string | null;
  headers: [string, string][];
  /** base64 of the body bytes */
  body: string;
}
export type WorkerdResult =
  | { refused: string; status: number }
  | { claims: string[]; anyMethod: boolean; platform: string[] }
  | { skipped: string }
  | { error: string };

const refusal = (err: unknown, kind: string): WorkerdResult => {
  const e = err as { name?: string; status?: number; message?: string } | null;
  if (e?.name === 'StepgateError' && typeof e.status === 'number' && e.status >= 400 && e.status < 500)
    return { refused: kind, status: e.status };
  return { error: `${kind}: ${e?.name ?? typeof err}: ${e?.message ?? String(err)}` };
};

async function run(c: WorkerdCase): Promise<WorkerdResult> {
  let headers: Headers;
  try {
    headers = new Headers(c.headers);
    if (c.contentType !== null) headers.set('content-type', c.contentType);
  } catch (err) {
    return { skipped: `headers: ${(err as Error).message}` }; // not a request workerd would receive
  }
  const bytes = Uint8Array.from(atob(c.body), (ch) => ch.charCodeAt(0));
  try {
    checkInspectable(headers);
  } catch (err) {
    return refusal(err, 'uninspectable');
  }
  let found: Awaited<ReturnType<typeof bodyMethodClaims>>;
  try {
    found = await bodyMethodClaims(bytes, headers.get('content-type'));
  } catch (err) {
    return refusal(err, 'unparseable');
  }
  const claimed = new Set<string>();
  try {
    for (const m of found.claims) addClaim(claimed, m);
  } catch (err) {
    return refusal(err, 'bad-claim');
  }
  let platform: string[] = [];
  try {
    const form = await new Response(bytes, { headers: { 'content-type': headers.get('content-type') ?? '' } }).formData();
    platform = form.getAll('_method').filter((v): v is string => typeof v === 'string');
  } catch {
    // not a form workerd reads
  }
  return { claims: [...claimed], anyMethod: found.anyMethod, platform };
}

export default {
  async fetch(request: Request): Promise<Response> {
    const cases = (await request.json()) as WorkerdCase[];
    const out: WorkerdResult[] = [];
    for (const c of cases) out.push(await run(c));
    return Response.json(out);
  },
};
