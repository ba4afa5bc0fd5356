/** @module The background context: owns extension state and answers the typed messages of other contexts. */
import browser from 'webextension-polyfill';
import { isMessage, type Handlers } from '../../../shared/messages';
import { EXTENSION_VERSION } from '../../manifest';

const handlers: Handlers = {
  'status/get': async () => {
    const { pairedSites = [] } = (await browser.storage.local.get('pairedSites')) as { pairedSites?: string[] };
    return { version: EXTENSION_VERSION, pairedSites };
  },
};

browser.runtime.onMessage.addListener((message: unknown, sender: browser.Runtime.MessageSender) => {
  // Only our own pages may talk to the background.
  if (sender.id !== browser.runtime.id || !isMessage(message, Object.keys(handlers))) return undefined;
  const handler = handlers[message.type] as (p: unknown) => Promise<unknown>;
  return handler(message.payload);
});
