/**
 * @module retireKey(): retire a key id from the keyring document (`stepgate keys retire`), keeping
 * the public keys of what was signed under it. Beside keyring.ts, not in it: it derives signing
 * keys (signing-key.ts), which build on the keyring.
 */
import { type KeyringDoc, parseKeyring, RETIRED_PUBLIC_PURPOSES } from './keyring';
import { signingKey } from './signing-key';

/**
 * Retire a key id: the keyring without its master key, and with its public keys (derived from the
 * master key before it goes) in "retired", so what was signed under it still verifies and nothing
 * can sign under it again. Used by `stepgate keys retire`.
 *
 * @throws {Error} if the keyring is invalid, or `kid` is not a live key id, or is the primary
 */
export async function retireKey(doc: KeyringDoc, kid: string, now: Date = new Date()): Promise<KeyringDoc> {
  const ring = parseKeyring(JSON.stringify(doc));
  if (!ring.kids.includes(kid)) throw new Error(`key id ${kid} is not in the keyring`);
  if (ring.primary === kid) throw new Error(`${kid} is the primary key; rotate to a new one first`);
  const entry: NonNullable<KeyringDoc['retired']>[string] = { retired_at: now.toISOString() };
  for (const purpose of RETIRED_PUBLIC_PURPOSES) {
    const { x } = (await signingKey(ring, purpose, kid, '')).jwk;
    entry[purpose] = { kty: 'OKP', crv: 'Ed25519', x: x! };
  }
  const { [kid]: _gone, ...keys } = doc.keys;
  const next: KeyringDoc = { ...doc, keys, retired: { ...doc.retired, [kid]: entry } };
  parseKeyring(JSON.stringify(next));
  return next;
}
