/**
 * An approver who has a passkey approves with it (a code is refused), and what the audit chain
 * records is their authenticator's own signature over that exact request: the assertion's
 * challenge ends with SHA-256 of the approver's action digest, and it verifies with their public key.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { listEvents } from '../../edge/audit/audit-store';
import { base64url, fromBase64url } from '../../edge/crypto/base64';
import { parseKeyring } from '../../edge/crypto/keyring';
import { approverDigest } from '../../edge/approvals/approval-flow';
import type { ApprovalJson } from '../../shared/wire-shapes';
import { SoftAuthenticator } from '../support/soft-authenticator';
import { callWith } from './admin-callers';
import { type Actor, actor, answer, askForApproval, type Clocked, clockedGateway } from './dual-control-harness';
import { seedRole } from './seed-roles';

const ring = parseKeyring(env.STEPGATE_KEYS);

/** DER ECDSA signature → raw r||s, as WebCrypto verifies. */
function rawSignature(der: Uint8Array): Uint8Array<ArrayBuffer> {
  const int = (at: number): [Uint8Array, number] => {
    const len = der[at + 1]!;
    return [der.slice(at + 2, at + 2 + len), at + 2 + len];
  };
  const [r, next] = int(2);
  const [s] = int(next);
  const pad = (x: Uint8Array) => {
    const t = x[0] === 0 ? x.slice(1) : x;
    const out = new Uint8Array(32);
    out.set(t, 32 - t.length);
    return out;
  };
  const out = new Uint8Array(64);
  out.set(pad(r), 0);
  out.set(pad(s), 32);
  return out;
}

let g: Clocked;
let alice: Actor;
let pat: Actor;
const key = new SoftAuthenticator('http://app.test', 'app.test');

beforeAll(async () => {
  g = clockedGateway();
  alice = await actor(g, 'dcp-alice');
  pat = await actor(g, 'dcp-pat');
  await seedRole('dcp-pat', 'admin');
  // Pat adds a passkey (a fresh step-up with her code first).
  const opened = await callWith(g.on, pat.plain, pat.host, 'POST', '/.stepgate/api/factors/step-up', {});
  const { challenge_id } = (await opened.json()) as { challenge_id: string };
  const grant = (await answer(g, pat, challenge_id)).headers.get('set-cookie')!.split(';')[0]!;
  const stepped = { ...pat.plain, cookie: `${pat.plain.cookie}; ${grant}` };
  const options = (await (await callWith(g.on, stepped, pat.host, 'POST', '/.stepgate/api/factors/webauthn/options', {})).json()) as {
    challenge: string;
  };
  const added = await callWith(g.on, stepped, pat.host, 'POST', '/.stepgate/api/factors/webauthn/verify', {
    response: await key.register(options),
    nickname: 'pat key',
  });
  expect(added.status).toBe(201);
});

describe('an approver with a passkey', () => {
  it('must approve with it, and the chain records the passkey’s signature over the exact request', async () => {
    const id = await askForApproval(g, alice, 'DELETE', '/api/projects/4?m=dcp-1');
    const opened = await callWith(g.on, pat.plain, pat.host, 'POST', `/.stepgate/api/approvals/${id}/step-up`, {});
    const step = (await opened.json()) as { challenge_id: string; factors: string[] };
    expect(step.factors).toEqual(['webauthn']);
    // A code does not do.
    const withCode = await answer(g, pat, step.challenge_id);
    expect(withCode.status).toBe(400);

    const options = (await (
      await callWith(g.on, pat.plain, pat.host, 'POST', `/.stepgate/api/challenges/${step.challenge_id}/webauthn/options`, {})
    ).json()) as { challenge: string };
    const challengeBytes = fromBase64url(options.challenge);

    const ok = await callWith(g.on, pat.plain, pat.host, 'POST', `/.stepgate/api/challenges/${step.challenge_id}/verify`, {
      method: 'webauthn',
      response: await key.authenticate(options),
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { approval: ApprovalJson }).approval.state).toBe('approved');

    const [event] = (
      await listEvents(env.DB, ring, 'default', { types: ['approval.approved'] }, { limit: 500, order: 'asc' })
    ).events.filter((e) => e.event.details?.approval === id);
    const d = event!.event.details!;
    expect(d.amr).toContain('hwk');
    // From the event alone: the approver's digest is derived from the request's, and the passkey's challenge ends with its hash.
    const digest = await approverDigest(id, String(d.action_digest));
    expect(d.approver_digest).toBe(digest);
    const bound = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(digest)));
    expect(base64url(challengeBytes.slice(16))).toBe(base64url(bound));
    const clientData = fromBase64url(String(d.passkey_client_data));
    expect(JSON.parse(new TextDecoder().decode(clientData)).challenge).toBe(options.challenge);
    const signed = new Uint8Array([
      ...fromBase64url(String(d.passkey_authenticator_data)),
      ...new Uint8Array(await crypto.subtle.digest('SHA-256', clientData)),
    ]);
    const verified = await crypto.subtle.verify(
      { name: 'ECDSA', hash: 'SHA-256' },
      key.publicKey,
      rawSignature(fromBase64url(String(d.passkey_signature))),
      signed,
    );
    expect(verified).toBe(true);
  });
});
