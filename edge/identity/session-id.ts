/** @module sessionId: how every identity source names an app session (a hash, never the session itself). */
import { sha256b64u } from '../crypto/base64';

/**
 * The session id of `sub`'s session with handle `handle` (`sid:…`, `jti:…`, or `tok:<token>`):
 * `SHA-256("stepgate-sid" ‖ sub ‖ handle)`, base64url. It changes with the app session, so a
 * step-up ends when the session does.
 */
export const sessionId = (sub: string, handle: string): Promise<string> => sha256b64u(`stepgate-sid\0${sub}\0${handle}`);
