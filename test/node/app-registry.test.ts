/**
 * The app registry's promises (edge/apps/app-registry.ts): a policy version written to D1 reaches the
 * gateway within MAX_AGE_MS, with no D1 read on the request path in the steady state; a policy that
 * does not load never leaves a route unprotected (the last good version stays; none → 503, never
 * the weaker policy.json); canaries and the organisation baseline are compiled into the definition.
 */
import { describe, expect, it } from 'vitest';
import { type AppDefinition, type AppRecord, bundledApp } from '../../edge/apps/app-definition';
import type { LoadedApps } from '../../edge/apps/app-records';
import { AppRegistry, type HostAnswer, MAX_AGE_MS, REFRESH_MS, UNAVAILABLE } from '../../edge/apps/app-registry';
import { IdentityConfig } from '../../edge/identity/identity-config';
import { compilePolicy } from '../../edge/policy/compile-policy';
import { validatePolicy } from '../../edge/policy/validate-policy';

const identity = { source: 'jwt', cookie: 's', issuer: 'i', audience: 'a', loginUrl: '/login' };
const ruleFor = (id: string, method: string, path: string, mode?: 'report') => ({
  id,
  ...(mode ? { mode } : {}),
  match: { methods: [method], path },
  require: { factors: ['webauthn'], bind: 'action' },
});
const doc = (...rules: unknown[]) => ({ version: 1, rules });
const BUNDLED_DOC = doc(ruleFor('delete-project', 'DELETE', '/api/projects/*'));
const bundled = bundledApp(compilePolicy(validatePolicy(BUNDLED_DOC)), IdentityConfig.parse(identity), identity);

const appRecord = (policy: unknown, extra: Partial<AppRecord> = {}): AppRecord => ({
  id: 'shop-app',
  org: 'acme',
  hosts: ['shop.example'],
  originUrl: 'https://shop.internal',
  identityJson: JSON.stringify({ ...identity, jwksUrl: 'https://idp.example/jwks' }),
  policyJson: typeof policy === 'string' ? policy : JSON.stringify(policy),
  canaryPercent: null,
  canaryBaseJson: null,
  baselineJson: null,
  ...extra,
});
const noBundled = { policyJson: null, canaryPercent: null, canaryBaseJson: null, baselineJson: null };

/** A registry over a fake D1 whose contents the test sets, with a clock it moves. */
function setUp(initial: LoadedApps) {
  let now = 1_000_000;
  let current: LoadedApps | Error = initial;
  let loads = 0;
  const logs: string[] = [];
  const pending: Promise<unknown>[] = [];
  const registry = new AppRegistry({
    bundled,
    bundledPolicyJson: JSON.stringify(BUNDLED_DOC),
    bundledHosts: ['localhost'],
    load: async () => {
      loads++;
      if (current instanceof Error) throw current;
      return structuredClone(current);
    },
    now: () => now,
    log: (l) => logs.push(l),
  });
  const ec = { waitUntil: (p: Promise<unknown>) => void pending.push(p) };
  return {
    registry,
    logs,
    set: (next: LoadedApps | Error) => {
      current = next;
    },
    advance: (ms: number) => {
      now += ms;
    },
    loads: () => loads,
    /** A lookup as the middleware does it: awaited only when the registry answers with a promise. */
    lookup: async (host: string): Promise<{ answer: HostAnswer; waited: boolean }> => {
      const found = registry.lookup(host, ec);
      return found instanceof Promise ? { answer: await found, waited: true } : { answer: found, waited: false };
    },
    settle: () => Promise.all(pending.splice(0)),
  };
}

const decides = (answer: HostAnswer, method: string, path: string): string | null => {
  if (answer === null || answer === UNAVAILABLE) throw new Error(`no app: ${String(answer)}`);
  const segments = path.split('/').slice(1);
  return (answer as AppDefinition).policy.match(answer.bundled ? 'localhost' : 'shop.example', [method], segments)?.rule.id ?? null;
};

describe('propagation', () => {
  it('answers from memory in the steady state: one background load per REFRESH_MS, none on the request path', async () => {
    const t = setUp({ apps: [appRecord(doc())], bundled: noBundled });
    expect((await t.lookup('shop.example')).waited).toBe(true); // the isolate's first request loads
    expect(t.loads()).toBe(1);
    for (let i = 0; i < 10_000; i++) {
      const r = t.registry.lookup('shop.example', { waitUntil: () => {} });
      if (r instanceof Promise) throw new Error('a steady-state lookup waited');
    }
    expect(t.loads()).toBe(1);
    t.advance(REFRESH_MS);
    expect((await t.lookup('shop.example')).waited).toBe(false);
    await t.settle();
    expect(t.loads()).toBe(2); // refreshed in the background, after the answer
  });

  it('a new version applies by MAX_AGE_MS after it was written, even to an isolate that was quiet all along', async () => {
    const t = setUp({ apps: [appRecord(doc())], bundled: noBundled });
    expect(decides((await t.lookup('shop.example')).answer, 'POST', '/api/projects')).toBeNull();
    // Written just after the load started; no request for a long time: the next one must not see the old copy.
    t.set({ apps: [appRecord(doc(ruleFor('create-project', 'POST', '/api/projects')))], bundled: noBundled });
    t.advance(MAX_AGE_MS);
    const r = await t.lookup('shop.example');
    expect(r.waited).toBe(true);
    expect(decides(r.answer, 'POST', '/api/projects')).toBe('create-project');
  });

  it('under steady traffic every answer comes from a copy younger than MAX_AGE_MS', async () => {
    const t = setUp({ apps: [appRecord(doc())], bundled: noBundled });
    await t.lookup('shop.example');
    t.advance(1);
    t.set({ apps: [appRecord(doc(ruleFor('create-project', 'POST', '/api/projects')))], bundled: noBundled });
    let appliedAfter = -1;
    for (let ms = 0; ms <= MAX_AGE_MS + 1_000; ms += 250) {
      const r = await t.lookup('shop.example');
      await t.settle();
      if (decides(r.answer, 'POST', '/api/projects') === 'create-project') {
        appliedAfter = ms;
        break;
      }
      t.advance(250);
    }
    expect(appliedAfter).toBeGreaterThanOrEqual(0);
    expect(appliedAfter).toBeLessThanOrEqual(MAX_AGE_MS);
  });

  it('the bundled app takes its live version from D1, and policy.json until D1 has one', async () => {
    const t = setUp({ apps: [], bundled: noBundled });
    const first = await t.lookup('localhost');
    expect(first.answer).toBe(bundled);
    t.set({ apps: [], bundled: { ...noBundled, policyJson: JSON.stringify(doc(ruleFor('create-project', 'POST', '/api/projects'))) } });
    t.advance(MAX_AGE_MS);
    const live = await t.lookup('localhost');
    expect(live.answer).not.toBe(bundled);
    expect(decides(live.answer, 'POST', '/api/projects')).toBe('create-project');
    expect(decides(live.answer, 'DELETE', '/api/projects/7')).toBeNull();
    expect((live.answer as AppDefinition).identityConfig).toBe(bundled.identityConfig);
  });
});

describe('failing closed', () => {
  it('no copy of D1 ever loaded: every host, the bundled app’s too, gets 503 (D1 may hold a stricter version)', async () => {
    const t = setUp({ apps: [], bundled: noBundled });
    t.set(new Error('D1 is down'));
    expect((await t.lookup('localhost')).answer).toBe(UNAVAILABLE);
    expect((await t.lookup('shop.example')).answer).toBe(UNAVAILABLE);
    expect(t.logs.join('\n')).toMatch(/D1 failed \(no copy yet: 503/);
  });

  it('a failed refresh keeps the last good copy', async () => {
    const t = setUp({ apps: [appRecord(doc(ruleFor('create-project', 'POST', '/api/projects')))], bundled: noBundled });
    await t.lookup('shop.example');
    t.set(new Error('D1 is down'));
    t.advance(MAX_AGE_MS);
    expect(decides((await t.lookup('shop.example')).answer, 'POST', '/api/projects')).toBe('create-project');
  });

  it('a version that does not load leaves the last good one active, and says so once', async () => {
    const t = setUp({ apps: [appRecord(doc(ruleFor('create-project', 'POST', '/api/projects')))], bundled: noBundled });
    const good = (await t.lookup('shop.example')).answer;
    for (const broken of ['{"version": 1, "rules": [', JSON.stringify({ version: 1, rules: [{ id: 'x', match: { path: '/a[0-9]' } }] })]) {
      t.set({ apps: [appRecord(broken)], bundled: noBundled });
      t.advance(MAX_AGE_MS);
      const r = await t.lookup('shop.example');
      expect(r.answer).toBe(good);
    }
    expect(t.logs.filter((l) => l.includes('keeps its last good version')).length).toBe(2);
  });

  it('an isolate whose first copy has a version that does not load answers 503 for that app, not "unprotected"', async () => {
    const t = setUp({ apps: [appRecord('{"version": 2}')], bundled: { ...noBundled, policyJson: '{"version": 2}' } });
    expect((await t.lookup('shop.example')).answer).toBe(UNAVAILABLE);
    // The bundled app too: its D1 version does not load, and policy.json may be weaker than it.
    expect((await t.lookup('localhost')).answer).toBe(UNAVAILABLE);
  });

  it('a baseline that does not load fails the apps of its organisation closed', async () => {
    const t = setUp({ apps: [appRecord(doc(), { baselineJson: '{"version": 1, "rules": 5}' })], bundled: noBundled });
    expect((await t.lookup('shop.example')).answer).toBe(UNAVAILABLE);
  });
});

describe('what a definition holds', () => {
  it('the organisation baseline comes first, as baseline.<id>, and an app rule cannot shadow it', async () => {
    const baseline = JSON.stringify(doc(ruleFor('no-deletes', 'DELETE', '/api/**')));
    const appDoc = doc({
      id: 'weak',
      match: { methods: ['DELETE'], path: '/api/projects/*' },
      require: { factors: ['totp'], bind: 'session' },
    });
    const t = setUp({ apps: [appRecord(appDoc, { baselineJson: baseline })], bundled: noBundled });
    expect(decides((await t.lookup('shop.example')).answer, 'DELETE', '/api/projects/7')).toBe('baseline.no-deletes');
  });

  it('a canary holds the version active before, compiled, with its share', async () => {
    const before = doc();
    const after = doc(ruleFor('create-project', 'POST', '/api/projects'));
    const t = setUp({ apps: [appRecord(after, { canaryPercent: 10, canaryBaseJson: JSON.stringify(before) })], bundled: noBundled });
    const app = (await t.lookup('shop.example')).answer as AppDefinition;
    expect(app.canary?.percent).toBe(10);
    expect(app.canary?.base.match('shop.example', ['POST'], ['api', 'projects'])).toBeNull();
    expect(decides(app, 'POST', '/api/projects')).toBe('create-project');
  });
});
