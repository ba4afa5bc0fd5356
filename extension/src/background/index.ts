/**
 * @module The background context (Chrome service worker / Firefox background script): wires the
 * browser's events and APIs (the `Platform`) to the logic in background-core.ts and answers the typed messages.
 */
import browser from 'webextension-polyfill';
import { isMessage } from '../lib/messages';
import { EXTENSION_VERSION } from '../../manifest';
import { promptVerifier } from '../lib/verify-prompt';
import { createBackground } from './background-core';
import type { Area } from './platform';

const POLL_ALARM = 'stepgate-poll';

const area = (a: browser.Storage.StorageArea): Area => ({
  get: async <T>(key: string) => (await a.get(key))[key] as T | undefined,
  set: (key, value) => a.set({ [key]: value }),
});

const bg = createBackground({
  version: EXTENSION_VERSION,
  now: Date.now,
  fetch: (...args) => fetch(...args),
  local: area(browser.storage.local),
  session: area(browser.storage.session),
  permissions: {
    contains: (pattern) => browser.permissions.contains({ origins: [pattern] }),
    // Refused for a host permission the manifest requires (a managed or test build): nothing to give back then.
    remove: (pattern) => browser.permissions.remove({ origins: [pattern] }).catch(() => false),
  },
  rules: {
    installed: async () => (await browser.declarativeNetRequest.getDynamicRules()).map((r) => r.id),
    update: (add, removeIds) => browser.declarativeNetRequest.updateDynamicRules({ addRules: add, removeRuleIds: removeIds }),
  },
  windows: {
    async open(site, id, mode) {
      // The approval window of dual control is the prompt page in its `approval` mode.
      const query: Record<string, string> = mode === 'approval' ? { site, approval: id } : { site, id };
      const url = browser.runtime.getURL(`prompt/index.html?${new URLSearchParams(query)}`);
      const w = await browser.windows.create({ url, type: 'popup', width: 440, height: 640 });
      return w.id ?? null;
    },
    async focus(windowId) {
      try {
        await browser.windows.update(windowId, { focused: true });
        return true;
      } catch {
        return false;
      }
    },
  },
  badge: async (text) => {
    await browser.action.setBadgeBackgroundColor({ color: '#b3261e' });
    await browser.action.setBadgeText({ text });
  },
  verifier: promptVerifier(),
  log: (m) => console.warn(m),
});

// Listeners are registered synchronously at the top level, so a stopped service worker is woken by them.
browser.runtime.onMessage.addListener((message: unknown, sender: browser.Runtime.MessageSender) => {
  // Only our own pages may talk to the background (the extension has no content scripts).
  if (
    sender.id !== browser.runtime.id ||
    !sender.url?.startsWith(browser.runtime.getURL('')) ||
    !isMessage(message, Object.keys(bg.handlers))
  )
    return undefined;
  const handler = bg.handlers[message.type] as (p: unknown) => Promise<unknown>;
  return handler(message.payload ?? {});
});

// Only paired sites' requests reach these listeners: the extension holds no other host permission.
const requestFilter: browser.WebRequest.RequestFilter = { urls: ['http://*/*', 'https://*/*'], types: ['xmlhttprequest'] };
browser.webRequest.onBeforeRequest.addListener((d) => {
  bg.requestStarted({ requestId: d.requestId, url: d.url, method: d.method, initiator: d.initiator ?? d.originUrl });
}, requestFilter);
browser.webRequest.onCompleted.addListener(
  (d) => {
    const retryAfter = d.responseHeaders?.find((h) => h.name.toLowerCase() === 'retry-after')?.value ?? null;
    void bg.requestEnded({ requestId: d.requestId, url: d.url, statusCode: d.statusCode, retryAfter });
  },
  requestFilter,
  ['responseHeaders'],
);
browser.webRequest.onErrorOccurred.addListener((d) => void bg.requestEnded({ requestId: d.requestId, url: d.url }), requestFilter);

browser.windows.onRemoved.addListener((windowId) => void bg.windowClosed(windowId));
browser.permissions.onRemoved.addListener(() => void bg.pollAll());
browser.permissions.onAdded.addListener((added) => void bg.permissionsAdded(added.origins ?? []));

browser.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === POLL_ALARM) void bg.pollAll();
});
const start = async () => {
  await browser.alarms.create(POLL_ALARM, { periodInMinutes: 1 });
  await bg.reconcile();
  await bg.pollAll();
};
browser.runtime.onInstalled.addListener(() => void start());
browser.runtime.onStartup.addListener(() => void start());
