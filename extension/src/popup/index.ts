/** @module The popup: shows which sites are paired. */
import browser from 'webextension-polyfill';
import type { MessageMap } from '../../../shared/messages';

const status = document.getElementById('status')!;
const res = (await browser.runtime.sendMessage({ type: 'status/get', payload: {} })) as MessageMap['status/get']['response'];
status.textContent = res.pairedSites.length
  ? `Paired with ${res.pairedSites.join(', ')}`
  : `No paired sites yet (version ${res.version}).`;
