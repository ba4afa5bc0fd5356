/**
 * @module canonicalJson: one byte-exact serialization of an audit event, so a hash computed at the
 * edge can be recomputed by anyone holding the exported event. Keys are sorted (by UTF-16 code
 * units, as RFC 8785 does), no whitespace, and only JSON's own types are allowed.
 */

/**
 * Serialize `value` canonically.
 *
 * @throws {TypeError} for values JSON cannot represent exactly (non-finite numbers, undefined in
 *   arrays, functions, bigint) — an event that cannot be hashed must not be written
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value
      .map((v) => {
        if (v === undefined) throw new TypeError('canonicalJson: undefined in an array');
        return canonicalJson(v);
      })
      .join(',')}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: cannot serialize a ${typeof value}`);
}
