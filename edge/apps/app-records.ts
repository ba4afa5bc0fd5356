/**
 * @module loadAppRecords(): the apps in D1 (apps + app_hosts + app_policies), read whole by the
 * app registry in the background. Read only: the admin stores (edge/admin) write these tables.
 */
import type { AppRecord } from './app-definition';

interface Row {
  id: string;
  org_id: string;
  origin_url: string | null;
  identity_json: string;
  host: string;
  document_json: string | null;
}

/** Every app that has at least one host, with its hosts, identity and policy (null: none saved). */
export async function loadAppRecords(db: D1Database): Promise<AppRecord[]> {
  let results: Row[];
  try {
    ({ results } = await db
      .prepare(
        'SELECT a.id, a.org_id, a.origin_url, a.identity_json, h.host, p.document_json ' +
          'FROM app_hosts h JOIN apps a ON a.id = h.app_id LEFT JOIN app_policies p ON p.app_id = a.id ORDER BY a.id, h.host',
      )
      .all<Row>());
  } catch (err) {
    // A database from before migration 0009 has no apps: the bundled app alone, as before it.
    if (err instanceof Error && /no such table: (apps|app_hosts|app_policies)\b/.test(err.message)) return [];
    throw err;
  }
  const byId = new Map<string, AppRecord>();
  for (const r of results) {
    let app = byId.get(r.id);
    if (!app) {
      app = { id: r.id, org: r.org_id, hosts: [], originUrl: r.origin_url, identityJson: r.identity_json, policyJson: r.document_json };
      byId.set(r.id, app);
    }
    app.hosts.push(r.host);
  }
  return [...byId.values()];
}
