/**
 * @module AppRegistry: which app a host belongs to — the bundled app (policy.json, IDENTITY,
 * ORIGIN_URL, org "default") and the apps in D1 — by exact lower-case host name. Loaded once per
 * isolate (the only lookup that waits on D1), then refreshed in the background every 10 s
 * (stale-while-revalidate); a failed refresh keeps the last good copy and logs one line.
 */
import type { CompiledPolicy } from '../policy/compile-policy';
import { type AppDefinition, type AppRecord, compilePolicyJson, defineApp } from './app-definition';

/** A host that some app claims but that cannot be served (an invalid app, a conflict, the apps not loaded yet): 503. */
export const UNAVAILABLE = Symbol('unavailable');

/** The app of a host; UNAVAILABLE; or null when no app claims it (421). */
export type HostAnswer = AppDefinition | typeof UNAVAILABLE | null;

/** How long a copy of the apps is used before it is refreshed in the background. */
export const REFRESH_MS = 10_000;
/** While no copy was ever loaded: how often to try again (in the background). */
const RETRY_MS = 1_000;

export interface AppRegistryOptions {
  bundled: AppDefinition;
  /** The apps in D1. */
  load(): Promise<AppRecord[]>;
  /** Clock (ms). */
  now(): number;
  /** Default REFRESH_MS. */
  refreshMs?: number;
  /** One line for the operator (default console.error). */
  log?(line: string): void;
  /**
   * The hosts the bundled app serves when policy.json has no `hosts` list (BUNDLED_APP_HOSTS); empty
   * or absent: every host no other list names.
   */
  bundledHosts?: readonly string[];
}

interface Snapshot {
  byHost: Map<string, AppDefinition | typeof UNAVAILABLE>;
  /** Organisations other than "default" with an app served. */
}

type Defined = AppDefinition | { reason: string };

export class AppRegistry {
  private snapshot: Snapshot | null = null;
  private attemptAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | null = null;
  private first: Promise<void> | null = null;
  /** Compiled policies by document text: compiled once, reused across refreshes. */
  private compiled = new Map<string, CompiledPolicy>();
  /** Definitions by everything they are made of: the same object while the rows are unchanged. */
  private defined = new Map<string, Defined>();
  /** Problems logged while they persist, so each is logged once. */
  private problems = new Set<string>();
  private readonly bundled: AppDefinition;
  private readonly bundledHosts: ((host: string) => boolean) | null;
  private readonly bundledClaims: (host: string) => boolean;
  private readonly refreshMs: number;
  private readonly log: (line: string) => void;

  constructor(private readonly options: AppRegistryOptions) {
    this.bundled = options.bundled;
    const policy = options.bundled.policy;
    // The hosts the bundled app serves: policy.json's `hosts`, else BUNDLED_APP_HOSTS, else every host.
    const listed = options.bundledHosts?.length ? new Set(options.bundledHosts.map((h) => h.toLowerCase())) : null;
    this.bundledHosts = policy.policy.hosts ? (h) => policy.servesHost(h) : listed ? (h) => listed.has(h) : null;
    // Why: the bundled app keeps every host it serves. Without a list of its hosts it serves any host,
    // so no app in D1 is served; with one, an app in D1 can never take (or knock out) one of its hosts.
    this.bundledClaims = (h) => (this.bundledHosts === null ? true : this.bundledHosts(h));
    this.refreshMs = options.refreshMs ?? REFRESH_MS;
    this.log = options.log ?? ((line) => console.error(line));
  }

  /**
   * The app of a (canonical) host name. Synchronous once a copy is loaded; a stale copy is
   * answered from and refreshed after the answer (through `ec.waitUntil`).
   */
  lookup(hostname: string, ec: { waitUntil(p: Promise<unknown>): void } | undefined): HostAnswer | Promise<HostAnswer> {
    // The very first lookup of an isolate (and those arriving while it loads) waits; none after it.
    if (this.first === null && this.attemptAt === Number.NEGATIVE_INFINITY) this.first = this.refresh();
    if (this.first !== null) return this.first.then(() => this.answer(hostname));
    const now = this.options.now();
    if (this.inflight === null && now - this.attemptAt >= (this.snapshot ? this.refreshMs : RETRY_MS)) {
      const p = this.refresh();
      ec?.waitUntil(p);
    }
    return this.answer(hostname);
  }

  private answer(hostname: string): HostAnswer {
    const s = this.snapshot;
    if (s === null) {
      // No copy of D1's apps: only what the bundled policy names for itself is known to be its own.
      return this.bundledClaims(hostname) ? this.bundled : UNAVAILABLE;
    }
    const found = s.byHost.get(hostname);
    if (found !== undefined) return found;
    return this.bundledClaims(hostname) ? this.bundled : null;
  }

  /** Load the apps and replace the copy; on failure keep the last good copy and log one line. Never rejects. */
  private refresh(): Promise<void> {
    this.attemptAt = this.options.now();
    const p = this.options
      .load()
      .then(
        (records) => {
          this.snapshot = this.build(records);
        },
        (err: unknown) => {
          const kept = this.snapshot ? 'keeping the last good copy' : 'no copy yet: hosts the bundled policy does not name get 503';
          this.log(`stepgate: apps: loading the apps from D1 failed (${kept}): ${err instanceof Error ? err.message : 'non-error'}`);
        },
      )
      .finally(() => {
        this.inflight = null;
        this.first = null;
      });
    this.inflight = p;
    return p;
  }

  private build(records: AppRecord[]): Snapshot {
    const byHost = new Map<string, AppDefinition | typeof UNAVAILABLE>();
    const defined = new Map<string, Defined>();
    const compiled = new Map<string, CompiledPolicy>();
    const problems = new Set<string>();
    const compile = (doc: string): CompiledPolicy => {
      const policy = this.compiled.get(doc) ?? compiled.get(doc) ?? compilePolicyJson(doc, 'app_policies.document_json');
      compiled.set(doc, policy);
      return policy;
    };
    for (const r of records) {
      const key = JSON.stringify([r.id, r.org, r.hosts, r.originUrl, r.identityJson, r.policyJson]);
      let d = this.defined.get(key);
      if (d === undefined) {
        try {
          d = defineApp(r, compile);
        } catch (err) {
          d = { reason: err instanceof Error ? err.message : 'non-error' };
        }
      } else if ('policy' in d && r.policyJson !== null) compiled.set(r.policyJson, d.policy);
      defined.set(key, d);
      if ('reason' in d) problems.add(`app "${r.id}" is not served (503 for ${r.hosts.join(', ')}): ${d.reason}`);
      for (const h of r.hosts) {
        if (this.bundledClaims(h)) {
          problems.add(
            this.bundledHosts === null
              ? `app "${r.id}" is not served: the bundled app serves every host (give policy.json a "hosts" list, or set BUNDLED_APP_HOSTS)`
              : `host "${h}" is the bundled app's (policy.json "hosts" or BUNDLED_APP_HOSTS), so app "${r.id}" is not served there`,
          );
        } else byHost.set(h, 'reason' in d ? UNAVAILABLE : d);
      }
    }
    for (const p of problems) if (!this.problems.has(p)) this.log(`stepgate: apps: ${p}`);
    this.problems = problems;
    this.defined = defined;
    this.compiled = compiled;
    return { byHost };
  }
}
