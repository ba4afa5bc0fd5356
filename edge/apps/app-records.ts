/**
 * @module loadAppRecords(): the apps in D1 (apps + app_hosts + app_policies), the bundled app's live
 * policy and the organisations' baselines, read whole by the app registry in the background, in one
 * D1 batch (one consistent snapshot). Read only: the admin stores (edge/admin) write these tables.
 */
import { BUNDLED_APP_ID, DEFAULT_ORG, type AppRecord } from './app-definition';

interface AppRow {
  id: string;
  org_id: string;
  origin_url: string | null;
  identity_json: string;
  host: string;
  document_json: string | null;
  canary_percent: number | null;
  canary_base_json: string | null;
}

interface PolicyRow {
  document_json: string;
  canary_percent: number | null;
  canary_base_json: string | null;
}

/** The bundled app's policy as D1 holds it (migration 0016), or null: policy.json, never changed. */
export interface BundledRecord {
  policyJson: string | null;
  canaryPercent: number | null;
  canaryBaseJson: string | null;
  /** The default organisation's baseline. */
  baselineJson: string | null;
}

export interface LoadedApps {
  /** Every app that has at least one host. */
  apps: AppRecord[];
  bundled: BundledRecord;
}

/** The apps in D1 with their hosts, identity, policy (null: none saved), canary and baseline; the bundled app's policy. */
export async function loadAppRecords(db: D1Database): Promise<LoadedApps> {
  let apps: AppRow[];
  let bundled: PolicyRow[];
  let baselines: { org_id: string; document_json: string }[];
  try {
    const [a, b, o] = await db.batch([
      db.prepare(
        'SELECT a.id, a.org_id, a.origin_url, a.identity_json, h.host, p.document_json, p.canary_percent, p.canary_base_json ' +
          'FROM app_hosts h JOIN apps a ON a.id = h.app_id LEFT JOIN app_policies p ON p.app_id = a.id ORDER BY a.id, h.host',
      ),
      db.prepare('SELECT document_json, canary_percent, canary_base_json FROM app_policies WHERE app_id = ?').bind(BUNDLED_APP_ID),
      db.prepare('SELECT org_id, document_json FROM org_policy_baselines'),
    ]);
    apps = (a?.results ?? []) as AppRow[];
    bundled = (b?.results ?? []) as PolicyRow[];
    baselines = (o?.results ?? []) as { org_id: string; document_json: string }[];
  } catch (err) {
    // A database from before migration 0009 has no apps: the bundled app alone, as before it. One
    // between 0009 and 0016 fails here, loudly: the registry keeps what it had, or fails closed.
    if (err instanceof Error && /no such table: (apps|app_hosts|app_policies)\b/.test(err.message))
      return { apps: [], bundled: { policyJson: null, canaryPercent: null, canaryBaseJson: null, baselineJson: null } };
    throw err;
  }
  const baselineOf = new Map(baselines.map((r) => [r.org_id, r.document_json]));
  const byId = new Map<string, AppRecord>();
  for (const r of apps) {
    let app = byId.get(r.id);
    if (!app) {
      app = {
        id: r.id,
        org: r.org_id,
        hosts: [],
        originUrl: r.origin_url,
        identityJson: r.identity_json,
        policyJson: r.document_json,
        canaryPercent: r.canary_percent,
        canaryBaseJson: r.canary_base_json,
        baselineJson: baselineOf.get(r.org_id) ?? null,
      };
      byId.set(r.id, app);
    }
    app.hosts.push(r.host);
  }
  const b = bundled[0];
  return {
    apps: [...byId.values()],
    bundled: {
      policyJson: b?.document_json ?? null,
      canaryPercent: b?.canary_percent ?? null,
      canaryBaseJson: b?.canary_base_json ?? null,
      baselineJson: baselineOf.get(DEFAULT_ORG) ?? null,
    },
  };
}
