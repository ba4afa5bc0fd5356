/** @module Browser side: calls to Stepgate's own JSON API, same-origin. */
import type { ErrorCode } from '../../shared/errors';

/** The fields of a problem+json refusal these scripts read: switch on `code`, show `detail`. */
export interface Problem {
  code?: ErrorCode;
  detail?: string;
  retry_at?: string | null;
}

/** POST JSON to a Stepgate endpoint; resolves to the parsed body and whether it succeeded. */
export async function post<T>(
  path: string,
  body: unknown = {},
): Promise<{ ok: true; data: T } | { ok: false; problem: Problem; status: number }> {
  const res = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  const data = (await res.json().catch(() => ({}))) as T & Problem;
  return res.ok ? { ok: true, data } : { ok: false, problem: data, status: res.status };
}

/** A person-readable sentence for a refusal. */
export function explain(p: Problem): string {
  const when = p.retry_at ? ` You can try again at ${new Date(p.retry_at).toLocaleTimeString()}.` : '';
  return `${p.detail ?? 'That did not work.'}${when}`;
}

export const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
