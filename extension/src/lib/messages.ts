/** @module The extension's typed message map: every message between its contexts, declared once. */
import type { ApprovalJson, Notice, VerifiedPrompt } from '../../../shared/wire-shapes';

/** A site the person paired, as kept in `storage.local` (nothing secret: no codes, tokens or cookies). */
export interface PairedSite {
  /** `scheme://host[:port]`, lower-case, no path. */
  origin: string;
  /** What the person sees; the host unless the site names itself. */
  name: string;
  /** When it was paired (ms since the epoch). */
  pairedAt: number;
  /** The declarativeNetRequest dynamic rule that marks this site's fetch/XHR with `Stepgate-Extension: 1`. */
  ruleId: number;
}

/** A paired site with what the extension could find out about it just now. */
export interface SiteStatus extends PairedSite {
  /** The host permission is still granted (the person can revoke it in the browser's settings). */
  permission: boolean;
  /** null when the site could not be asked (offline, no permission). */
  signedIn: boolean | null;
  factors: { webauthn: number; totp: number; recoveryCodesLeft: number } | null;
  /** Prompts refused by the site (429 ERR_TOO_MANY_PROMPTS) until this time, if any. */
  throttledUntil: number | null;
  /** A person-readable problem, when something did not work. */
  problem: string | null;
}

/** A pending approval on a paired site. */
export interface PendingPrompt {
  site: string;
  prompt: VerifiedPrompt;
}

/** A notice of a paired site (checked): someone started recovering the person's sign-in factors there, or an administrator removed them. */
export interface SiteNotice {
  site: string;
  notice: Notice;
}

/**
 * Dual control on a paired site (checked, lib/approval-check.ts): the requests of others waiting for
 * this person's decision, and this person's own requests (open, and closed in the last days).
 */
export interface SiteApprovals {
  site: string;
  awaiting_you: ApprovalJson[];
  yours: ApprovalJson[];
}

/**
 * A refusal a context can show: a stable `code` to switch on (an `ErrorCode` of the edge, or an
 * `ExtensionCode` of the extension itself), a sentence to show.
 */
export interface Failure {
  ok: false;
  code: string;
  message: string;
}
export type Reply<T extends object = object> = ({ ok: true } & T) | Failure;

/** Request and response types per message key. Handlers are looked up by key, never by if/else chains. */
export interface MessageMap {
  /** Popup → background: the extension's state for display. */
  'status/get': { request: Record<string, never>; response: { version: string; pairedSites: string[]; pending: PendingPrompt[] } };
  /** Popup, options → background: the paired sites and how each one is doing (asks each site). */
  'sites/list': { request: Record<string, never>; response: { sites: SiteStatus[] } };
  /**
   * Popup, options → background: pair a site whose host permission the page has just obtained
   * (`permissions.request` needs the page's user gesture, so the page asks, the background pairs).
   */
  'sites/pair': { request: { origin: string }; response: Reply<{ site: PairedSite }> };
  /** Options → background: forget a site, its marker rule and its host permission. */
  'sites/unpair': { request: { origin: string }; response: Reply };
  /** Popup → background: ask every paired site for pending approvals now. */
  'prompts/poll': { request: Record<string, never>; response: { pending: PendingPrompt[] } };
  /** Popup → background: open (or focus) the prompt window of a pending approval. */
  'prompts/open': { request: { site: string; id: string }; response: Reply };
  /**
   * Prompt page → background: the verified prompt to show, fetched and checked afresh. `actionHost`
   * (the approval window, for the approver's step-up): the host of the request it approves, when it
   * is another host of the same app; only a step-up (`approval:<id>`) may name one.
   */
  'prompt/get': { request: { site: string; id: string; actionHost?: string }; response: Reply<{ prompt: VerifiedPrompt }> };
  /** Popup → background: ask every paired site for the person's notices now. */
  'notices/list': { request: Record<string, never>; response: { notices: SiteNotice[] } };
  /** Popup → background: cancel the recovery a notice is about, on its site. */
  'notices/cancel': { request: { site: string; id: string }; response: Reply };
  /** Popup → background: dismiss a revocation notice, on its site. */
  'notices/dismiss': { request: { site: string; id: string }; response: Reply };
  /** Prompt page → background: the prompt was answered or is gone; recount the badge. */
  'prompt/settled': { request: { site: string; id: string; outcome: 'approved' | 'denied' | 'expired' | 'gone' }; response: Reply };
  /** Popup, options → background: ask every paired site for approval requests (dual control) now. */
  'approvals/list': { request: Record<string, never>; response: { approvals: SiteApprovals[] } };
  /** Popup, options → background: open (or focus) the approval window of a request (Review). */
  'approvals/open': { request: { site: string; id: string }; response: Reply };
  /** Approval window → background: the request to show, fetched from the site and checked afresh. */
  'approval/get': { request: { site: string; id: string }; response: Reply<{ approval: ApprovalJson }> };
  /** Approval window → background: the person approved or denied; ask the site again and recount the badge. */
  'approval/settled': { request: { site: string; id: string }; response: Reply };
}

export type MessageKey = keyof MessageMap;
export interface Message<K extends MessageKey = MessageKey> {
  type: K;
  payload: MessageMap[K]['request'];
}
export type Handlers = { [K in MessageKey]: (payload: MessageMap[K]['request']) => Promise<MessageMap[K]['response']> };

/** Narrow an unknown runtime message to a known key (messages from other extensions are ignored). */
export const isMessage = (m: unknown, keys: readonly string[]): m is Message =>
  typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string' && keys.includes((m as { type: string }).type);
