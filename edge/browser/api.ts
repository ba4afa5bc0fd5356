/** @module Browser side: calls to Stepgate's own JSON API, same-origin. */
import { localTime } from '../../shared/local-time';
import type { Problem } from '../../shared/wire-shapes';

/** The parsed body of an answer: the data, or the refusal (switch on `problem.code`, show `explain(problem)`). */
export type ApiResult<T> = { ok: true; data: T } | { ok: false; problem: Problem; status: number };

/** Call a Stepgate endpoint: GET, or POST with a JSON body. Resolves to the parsed body and whether it succeeded. */
async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<ApiResult<T>> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    ...(method === 'POST'
      ? { headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body ?? {}) }
      : { headers: { accept: 'application/json' } }),
  });
  const data = (await res.json().catch(() => ({}))) as T & Problem;
  return res.ok ? { ok: true, data } : { ok: false, problem: data, status: res.status };
}

/** POST JSON to a Stepgate endpoint. */
export const post = <T>(path: string, body: unknown = {}): Promise<ApiResult<T>> => call<T>('POST', path, body);

/** GET a Stepgate endpoint. */
export const get = <T>(path: string): Promise<ApiResult<T>> => call<T>('GET', path);

/** A person-readable sentence for a refusal. */
export function explain(p: Problem): string {
  const at = p.retry_at ? localTime(p.retry_at) : null;
  // The person's own time, with the UTC time beside it (docs/accessibility.md).
  const when = at ? ` You can try again at ${at.local}${at.local.endsWith('UTC') ? '' : ` (${at.utc})`}.` : '';
  return `${p.detail ?? 'That did not work.'}${when}`;
}

export const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
