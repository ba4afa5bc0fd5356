/** @module The MV3 manifest, generated from TypeScript: one source, one Firefox branch. */

export type Browser = 'chrome' | 'firefox';

export const EXTENSION_VERSION = '0.1.0';

/**
 * The public key of the development build. With it, Chrome gives the unpacked extension a fixed id,
 * `leldacdejfbkleoogdbophfdkoapmfbd` (DEV_EXTENSION_ID in shared/extension-id.ts), which the demo's
 * `WEBAUTHN_ORIGINS` allow-lists. A public key, not a secret. Store packages drop it (the store
 * assigns its own id): see extension/build/package.ts.
 */
export const DEV_PUBLIC_KEY =
  'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvkRkFKFy4MnIdh7Y/0Pso9fSouVBnenGGSYPuBCLwyDD29yI4Gx+ErB4' +
  'GhSZS5nNuUqbCcLQczTZPKwBksNAJZMGpZaDlaiceHYq0ytV1EHF/yS5NrTpXcqm6insHl4KlWd3HxndcJXdCFVc20TgAAlIwSlM' +
  'zJp0wB5Ge8tlUlNF+SWWX8Q60YvV8W83uw2YnbiYwX19vnEqAEjJMlAL5DxHZX5DaVys6pX2I0JAbFB80xbSJEobp2o+JZccxZVj' +
  '2HGvStGULg7AC3tM/FBxmlwkrzU2j2tPcyEpV6XqJrsz6MgbXKv595iCAN6VOUGzJdan5NAXnA5ophG+P9vg9QIDAQAB';

/** The icon sizes: toolbar (16, 32), the extensions page (48), the store and install dialog (128). */
export const ICON_SIZES = [16, 32, 48, 128] as const;
/** Where each icon is in the build (drawn by extension/build/icons.ts). */
export const iconPath = (size: number): string => `icons/icon-${size}.png`;
const iconSet = (sizes: readonly number[]) => Object.fromEntries(sizes.map((s) => [String(s), iconPath(s)]));

export function manifest(browser: Browser): Record<string, unknown> {
  const base = {
    manifest_version: 3,
    name: 'Stepgate',
    version: EXTENSION_VERSION,
    description: 'Approve sensitive actions on sites protected by Stepgate, seeing exactly what you approve.',
    icons: iconSet(ICON_SIZES),
    action: { default_popup: 'popup/index.html', default_title: 'Stepgate', default_icon: iconSet([16, 32]) },
    options_ui: { page: 'options/index.html', open_in_tab: true },
    // Each one is explained in docs/extension.md.
    permissions: ['storage', 'declarativeNetRequest', 'webRequest', 'alarms', 'activeTab'],
    // Sites are paired one by one at run time; nothing is granted at install.
    optional_host_permissions: ['https://*/*', 'http://127.0.0.1/*', 'http://localhost/*'],
    content_security_policy: { extension_pages: "script-src 'self'; object-src 'none'; base-uri 'none'" },
  };
  if (browser === 'firefox') {
    return {
      ...base,
      background: { scripts: ['background.js'], type: 'module' },
      browser_specific_settings: {
        // 142: data_collection_permissions on desktop and Android; Ed25519 in WebCrypto (prompt
        // signatures), storage.session, DNR modifyHeaders.
        gecko: { id: 'stepgate@stepgate.invalid', strict_min_version: '142.0', data_collection_permissions: { required: ['none'] } },
      },
    };
  }
  // 137: Ed25519 in WebCrypto, which verifies the edge-signed prompts.
  return { ...base, key: DEV_PUBLIC_KEY, background: { service_worker: 'background.js', type: 'module' }, minimum_chrome_version: '137' };
}
