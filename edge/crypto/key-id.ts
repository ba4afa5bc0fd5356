/**
 * @module Key ids for new keyring keys: `k<YYYYMMDD>-<4 hex>`, e.g. `k20261201-6e6f`. The random
 * suffix is always there and always 4 characters, so two ids made on different days never read
 * as one being the other plus a few characters (as `k20261201` and `k202612016e6` did). Ids of any
 * other shape in an existing keyring keep working: the keyring accepts 1-32 letters, digits, `_`, `-`.
 */

/** The format of ids made by `stepgate keys` and `npm start`. */
export const NEW_KEY_ID = /^k\d{8}-[0-9a-f]{4}$/;

/** Any key id the keyring accepts (as `parseKeyring` checks). */
export const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** A new key id for `date` (UTC day), with a fresh random suffix. */
export function newKeyId(date: Date = new Date()): string {
  const suffix = [...crypto.getRandomValues(new Uint8Array(2))].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `k${date.toISOString().slice(0, 10).replaceAll('-', '')}-${suffix}`;
}

/** A new key id that is not in `taken` (compared without letter case, so `K1` and `k1` cannot both be in one keyring). */
export function freshKeyId(taken: Iterable<string>, date: Date = new Date()): string {
  const used = new Set([...taken].map((k) => k.toLowerCase()));
  for (;;) {
    const kid = newKeyId(date);
    if (!used.has(kid)) return kid;
  }
}
