/**
 * @module Web Crypto's global type names for the Node tooling. The Worker modules it runs (the
 * keyring, signing keys) name `CryptoKey` and `JsonWebKey` as globals, as the Worker declares them;
 * Node has the same objects (global `crypto`), but its types declare them only under `node:crypto`'s
 * `webcrypto`. Aliases only: no Worker or DOM types come into the Node project.
 */
import type { webcrypto } from 'node:crypto';

declare global {
  type CryptoKey = webcrypto.CryptoKey;
  type JsonWebKey = webcrypto.JsonWebKey;
}
