/** @module The MV3 manifest, generated from TypeScript: one source, one Firefox branch. */

export type Browser = 'chrome' | 'firefox';

export const EXTENSION_VERSION = '0.1.0';

export function manifest(browser: Browser): Record<string, unknown> {
  const base = {
    manifest_version: 3,
    name: 'Stepgate',
    version: EXTENSION_VERSION,
    description: 'Approve sensitive actions on sites protected by Stepgate, seeing exactly what you approve.',
    action: { default_popup: 'popup/index.html', default_title: 'Stepgate' },
    permissions: ['storage'],
    // Sites are paired one by one at run time; nothing is granted at install.
    optional_host_permissions: ['https://*/*', 'http://127.0.0.1/*', 'http://localhost/*'],
    content_security_policy: { extension_pages: "script-src 'self'; object-src 'none'; base-uri 'none'" },
  };
  if (browser === 'firefox') {
    return {
      ...base,
      background: { scripts: ['background.js'], type: 'module' },
      browser_specific_settings: { gecko: { id: 'stepgate@stepgate.invalid', strict_min_version: '128.0' } },
    };
  }
  return { ...base, background: { service_worker: 'background.js', type: 'module' }, minimum_chrome_version: '122' };
}
