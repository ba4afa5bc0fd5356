/**
 * @module Calls to a paired site's Stepgate API, from any extension context. The site's cookies go
 * along (`credentials: 'include'`): the extension holds that host's permission, and the edge
 * accepts the extension's origin when its operator lists it in `WEBAUTHN_ORIGINS`.
 */
import type { Problem } from '../../../shared/wire-shapes';
import { ExtensionCode } from './extension-codes';
import type { Failure } from './messages';
import { problemWords } from './problem-words';

export type ApiResult<T> =
  | { ok: true; status: number; data: T; headers: Headers }
  /**
   * `message`: plain words for people (problem-words.ts); `detail`: what the site or the browser
   * said, for logs only (it may name endpoints); `triesLeft`: number matching's `tries_left`.
   */
  | (Failure & { status: number; retryAt: string | null; detail?: string; triesLeft?: number });

/** A refusal's members, not yet checked: the site may not be Stepgate, or not say what Stepgate says. */
type UncheckedProblem = { [K in keyof Problem]?: unknown } & { attempts_left?: unknown };

/**
 * Call `path` on `origin`: JSON in (for POST), JSON out. Never throws: a network failure or a
 * non-JSON answer is a Failure like any refusal, with a sentence a person can read (never the
 * site's developer-facing `detail`, a status number or an exception's text).
 */
export async function siteApi<T>(
  origin: string,
  path: string,
  init: { method?: 'GET' | 'POST'; body?: unknown } = {},
  fetchFn: typeof fetch = fetch,
): Promise<ApiResult<T>> {
  const method = init.method ?? (init.body === undefined ? 'GET' : 'POST');
  const host = new URL(origin).host;
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
    const code = ExtensionCode.Unreachable;
    return { ok: false, status: 0, code, message: problemWords(code, { host }), retryAt: null, detail: String((e as Error).message) };
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
  const detail = typeof p.detail === 'string' ? p.detail : typeof p.title === 'string' ? p.title : `HTTP ${res.status}`;
  const attemptsLeft = typeof p.attempts_left === 'number' ? p.attempts_left : undefined;
  const triesLeft = typeof p.tries_left === 'number' ? { triesLeft: p.tries_left } : {};
  return {
    ok: false,
    status: res.status,
    code,
    message: problemWords(code, { host, retryAt, attemptsLeft }),
    retryAt,
    detail,
    ...triesLeft,
  };
}
