/**
 * @module The first implementation of canonicalJson, verbatim (git show 5edd4ab^:edge/audit/canonical-json.ts):
 * the reference the chain's existing hashes were made with. The tests compare today's one-pass version with it.
 */

/** Serialize `value` as the first version did (keys sorted by UTF-16 code units, no whitespace). */
export function referenceCanonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value
      .map((v) => {
        if (v === undefined) throw new TypeError('canonicalJson: undefined in an array');
        return referenceCanonicalJson(v);
      })
      .join(',')}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${referenceCanonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: cannot serialize a ${typeof value}`);
}
