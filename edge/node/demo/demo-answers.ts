/**
 * @module How the demo app answers, like an ordinary web app: a browser's form is answered with
 * 303 back to a page, which then shows a short message once (a "flash" kept in a cookie); a program
 * (fetch, curl, an API client) gets JSON.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { returnPath } from '../../../shared/return-path';
import type { Flash } from './demo-layout';

const FLASH_COOKIE = 'demo_flash';
/** The longest message kept: it is a one-line sentence, never stored data. */
const FLASH_MAX = 300;

/** A browser navigation (a form sent, a link followed) asks for HTML first; fetch and curl do not. */
export const wantsHtml = (req: IncomingMessage): boolean => /\btext\/html\b/.test(req.headers.accept ?? '');

export const send = (res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string | string[]> = {}) => {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(body);
};

export const sendJson = (res: ServerResponse, status: number, body: unknown) => send(res, status, 'application/json', JSON.stringify(body));

export const sendHtml = (res: ServerResponse, status: number, html: string, headers: Record<string, string | string[]> = {}) =>
  send(res, status, 'text/html; charset=utf-8', html, headers);

/** 303 to `location` (a path of this app), with a message for the page it lands on. */
export function redirectWith(res: ServerResponse, location: string, flash: Flash, alsoSetCookie?: string) {
  const value = encodeURIComponent(`${flash.kind}:${flash.text}`.slice(0, FLASH_MAX));
  const cookie = `${FLASH_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=120`;
  send(res, 303, 'text/plain', '', { location, 'set-cookie': alsoSetCookie ? [alsoSetCookie, cookie] : cookie });
}

/** The message waiting for this page, if any, and the header that clears it (a message is shown once). */
export function takeFlash(req: IncomingMessage): { flash: Flash | null; clear: Record<string, string> } {
  const m = new RegExp(`(?:^|;\\s*)${FLASH_COOKIE}=([^;]*)`).exec(req.headers.cookie ?? '');
  if (!m) return { flash: null, clear: {} };
  const clear = { 'set-cookie': `${FLASH_COOKIE}=; Path=/; Max-Age=0` };
  let raw: string;
  try {
    raw = decodeURIComponent(m[1]!).slice(0, FLASH_MAX);
  } catch {
    return { flash: null, clear };
  }
  const sep = raw.indexOf(':');
  const kind = raw.slice(0, sep);
  if (sep < 0 || (kind !== 'ok' && kind !== 'bad') || sep === raw.length - 1) return { flash: null, clear };
  return { flash: { kind, text: raw.slice(sep + 1) }, clear };
}

/** Only a path of this app (returnPath: nothing a browser could read as another host), else the home page. */
export const localPath = (s: string | null): string => returnPath(s) ?? '/';
