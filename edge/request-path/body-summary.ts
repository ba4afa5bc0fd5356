/**
 * @module A readable summary of a request body for the approval page: what a person approves
 * must say what the request carries. Form and JSON fields are listed (values that look secret
 * masked, everything truncated); other bodies are described by type and size.
 */

import type { BodySummary } from '../../shared/wire-shapes';

const SECRET = /pass|secret|token|key|otp|code|pin|cvv|ssn|auth/i;
const MAX_FIELDS = 12;
const MAX_VALUE = 80;

const show = (name: string, v: unknown): string => {
  if (SECRET.test(name)) return '••••••';
  const s = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  return s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE - 1)}…` : s;
};

export function summarizeBody(body: Uint8Array | null, contentType: string | null): BodySummary | null {
  if (!body || body.length === 0) return null;
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase() || 'unknown type';
  const text = () => new TextDecoder().decode(body);
  let pairs: [string, unknown][] | null = null;
  let kind = type;
  if (type === 'application/x-www-form-urlencoded') {
    pairs = [...new URLSearchParams(text())];
    kind = 'form';
  } else if (type === 'application/json' || type.endsWith('+json')) {
    try {
      const doc: unknown = JSON.parse(text());
      if (doc && typeof doc === 'object' && !Array.isArray(doc)) pairs = Object.entries(doc);
      kind = 'json';
    } catch {
      /* shown as its type and size */
    }
  }
  const fields = (pairs ?? []).slice(0, MAX_FIELDS).map(([k, v]) => ({ name: k.slice(0, 40), value: show(k, v) }));
  return { kind, bytes: body.length, fields, truncated: (pairs?.length ?? 0) > MAX_FIELDS };
}
