/**
 * @module The SQLite tables in which the audit sequencer folds denials (denial-folding.ts): their
 * schema, the columns added since the first version (an object may still hold an open window made
 * by it), and the shapes of their rows.
 */

/** Anonymous denials are folded per network, a signed-in person's per person. */
export type DenialKind = 'anonymous' | 'person';

/** The tables, as first created. */
const DENIAL_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS denial_windows (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, ' +
    'starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL, closed INTEGER NOT NULL DEFAULT 0)',
  // One row per client (other = 0), or per reason and rule of a kind's overflow bucket (other = 1).
  'CREATE TABLE IF NOT EXISTS denial_counts (win INTEGER NOT NULL, key TEXT NOT NULL, other INTEGER NOT NULL, ' +
    'reason TEXT, rule TEXT, app TEXT, request TEXT, denied INTEGER NOT NULL, recorded INTEGER NOT NULL, ' +
    "kind TEXT NOT NULL DEFAULT 'anonymous', actor TEXT, via TEXT, network TEXT, PRIMARY KEY (win, key))",
  // The distinct networks (or people) of a kind's overflow bucket, as JSON [kind, network or actor].
  'CREATE TABLE IF NOT EXISTS denial_clients (win INTEGER NOT NULL, ' +
    "ip TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'anonymous', PRIMARY KEY (win, ip))",
];
/** Columns added since the first version of the tables, which an object may still hold with an open window. */
const DENIAL_COLUMNS: readonly (readonly [table: string, column: string, declaration: string])[] = [
  ['denial_counts', 'kind', "TEXT NOT NULL DEFAULT 'anonymous'"],
  ['denial_counts', 'actor', 'TEXT'],
  ['denial_counts', 'via', 'TEXT'],
  ['denial_counts', 'network', 'TEXT'],
  ['denial_clients', 'kind', "TEXT NOT NULL DEFAULT 'anonymous'"],
  // The organisation and app of a client's denials (each organisation's are counted apart).
  ['denial_counts', 'org', 'TEXT'],
  ['denial_counts', 'app_id', 'TEXT'],
  ['denial_clients', 'org', 'TEXT'],
];

/** A `denial_windows` row: a window of `DENIAL_WINDOW_MS` in which denials are counted. */
export type DenialWindow = {
  id: number;
  tenant: string;
  starts_at: number;
  ends_at: number;
};

/** A `denial_counts` row: one client's denials in a window, or one reason and rule of an overflow bucket (`other` = 1). */
export type DenialCount = {
  other: number;
  kind: DenialKind;
  reason: string | null;
  rule: string | null;
  app: string | null;
  request: string | null;
  actor: string | null;
  via: string | null;
  network: string | null;
  /** The organisation (null: "default", or a window opened before the column existed). */
  org: string | null;
  app_id: string | null;
  denied: number;
  recorded: number;
};

/** The network or person of a `denial_clients` row (JSON [kind, who]; a bare IP from the first version of the table). */
export function whoOf(stored: string): string {
  try {
    const v: unknown = JSON.parse(stored);
    if (Array.isArray(v)) return typeof v[1] === 'string' ? v[1] : '-';
  } catch {
    // A bare IP.
  }
  return stored === '' ? '-' : stored;
}

/** Create the tables, and add the columns an older version of them lacks. */
export function createDenialTables(sql: SqlStorage): void {
  for (const s of DENIAL_SCHEMA) sql.exec(s);
  for (const [table, column, declaration] of DENIAL_COLUMNS) {
    const has = sql.exec('SELECT 1 FROM pragma_table_info(?) WHERE name = ?', table, column).toArray().length > 0;
    if (!has) sql.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${declaration}`);
  }
}
