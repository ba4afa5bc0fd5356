/**
 * @module The comma-separated settings (WEBAUTHN_ORIGINS; BUNDLED_APP_HOSTS; ADMINS and AUDITORS, retired), read one way for the
 * Runtime (build-runtime.ts) and for the production checks, so both judge the same list.
 */

/** The variables that hold a comma-separated list. */
export interface ListSettings {
  /** Retired (roles live in D1 now): a production gateway refuses to start while either is set. */
  ADMINS?: string | undefined;
  AUDITORS?: string | undefined;
  WEBAUTHN_ORIGINS?: string | undefined;
  /** The hosts the bundled app serves when policy.json has no `hosts` list (edge/apps/app-registry.ts). */
  BUNDLED_APP_HOSTS?: string | undefined;
}

/** The entries of a comma-separated setting, trimmed, empty ones dropped ("" or unset: none). */
export const listSetting = (env: ListSettings, name: keyof ListSettings): string[] =>
  String(env[name] ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
