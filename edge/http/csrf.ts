/**
 * @module Same-origin checks: the one test of "from this site", and CSRF protection for Stepgate's
 * state-changing endpoints (same origin and a JSON body).
 */
import { ErrorCode } from '../../shared/errors';
import { StepgateError } from './stepgate-error';

/**
 * Whether a request comes from `origin` (or one of `extraOrigins`): by its `Origin` header when
 * it sends a real one, else by `Sec-Fetch-Site: same-origin`. Neither: not same-origin.
 */
export function isSameOrigin(req: Request, origin: string, extraOrigins: readonly string[] = []): boolean {
  const o = req.headers.get('origin');
  if (o !== null && o !== 'null') return o === origin || extraOrigins.includes(o);
  return req.headers.get('sec-fetch-site') === 'same-origin';
}

/**
 * Refuse a state-changing request unless it comes from this origin and carries JSON. A JSON
 * content type cannot be sent cross-site without a CORS preflight, which Stepgate never answers.
 *
 * @throws {StepgateError} 403 for a foreign or missing Origin, 415 for a non-JSON body
 */
export function requireSameOriginJson(req: Request, origin: string, extraOrigins: readonly string[] = []): void {
  if (!isSameOrigin(req, origin, extraOrigins)) {
    throw new StepgateError(ErrorCode.Forbidden, 403, 'This request must come from a Stepgate page on this site.');
  }
  const ct = (req.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (ct !== 'application/json')
    throw new StepgateError(ErrorCode.UnsupportedMediaType, 415, 'Send a JSON body (Content-Type: application/json).');
}
