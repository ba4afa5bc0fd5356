/** @module The extension's typed message map: every message between its contexts, declared once. */

/** Request and response types per message key. Handlers are looked up by key, never by if/else chains. */
export interface MessageMap {
  /** Popup → background: the extension's state for display. */
  'status/get': { request: Record<string, never>; response: { version: string; pairedSites: string[] } };
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
