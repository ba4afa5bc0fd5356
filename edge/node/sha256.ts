/**
 * @module Node's synchronous SHA-256 for offline verification (`stepgate audit verify --file`):
 * the same digest and encoding as the edge's `eventHash` (crypto.subtle, base64url without padding),
 * without a promise per event. Node-only: the Worker bundle never imports this file.
 */
import { createHash } from 'node:crypto';
import type { Sha256Base64url } from '../audit/audit-chain';

/** SHA-256 of `text` as UTF-8, base64url without padding. */
export const nodeSha256: Sha256Base64url = (text) => createHash('sha256').update(text, 'utf8').digest('base64url');
