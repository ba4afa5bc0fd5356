/**
 * @module readGroups: a person's groups from their identity (a JWT claim, the "who am I" answer's
 * field, the development header), for approver groups `{ "claimGroup": … }` (docs/policy.md).
 * Groups only ever grant the right to approve, so a value that does not fit is dropped, never an
 * error: a malformed claim means "no groups", not "no identity". Bounded so no token or answer can
 * make Stepgate hold more than MAX_GROUPS × MAX_GROUP_CHARS per identity.
 */

/** Most groups kept per identity; values after the first MAX_GROUPS usable ones are dropped. */
export const MAX_GROUPS = 64;
/** Longest group name kept, characters; longer values are dropped (never cut: a prefix may be another group). */
export const MAX_GROUP_CHARS = 128;
/** Most entries of an array looked at (bounded work on a hostile answer). */
const MAX_SCANNED = 1024;

/**
 * The groups in `value`: a string (one group) or an array of strings, each 1..MAX_GROUP_CHARS
 * characters, duplicates removed, at most MAX_GROUPS. Anything else (an object, a number, null,
 * absent) is no groups: `[]`.
 */
export function readGroups(value: unknown): string[] {
  const candidates = typeof value === 'string' ? [value] : Array.isArray(value) ? value.slice(0, MAX_SCANNED) : [];
  const out = new Set<string>();
  for (const v of candidates) {
    if (out.size >= MAX_GROUPS) break;
    if (typeof v === 'string' && v.length >= 1 && v.length <= MAX_GROUP_CHARS) out.add(v);
  }
  return [...out];
}

/** The value at a dot path (`groups`, `user.roles`) of a JSON document; own properties only; undefined when absent. */
export function valueAt(doc: unknown, path: string): unknown {
  let at: unknown = doc;
  for (const key of path.split('.')) {
    // Own properties only: never `constructor`, `__proto__` or anything inherited.
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** The header the development source reads groups from (ENVIRONMENT "development" only). */
export const DEV_GROUPS_HEADER = 'stepgate-dev-groups';

/** The development source's groups header: comma-separated names, each trimmed; undefined when the header is absent. */
export function devGroups(header: string | null): string[] | undefined {
  if (header === null) return undefined;
  return readGroups(header.split(',').map((g) => g.trim()));
}

/** `{ groups }` when a groups source is configured, else nothing: so `groups` is absent, not undefined-valued, without config. */
export const groupsPart = (configured: boolean, value: unknown): { groups?: readonly string[] } =>
  configured ? { groups: readGroups(value) } : {};
