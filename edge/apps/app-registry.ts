/**
 * @module AppRegistry: which app a host belongs to — the bundled app (org "default", IDENTITY,
 * ORIGIN_URL, its policy live in D1 from policy.json on) and the apps in D1 — by exact lower-case
 * host name, each with its compiled active policy (the organisation's baseline first, a canary's
 * base beside it). Loaded once per isolate, then refreshed in the background when the copy is
 * REFRESH_MS old; a copy older than MAX_AGE_MS is never used while D1 answers (the request waits
 * for the refresh), so a new policy version reaches every isolate within MAX_AGE_MS with no D1 read
 * on the request path in the steady state. A refresh that fails keeps the last good copy; an app
 * whose new definition does not load keeps its last good one; with none, its hosts get 503.
 */
import { compilePolicy, type CompiledPolicy } from '../policy/compile-policy';
import { readBaseline } from '../policy/baseline-document';
import { mergeBaseline } from '../policy/baseline-merge';
import { validatePolicy } from '../policy/validate-policy';
import { type AppDefinition, type AppRecord, canonicalizeOptionsOf, defineApp, type PolicyCanary } from './app-definition';
import type { BundledRecord, LoadedApps } from './app-records';

/** A host that some app claims but that cannot be served (an invalid app, a conflict, the apps not loaded yet): 503. */
export const UNAVAILABLE = Symbol('unavailable');

/** The app of a host; UNAVAILABLE; or null when no app claims it (421). */
export type HostAnswer = AppDefinition | typeof UNAVAILABLE | null;

/** Age of the copy at which it is refreshed in the background (the request does not wait). */
export const REFRESH_MS = 5_000;
/** The oldest copy a request is answered from while D1 answers: the bound on how long a new policy takes to apply. */
export const MAX_AGE_MS = 10_000;
/** After a failed load: how long before the next try. */
const RETRY_MS = 1_000;

export interface AppRegistryOptions {
  bundled: AppDefinition;
  /** The bundled app's policy.json as text: its version 1, what D1 holds until the first change. */
  bundledPolicyJson: string;
  /** The apps in D1, the bundled app's live policy and the baselines. */
  load(): Promise<LoadedApps>;
  /** Clock (ms). */
  now(): number;
  /** Default REFRESH_MS. */
  refreshMs?: number;
  /** Default MAX_AGE_MS. */
  maxAgeMs?: number;
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
  bundled: AppDefinition | typeof UNAVAILABLE;
}

type Defined = AppDefinition | { reason: string };

export class AppRegistry {
  private snapshot: Snapshot | null = null;
  /** When the load behind `snapshot` started: its age bounds how old a policy can be. */
  private loadedAt = Number.NEGATIVE_INFINITY;
  private attemptAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | null = null;
  /** Compiled policies by baseline and document text: compiled once, reused across refreshes. */
  private compiled = new Map<string, CompiledPolicy>();
  /** Definitions by everything they are made of: the same object while the rows are unchanged. */
  private defined = new Map<string, Defined>();
  /** The last definition of each app (by id) that loaded: kept when a newer one does not. */
  private lastGood = new Map<string, AppDefinition>();
  /** Problems logged while they persist, so each is logged once. */
  private problems = new Set<string>();
  private readonly bundled: AppDefinition;
  private readonly bundledHosts: ((host: string) => boolean) | null;
  private readonly bundledClaims: (host: string) => boolean;
  private readonly refreshMs: number;
  private readonly maxAgeMs: number;
  private readonly log: (line: string) => void;

  constructor(private readonly options: AppRegistryOptions) {
    this.bundled = options.bundled;
    const policy = options.bundled.policy;
    // The hosts the bundled app serves: policy.json's `hosts`, else BUNDLED_APP_HOSTS, else every host.
    // Fixed at start: a version edited in the console keeps serving them (the admin API checks it).
    const listed = options.bundledHosts?.length ? new Set(options.bundledHosts.map((h) => h.toLowerCase())) : null;
    this.bundledHosts = policy.policy.hosts ? (h) => policy.servesHost(h) : listed ? (h) => listed.has(h) : null;
    // Why: the bundled app keeps every host it serves. Without a list of its hosts it serves any host,
    // so no app in D1 is served; with one, an app in D1 can never take (or knock out) one of its hosts.
    this.bundledClaims = (h) => (this.bundledHosts === null ? true : this.bundledHosts(h));
    this.refreshMs = options.refreshMs ?? REFRESH_MS;
    this.maxAgeMs = options.maxAgeMs ?? MAX_AGE_MS;
    this.log = options.log ?? ((line) => console.error(line));
  }

  /**
   * The app of a (canonical) host name. Synchronous while the copy is younger than `maxAgeMs` (and
   * refreshed in the background, through `ec.waitUntil`, once it is `refreshMs` old); an older copy,
   * or none, waits for a load — unless one just failed: then the last good copy answers, or 503.
   */
  lookup(hostname: string, ec: { waitUntil(p: Promise<unknown>): void } | undefined): HostAnswer | Promise<HostAnswer> {
    const now = this.options.now();
    const age = now - this.loadedAt;
    const mayTry = this.inflight === null && now - this.attemptAt >= (this.snapshot && age < this.maxAgeMs ? this.refreshMs : RETRY_MS);
    if (age >= this.maxAgeMs) {
      // Too old to trust (or never loaded): wait for a fresh copy.
      if (mayTry) this.refresh();
      const pending = this.inflight;
      if (pending !== null) return pending.then(() => this.answer(hostname));
      return this.answer(hostname);
    }
    if (mayTry && age >= this.refreshMs) ec?.waitUntil(this.refresh());
    return this.answer(hostname);
  }

  private answer(hostname: string): HostAnswer {
    const s = this.snapshot;
    // Why: with no copy of D1, even the bundled app's hosts get 503 — D1 may hold a stricter version than policy.json.
    if (s === null) return UNAVAILABLE;
    const found = s.byHost.get(hostname);
    if (found !== undefined) return found;
    return this.bundledClaims(hostname) ? s.bundled : null;
  }

  /** Load the apps and replace the copy; on failure keep the last good copy and log one line. Never rejects. */
  private refresh(): Promise<void> {
    const startedAt = this.options.now();
    this.attemptAt = startedAt;
    const p = this.options
      .load()
      .then(
        (loaded) => {
          this.snapshot = this.build(loaded);
          this.loadedAt = startedAt;
        },
        (err: unknown) => {
          const kept = this.snapshot ? 'keeping the last good copy' : 'no copy yet: 503 until one loads';
          this.log(`stepgate: apps: loading the apps from D1 failed (${kept}): ${err instanceof Error ? err.message : 'non-error'}`);
        },
      )
      .finally(() => {
        this.inflight = null;
      });
    this.inflight = p;
    return p;
  }

  private build(loaded: LoadedApps): Snapshot {
    const byHost = new Map<string, AppDefinition | typeof UNAVAILABLE>();
    const defined = new Map<string, Defined>();
    const compiled = new Map<string, CompiledPolicy>();
    const problems = new Set<string>();
    const compile = (doc: string, baseline: string | null): CompiledPolicy => {
      const key = `${baseline ?? ''}\u0000${doc}`;
      const policy = this.compiled.get(key) ?? compiled.get(key) ?? compileEffective(doc, baseline);
      compiled.set(key, policy);
      return policy;
    };
    /** A definition, else the app's last good one (logged), else why it cannot be served. */
    const settle = (id: string, key: string, make: () => AppDefinition): Defined => {
      let d = this.defined.get(key);
      if (d === undefined) {
        try {
          d = make();
        } catch (err) {
          d = { reason: err instanceof Error ? err.message : 'non-error' };
        }
      }
      defined.set(key, d);
      if (!('reason' in d)) {
        this.lastGood.set(id, d);
        return d;
      }
      const kept = this.lastGood.get(id);
      problems.add(`app "${id}" ${kept ? 'keeps its last good version' : 'is not served (503)'}: ${d.reason}`);
      return kept ?? d;
    };

    const bundled = this.defineBundled(loaded.bundled, compile, settle);
    for (const r of loaded.apps) {
      const key = JSON.stringify([
        r.id,
        r.org,
        r.hosts,
        r.originUrl,
        r.identityJson,
        r.policyJson,
        r.canaryPercent,
        r.canaryBaseJson,
        r.baselineJson,
      ]);
      const d = settle(r.id, key, () =>
        withCanary(
          defineApp(r, (doc) => compile(doc, r.baselineJson)),
          r,
          compile,
        ),
      );
      for (const h of r.hosts) {
        if (this.bundledClaims(h)) {
          problems.add(
            this.bundledHosts === null
              ? `app "${r.id}" is not served: the bundled app serves every host (give policy.json a "hosts" list, or set BUNDLED_APP_HOSTS)`
              : `host "${h}" is the bundled app's (policy.json "hosts" or BUNDLED_APP_HOSTS), so app "${r.id}" is not served there`,
          );
        } else byHost.set(h, 'reason' in d || !d.hosts.includes(h) ? UNAVAILABLE : d);
      }
    }
    for (const p of problems) if (!this.problems.has(p)) this.log(`stepgate: apps: ${p}`);
    this.problems = problems;
    this.defined = defined;
    this.compiled = compiled;
    return { byHost, bundled };
  }

  /** The bundled app with its live policy: policy.json itself while D1 holds neither a version nor a baseline for it. */
  private defineBundled(
    b: BundledRecord,
    compile: (doc: string, baseline: string | null) => CompiledPolicy,
    settle: (id: string, key: string, make: () => AppDefinition) => Defined,
  ): AppDefinition | typeof UNAVAILABLE {
    if (b.policyJson === null && b.baselineJson === null) return this.bundled;
    const key = JSON.stringify(['bundled', b.policyJson, b.canaryPercent, b.canaryBaseJson, b.baselineJson]);
    const d = settle(this.bundled.id, key, () => {
      const policy = compile(b.policyJson ?? this.options.bundledPolicyJson, b.baselineJson);
      const app = { ...this.bundled, policy, canonicalize: canonicalizeOptionsOf(policy) };
      return withCanary(app, { ...b, baselineJson: b.baselineJson }, compile);
    });
    return 'reason' in d ? UNAVAILABLE : d;
  }
}

/**
 * The policy an app runs: its document with the organisation's baseline rules first.
 *
 * @throws {Error} when the document or the baseline does not load (the caller keeps the last good version)
 */
function compileEffective(doc: string, baselineJson: string | null): CompiledPolicy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(doc);
  } catch {
    throw new Error('policy: the document is not JSON');
  }
  const policy = validatePolicy(parsed, 'app_policies.document_json');
  if (baselineJson === null) return compilePolicy(policy);
  const baseline = readBaseline(baselineJson);
  if (baseline === null) throw new Error('the organisation baseline does not load');
  return compilePolicy(validatePolicy(mergeBaseline(baseline, policy), 'policy with the organisation baseline'));
}

/** The app with its canary (the version active before, for the people outside its share), when it has one. */
function withCanary(
  app: AppDefinition,
  r: Pick<AppRecord, 'canaryPercent' | 'canaryBaseJson' | 'baselineJson'>,
  compile: (doc: string, baseline: string | null) => CompiledPolicy,
): AppDefinition {
  if (r.canaryPercent === null || r.canaryBaseJson === null) return app;
  if (!Number.isInteger(r.canaryPercent) || r.canaryPercent < 1 || r.canaryPercent > 99) throw new Error('canary_percent is not 1–99');
  const canary: PolicyCanary = { base: compile(r.canaryBaseJson, r.baselineJson), percent: r.canaryPercent };
  return { ...app, canary };
}
