/** @module Send a typed message to the background: the key picks the payload and the answer's type. */
import browser from 'webextension-polyfill';
import type { MessageKey, MessageMap } from './messages';

export const send = async <K extends MessageKey>(type: K, payload: MessageMap[K]['request']): Promise<MessageMap[K]['response']> =>
  (await browser.runtime.sendMessage({ type, payload })) as MessageMap[K]['response'];
