/** @module newId: the random ids of stored records (apps, role grants, recoveries, API tokens). */
import { base64url } from './base64';

/**
 * 96 random bits as 16 base64url characters that start with a letter or digit: an id a person may
 * type on a command line (one starting with `-` would read as an option there). Drawn again, rather
 * than altered, when the first character is `-` or `_`, so every accepted id is equally likely.
 */
export function newId(): string {
  for (;;) {
    const id = base64url(crypto.getRandomValues(new Uint8Array(12)));
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}
