/**
 * @module Calls to a paired site's Stepgate API, from any extension context. The site's cookies go
 * along (`credentials: 'include'`): the extension holds that host's permission, and the edge
 * accepts the extension's origin when its operator lists it in `WEBAUTHN_ORIGINS`.
 */
import type { Problem } from '../../../shared/wire-shapes';
import { ExtensionCode } from './extension-codes';
import type { Failure } from './messages';

export type ApiResult<T> = { ok: true; status: number; data: T; headers: Headers } | (Failure & { status: number; retryAt: string | null });

/** A refusal's members, not yet checked: the site may not be Stepgate, or not say what Stepgate says. */
type UncheckedProblem = { [K in keyof Problem]?: unknown };

/**
 * Call `path` on `origin`: JSON in (for POST), JSON out. Never throws: a network failure or a
 * non-JSON answer is a Failure like any refusal, with a sentence a person can read.
 */
export async function siteApi<T>(
  origin: string,
  path: string,
  init: { method?: 'GET' | 'POST'; body?: unknown } = {},
  fetchFn: typeof fetch = fetch,
): Promise<ApiResult<T>> {
  const method = init.method ?? (init.body === undefined ? 'GET' : 'POST');
  let res: Response;
  try {
    res = await fetchFn(new URL(path, origin).href, {
      method,
      credentials: 'include',
      cache: 'no-store',
      headers: method === 'POST' ? { 'content-type': 'application/json', accept: 'application/json' } : { accept: 'application/json' },
      ...(method === 'POST' ? { body: JSON.stringify(init.body ?? {}) } : {}),
    });
  } catch (e) {
    return {
      ok: false,
      status: 0,
      code: ExtensionCode.Unreachable,
      message: `${new URL(origin).host} could not be reached (${(e as Error).message}).`,
      retryAt: null,
    };
  }
  let doc: unknown;
  try {
    doc = await res.json();
  } catch {
    doc = null;
  }
  if (res.ok && doc !== null && typeof doc === 'object') return { ok: true, status: res.status, data: doc as T, headers: res.headers };
  const p = (doc ?? {}) as UncheckedProblem;
  const retryAt = typeof p.retry_at === 'string' ? p.retry_at : null;
  const code = typeof p.code === 'string' ? p.code : res.ok ? ExtensionCode.NotStepgate : ExtensionCode.Unreachable;
  const said =
    typeof p.detail === 'string'
      ? p.detail
      : typeof p.title === 'string'
        ? p.title
        : `The site answered ${res.status}${res.ok ? ' without JSON' : ''}.`;
  const when = retryAt ? ` You can try again at ${new Date(retryAt).toLocaleTimeString()}.` : '';
  return { ok: false, status: res.status, code, message: `${said}${when}`, retryAt };
}
