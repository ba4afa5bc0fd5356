/**
 * @module The fresh-action-approval part of the request-path bench: the whole flow a person goes
 * through for a `bind: "action"` rule (the demo's `delete-project`), with a passkey answered by a
 * software authenticator (test/support/soft-authenticator.ts: real ECDSA, real CBOR) — the DELETE,
 * its 401 with a challenge, the WebAuthn options, the signed assertion, the verification, and the
 * same DELETE again, which is forwarded once. People run `concurrency` at a time, each their flows
 * one after another, within the challenge limits (a new session every 8 flows, a new person every 25).
 *
 * Reports flows per second, the latency of a whole flow and of the approved request alone, and
 * workerd's CPU per flow; and, measured the same way from the same client, one DELETE through the
 * bare pass-through Worker, so the approved request's latency is quoted as a ratio of a bare one.
 */
import { SoftAuthenticator } from '../support/soft-authenticator';
import { cpuSeconds, median } from './load';
import { demoSession } from './protected-setup';

export interface ApprovalFlowFigures {
  flows: number;
  flowsPerSecond: number;
  flowP50: number;
  flowP99: number;
  approvedP50: number;
  approvedP99: number;
  bareP50: number;
  bareP99: number;
  cpuMsPerFlow: number;
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

async function json<T>(r: Response, what: string, status = 200): Promise<T> {
  if (r.status !== status) throw new Error(`approval bench: ${what} answered ${r.status}: ${(await r.text()).slice(0, 300)}`);
  return (await r.json()) as T;
}

/** A person with a passkey (their first factor), signed in on a session of their own. */
async function personWithPasskey(base: URL, secret: string, user: string) {
  const key = new SoftAuthenticator(base.origin, base.hostname);
  const sessions = new Map<number, Promise<string>>();
  /** The cookie of the person's session `n` (each session may open 10 challenges a minute). */
  const sessionCookie = (n: number) => {
    if (!sessions.has(n)) sessions.set(n, demoSession(secret, user, `${user}-s${n}`));
    return sessions.get(n)!;
  };
  const postAs = async (cookie: string, path: string, body: unknown) =>
    fetch(new URL(path, base), {
      method: 'POST',
      headers: { cookie, origin: base.origin, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const post = async (path: string, body: unknown) => postAs(await sessionCookie(0), path, body);
  const options = await json<{ challenge: string }>(await post('/.stepgate/api/factors/webauthn/options', {}), 'passkey options');
  await json(
    await post('/.stepgate/api/factors/webauthn/verify', { response: await key.register(options), nickname: 'bench' }),
    'passkey registration',
    201,
  );
  return {
    /** One whole flow on `path`: ms for the flow and for the approved request. */
    async flow(path: string, session: number): Promise<{ flowMs: number; approvedMs: number }> {
      const cookie = await sessionCookie(session);
      const post = (p: string, body: unknown) => postAs(cookie, p, body);
      const t0 = performance.now();
      const url = new URL(path, base);
      const { challenge_id } = await json<{ challenge_id: string }>(
        await fetch(url, { method: 'DELETE', headers: { cookie } }),
        'the DELETE',
        401,
      );
      const opts = await json<{ challenge: string }>(
        await post(`/.stepgate/api/challenges/${challenge_id}/webauthn/options`, {}),
        'options',
      );
      await json(
        await post(`/.stepgate/api/challenges/${challenge_id}/verify`, { method: 'webauthn', response: await key.authenticate(opts) }),
        'verify',
      );
      const t1 = performance.now();
      const done = await fetch(url, { method: 'DELETE', headers: { cookie } });
      await done.arrayBuffer();
      if (done.status !== 200) throw new Error(`approval bench: the approved DELETE answered ${done.status}`);
      const t2 = performance.now();
      return { flowMs: t2 - t0, approvedMs: t2 - t1 };
    },
  };
}

/** `flows` approval flows against the gateway at `base`, `concurrency` at a time; a bare DELETE through `bareBase` measured alike. */
export async function approvalFlows(o: {
  base: URL;
  bareBase: URL;
  secret: string;
  pid: number | null;
  flows: number;
  concurrency: number;
  tag: string;
}): Promise<ApprovalFlowFigures> {
  // 25 flows a person (30 challenges a minute each), 8 a session (10 a minute each).
  const people = await Promise.all(
    Array.from({ length: Math.ceil(o.flows / 25) }, (_, i) => personWithPasskey(o.base, o.secret, `bench-approver-${o.tag}-${i}`)),
  );
  const flowMs: number[] = [];
  const approvedMs: number[] = [];
  const cpu0 = cpuSeconds(o.pid);
  const t0 = performance.now();
  // One worker per person at a time: a person's flows are one after another (their passkey's counter only goes up).
  let nextPerson = 0;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      for (let pi = nextPerson++; pi < people.length; pi = nextPerson++) {
        for (let i = pi * 25; i < Math.min(o.flows, (pi + 1) * 25); i++) {
          const r = await people[pi]!.flow(`/api/projects/${1000 + i}?bench=${o.tag}`, Math.floor((i % 25) / 8));
          flowMs.push(r.flowMs);
          approvedMs.push(r.approvedMs);
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpuMsPerFlow = ((cpuSeconds(o.pid) - cpu0) * 1000) / o.flows;
  // The same client, the same concurrency: one DELETE each through the bare Worker.
  const bare: number[] = [];
  let k = 0;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      for (let i = k++; i < o.flows; i = k++) {
        const s = performance.now();
        const r = await fetch(new URL(`/api/projects/${1000 + i}`, o.bareBase), { method: 'DELETE' });
        await r.arrayBuffer();
        bare.push(performance.now() - s);
      }
    }),
  );
  return {
    flows: o.flows,
    flowsPerSecond: o.flows / seconds,
    flowP50: median(flowMs),
    flowP99: quantile(flowMs, 0.99),
    approvedP50: median(approvedMs),
    approvedP99: quantile(approvedMs, 0.99),
    bareP50: median(bare),
    bareP99: quantile(bare, 0.99),
    cpuMsPerFlow,
  };
}
