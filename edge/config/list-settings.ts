/**
 * @module The comma-separated settings (WEBAUTHN_ORIGINS; BUNDLED_APP_HOSTS; CONSOLE_HOSTS; ADMINS and AUDITORS, retired),
 * read one way for the Runtime (build-runtime.ts), the production checks and `stepgate doctor`, so all judge the same list.
 */

/** The variables that hold a comma-separated list. */
export interface ListSettings {
  /** Retired (roles live in D1 now): a production gateway refuses to start while either is set. */
  ADMINS?: string | undefined;
  AUDITORS?: string | undefined;
  WEBAUTHN_ORIGINS?: string | undefined;
  /** The hosts the bundled app serves when policy.json has no `hosts` list (edge/apps/app-registry.ts). */
  BUNDLED_APP_HOSTS?: string | undefined;
  /** The only hosts where the console, the admin API and the token endpoints answer (edge/endpoints/console-hosts.ts); unset: all. */
  CONSOLE_HOSTS?: string | undefined;
}

/** The entries of a comma-separated setting, trimmed, empty ones dropped ("" or unset: none). */
export const listSetting = (env: ListSettings, name: keyof ListSettings): string[] =>
  String(env[name] ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);

/**
 * CONSOLE_HOSTS as requests' canonical host names are compared: lower case, no trailing dot. Entries are kept
 * even when malformed: one that no host matches closes the console there, it never opens it elsewhere.
 */
export const consoleHostsSetting = (env: ListSettings): string[] =>
  listSetting(env, 'CONSOLE_HOSTS').map((h) => h.toLowerCase().replace(/\.$/, ''));
