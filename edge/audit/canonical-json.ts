/**
 * @module canonicalJson: one byte-exact serialization of an audit event, so a hash computed at the
 * edge can be recomputed by anyone holding the exported event. Keys are sorted (by UTF-16 code
 * units, as RFC 8785 does), no whitespace, and only JSON's own types are allowed.
 *
 * Its output defines the chain hash (and policy hashes): it must never change. It is built in one
 * pass, without the entries/filter/sort/map/join arrays of the first version (kept as the reference
 * in test/edge/canonical-json.test.ts, which compares the two on generated events and edge cases).
 */

/**
 * Serialized keys: events repeat the same few dozen keys, so each is escaped once. Bounded, in
 * entries and in size: a longer key (a caller's data, not an event's shape) is escaped each time.
 */
const keyJson = new Map<string, string>();
const KEY_CACHE_MAX = 4096;
const KEY_CACHE_KEY_MAX = 128;
/** Objects with more keys than this are sorted with Array.prototype.sort rather than by insertion. */
const INSERTION_SORT_MAX = 24;

function quotedKey(k: string): string {
  if (k.length > KEY_CACHE_KEY_MAX) return JSON.stringify(k);
  let j = keyJson.get(k);
  if (j === undefined) {
    j = JSON.stringify(k);
    if (keyJson.size < KEY_CACHE_MAX) keyJson.set(k, j);
  }
  return j;
}

/**
 * Own enumerable keys in UTF-16 code unit order: `<`/`>` on strings and the default sort both
 * compare code units. An event's objects have a handful of keys, where an insertion sort is cheapest.
 */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o);
  if (keys.length > INSERTION_SORT_MAX) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}

/**
 * Serialize `value` canonically.
 *
 * @throws {TypeError} for values JSON cannot represent exactly (non-finite numbers, undefined in
 *   arrays, functions, bigint) — an event that cannot be hashed must not be written
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
      // For a finite number JSON.stringify is exactly ToString (-0 is "0").
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          const v: unknown = value[i];
          if (v === undefined) {
            // A hole in a sparse array was skipped by the first version's map/join (an empty
            // element); kept, so no input's serialization changes. An explicit undefined throws.
            if (i in value) throw new TypeError('canonicalJson: undefined in an array');
            continue;
          }
          out += canonicalJson(v);
        }
        return `${out}]`;
      }
      const o = value as Record<string, unknown>;
      const keys = sortedKeys(o);
      let out = '{';
      let first = true;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        const v = o[k];
        if (v === undefined) continue;
        if (first) first = false;
        else out += ',';
        out += quotedKey(k);
        out += ':';
        out += canonicalJson(v);
      }
      return `${out}}`;
    }
  }
  throw new TypeError(`canonicalJson: cannot serialize a ${typeof value}`);
}
