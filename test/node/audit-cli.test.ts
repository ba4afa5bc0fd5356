/**
 * `npx stepgate audit export|verify` and `keys ...` against the real gateway bundle under Miniflare,
 * in front of the demo app: an auditor exports the events of a step-up flow with a personal token,
 * verifies them at the edge and offline against the signed checkpoints, and tampering — in the
 * file or directly in D1 — is reported at its exact sequence.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCheckpoint, verifyCheckpoint } from '../../edge/audit/checkpoint';
import { parseKeyring, type KeyringDoc } from '../../edge/crypto/keyring';
import { startDemoOrigin, type DemoOrigin } from '../../edge/node/demo/demo-origin';
import { startGateway, type RunningGateway } from '../support/miniflare-gateway';
import { sessionCookie, TEST_JWT_SECRET } from '../support/session';
import { runCli } from '../support/run-cli';

let origin: DemoOrigin;
let gw: RunningGateway;
let base: string;
let auditorToken: string;
let adminToken: string;
const dir = mkdtempSync(join(tmpdir(), 'stepgate-audit-cli-'));

const run = (...argv: string[]) => runCli(argv, process.env);
const now = () => Math.floor(Date.now() / 1000);
const post = (path: string, cookie: string, body: unknown = {}) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { cookie, origin: base, 'content-type': 'application/json' },
  });

/** Enrol TOTP, step up, and return the stepped-up cookies and a code source. */
async function person(user: string) {
  const cookie = await sessionCookie(user, `${user}-cli`);
  const start = (await (await post('/.stepgate/api/factors/totp', cookie)).json()) as { id: string; secret: string };
  expect(
    (
      await post(`/.stepgate/api/factors/totp/${start.id}/confirm`, cookie, {
        code: await generate({ secret: start.secret, epoch: now() - 30 }),
      })
    ).status,
  ).toBe(200);
  const t0 = now();
  let step = 0;
  const code = () => generate({ secret: start.secret, epoch: t0 + 30 * step++ });
  const { challenge_id } = (await (await post('/.stepgate/api/factors/step-up', cookie)).json()) as { challenge_id: string };
  const ok = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, cookie, { method: 'totp', code: await code() });
  expect(ok.status).toBe(200);
  return { cookie, stepped: `${cookie}; ${ok.headers.get('set-cookie')!.split(';')[0]}`, code };
}
const tokenFor = async (stepped: string) => {
  const r = await post('/.stepgate/api/tokens', stepped, { scopes: ['audit:read'], label: 'cli test' });
  expect(r.status).toBe(201);
  return ((await r.json()) as { token: string }).token;
};

beforeAll(async () => {
  origin = await startDemoOrigin({ jwtSecret: TEST_JWT_SECRET });
  gw = await startGateway({ originUrl: origin.url, jwtSecret: TEST_JWT_SECRET });
  base = gw.url.origin;
  // The demo's roles, as a fresh deployment gets them: alice (BOOTSTRAP_OWNER) claims the default
  // organisation, then grants dave the auditor role.
  const alice = await person('alice'); // owner
  expect((await post('/.stepgate/api/admin/bootstrap', alice.stepped)).status).toBe(201);
  expect((await post('/.stepgate/api/admin/orgs/default/roles', alice.stepped, { person: 'dave', role: 'auditor' })).status).toBe(201);
  const dave = await person('dave'); // auditor
  auditorToken = await tokenFor(dave.stepped);
  adminToken = await tokenFor(alice.stepped);

  // A step-up flow to audit: tom deletes project 2 with his authenticator app.
  const tom = await person('tom');
  const first = await fetch(`${base}/api/projects/2`, { method: 'DELETE', headers: { cookie: tom.cookie } });
  expect(first.status).toBe(401);
  const { challenge_id } = (await first.json()) as { challenge_id: string };
  expect(
    (await post(`/.stepgate/api/challenges/${challenge_id}/verify`, tom.cookie, { method: 'totp', code: await tom.code() })).status,
  ).toBe(200);
  expect((await fetch(`${base}/api/projects/2`, { method: 'DELETE', headers: { cookie: tom.cookie } })).status).toBe(200);
  // A signed checkpoint of everything so far (the cron trigger's work, run now by the admin).
  const m = await post('/.stepgate/api/admin/maintenance', alice.stepped);
  expect(m.status).toBe(200);
  expect(((await m.json()) as { checkpoint: { seq: number } | null }).checkpoint?.seq).toBeGreaterThan(10);
}, 120_000);
afterAll(async () => {
  await gw?.dispose();
  await origin?.close();
});

describe('stepgate audit', () => {
  it('exports NDJSON with a token, and the file verifies offline against the edge’s checkpoint keys', async () => {
    const file = join(dir, 'audit.ndjson');
    const ex = await run('audit', 'export', '--edge', base, '--token', auditorToken, '--out', file);
    expect(ex).toMatchObject({ code: 0, out: expect.stringMatching(/^exported \d+ event\(s\) to /) });
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.some((l) => l.startsWith('{"checkpoint"'))).toBe(true);
    const types = lines
      .filter((l) => l.startsWith('{"event"'))
      .map((l) => (JSON.parse(l) as { event: { type: string; actor: string } }).event);
    expect(types.filter((e) => e.actor === 'tom').map((e) => e.type)).toEqual(
      expect.arrayContaining(['challenge.issued', 'factor.verified', 'grant.issued', 'grant.used']),
    );

    const ok = await run('audit', 'verify', '--file', file, '--jwks', `${base}/.well-known/stepgate/audit-jwks.json`);
    expect(ok).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^ok: \d+ event\(s\) verified; signed checkpoints cover through sequence \d+/),
    });
    const unsigned = await run('audit', 'verify', '--file', file);
    expect(unsigned.out).toContain('checkpoint signature(s) not checked');
  });

  it('reports the exact sequence of an event edited in the file', async () => {
    const file = join(dir, 'audit.ndjson');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const i = lines.findIndex((l) => l.includes('"type":"grant.used"'));
    const doc = JSON.parse(lines[i]!) as { event: { seq: number; actor: string } };
    doc.event.actor = 'someone-else';
    lines[i] = JSON.stringify(doc);
    const edited = join(dir, 'edited.ndjson');
    writeFileSync(edited, lines.join('\n'));
    const r = await run('audit', 'verify', '--file', edited);
    expect(r).toMatchObject({ code: 1, err: `BROKEN at sequence ${doc.event.seq}: modified — the event does not match its hash` });
    // A forged checkpoint signature is caught too.
    const cp = lines.findIndex((l) => l.startsWith('{"checkpoint"'));
    const forged = readFileSync(file, 'utf8').trim().split('\n');
    const c = JSON.parse(forged[cp]!) as { checkpoint: string };
    forged[cp] = JSON.stringify({ ...c, checkpoint: `${c.checkpoint.slice(0, -4)}AAAA` });
    writeFileSync(join(dir, 'forged.ndjson'), forged.join('\n'));
    expect(
      await run('audit', 'verify', '--file', join(dir, 'forged.ndjson'), '--jwks', `${base}/.well-known/stepgate/audit-jwks.json`),
    ).toMatchObject({ code: 1, err: expect.stringContaining('does not verify') });
  });

  it('exports CSV and OCSF, with filters', async () => {
    const csv = join(dir, 'tom.csv');
    expect(
      (await run('audit', 'export', '--edge', base, '--token', auditorToken, '--format', 'csv', '--user', 'tom', '--out', csv)).code,
    ).toBe(0);
    const rows = readFileSync(csv, 'utf8').trim().split('\r\n');
    expect(rows[0]!.startsWith('seq,time,type,outcome,user')).toBe(true);
    expect(rows.slice(1).every((r) => r.split(',')[4] === 'tom')).toBe(true);
    const ocsf = join(dir, 'tom.ocsf.ndjson');
    expect(
      (
        await run(
          'audit',
          'export',
          '--edge',
          base,
          '--token',
          auditorToken,
          '--format',
          'ocsf',
          '--user',
          'tom',
          '--type',
          'factor.verified',
          '--out',
          ocsf,
        )
      ).code,
    ).toBe(0);
    const events = readFileSync(ocsf, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { class_uid: number; user: { uid: string } });
    expect(events).toHaveLength(2); // the enrolment-time step-up and the delete approval
    expect(events.every((e) => e.class_uid === 3002 && e.user.uid === 'tom')).toBe(true);
  });

  it('verifies at the edge, and names the sequence of a row edited directly in D1', async () => {
    expect(await run('audit', 'verify', '--edge', base, '--token', auditorToken)).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^ok: \d+ event\(s\) verified, through sequence \d+; 1 signed checkpoint\(s\) matched/),
    });
    // One page at a time, or up to eight in flight: the same verdict.
    for (const parallel of ['1', '8'])
      expect(await run('audit', 'verify', '--edge', base, '--token', auditorToken, '--parallel', parallel)).toMatchObject({
        code: 0,
        out: expect.stringMatching(/^ok: \d+ event\(s\) verified/),
      });
    const db = await gw.mf.getD1Database('DB');
    const row = await db.prepare("SELECT seq FROM audit_events WHERE type = 'grant.used' ORDER BY seq LIMIT 1").first<{ seq: number }>();
    await db.prepare("UPDATE audit_events SET outcome = 'denied' WHERE seq = ?").bind(row!.seq).run();
    try {
      expect(await run('audit', 'verify', '--edge', base, '--token', auditorToken)).toMatchObject({
        code: 1,
        err: expect.stringContaining(`BROKEN at sequence ${row!.seq}: modified`),
      });
      expect(await run('audit', 'verify', '--edge', base, '--token', auditorToken, '--parallel', '1')).toMatchObject({
        code: 1,
        err: expect.stringContaining(`BROKEN at sequence ${row!.seq}: modified`),
      });
    } finally {
      await db.prepare("UPDATE audit_events SET outcome = 'success' WHERE seq = ?").bind(row!.seq).run();
    }
  });

  it('refuses without a token, with a bad token, and on unknown options', async () => {
    expect(await run('audit', 'export', '--edge', base)).toMatchObject({
      code: 2,
      err: expect.stringContaining('personal API token is required'),
    });
    expect(await run('audit', 'verify', '--edge', base, '--token', 'sgt.bad')).toMatchObject({
      code: 1,
      err: expect.stringContaining('HTTP 401'),
    });
    for (const bad of ['0', '9', '2.5', 'many'])
      expect(await run('audit', 'verify', '--edge', base, '--token', auditorToken, '--parallel', bad)).toMatchObject({
        code: 2,
        err: expect.stringContaining('--parallel: a whole number from 1 to 8'),
      });
    expect(await run('audit', 'verify', '--file', join(dir, 'audit.ndjson'), '--parallel', '2')).toMatchObject({
      code: 2,
      err: expect.stringContaining('--parallel goes with --edge'),
    });
    expect(await run('audit', 'verify', '--file', join(dir, 'no-such-file.ndjson'))).toMatchObject({
      code: 1,
      err: expect.stringContaining('no-such-file.ndjson: cannot read'),
    });
    expect(await run('audit', 'export', '--edge', base, '--token', auditorToken, '--colour', 'red')).toMatchObject({
      code: 2,
      err: expect.stringContaining('unknown option --colour'),
    });
  });
});

describe('stepgate keys', () => {
  it('generates, rotates (new primary, old key kept) and retires; refuses to retire the primary', async () => {
    const f1 = join(dir, 'keys1.json');
    expect((await run('keys', 'generate', '--kid', 'k1', '--out', f1)).code).toBe(0);
    const ring1 = parseKeyring(readFileSync(f1, 'utf8'));
    expect(ring1).toMatchObject({ primary: 'k1', kids: ['k1'] });
    const f2 = join(dir, 'keys2.json');
    const rot = await run('keys', 'rotate', '--file', f1, '--kid', 'k2', '--out', f2);
    expect(rot).toMatchObject({ code: 0, err: expect.stringContaining('retire k1 when') });
    const doc2 = JSON.parse(readFileSync(f2, 'utf8')) as { primary: string; keys: Record<string, string> };
    expect(doc2.primary).toBe('k2');
    expect(doc2.keys.k1).toBe((JSON.parse(readFileSync(f1, 'utf8')) as { keys: Record<string, string> }).keys.k1);
    expect(await run('keys', 'retire', '--file', f2, '--kid', 'k2')).toMatchObject({
      code: 1,
      err: expect.stringContaining('is the primary key'),
    }); // a refusal, not a usage error
    const f3 = join(dir, 'keys3.json');
    expect((await run('keys', 'retire', '--file', f2, '--kid', 'k1', '--out', f3)).code).toBe(0);
    expect(parseKeyring(readFileSync(f3, 'utf8'))).toMatchObject({ primary: 'k2', kids: ['k2'] });
    // Key material never reaches the console when written to a file.
    expect(rot.out).not.toContain(doc2.keys.k2);
  });

  it(
    'retire keeps the retired key’s public keys: an export signed under it ' +
      'verifies against the live key set of a gateway that no longer has it',
    async () => {
      // The export of the first test was signed under the test gateway's only key, test1.
      const live = join(dir, 'live.json');
      writeFileSync(live, `${JSON.stringify({ primary: 'test1', keys: { test1: 'dGVzdC1vbmx5LWtleXJpbmctbWFzdGVyLWtleS0wMDE=' } })}\n`);
      const rotated = join(dir, 'rotated.json');
      expect((await run('keys', 'rotate', '--file', live, '--kid', 'k2', '--out', rotated)).code).toBe(0);
      const final = join(dir, 'final.json');
      const retire = await run('keys', 'retire', '--file', rotated, '--kid', 'test1', '--out', final);
      expect(retire).toMatchObject({
        code: 0,
        out: expect.stringContaining('retired, public keys only: test1'),
        err: expect.stringContaining('its public keys stay published'),
      });
      const doc = JSON.parse(readFileSync(final, 'utf8')) as KeyringDoc;
      expect(Object.keys(doc.keys)).toEqual(['k2']);
      expect(doc.retired).toEqual({
        test1: {
          retired_at: expect.any(String),
          'audit-checkpoint': { kty: 'OKP', crv: 'Ed25519', x: expect.any(String) },
          // Approval statements recorded under it keep verifying too (docs/approvals.md).
          'approval-signing': { kty: 'OKP', crv: 'Ed25519', x: expect.any(String) },
        },
      });
      expect(readFileSync(final, 'utf8')).not.toContain('dGVzdC1vbmx5');
      // The next rotation keeps the section, and never reuses a retired key id.
      const next = join(dir, 'next.json');
      expect((await run('keys', 'rotate', '--file', final, '--kid', 'k3', '--out', next)).code).toBe(0);
      expect((JSON.parse(readFileSync(next, 'utf8')) as KeyringDoc).retired).toEqual(doc.retired);
      expect(await run('keys', 'rotate', '--file', final, '--kid', 'test1')).toMatchObject({
        code: 1,
        err: expect.stringContaining('key id test1 is already in the keyring'),
      });

      const after = await startGateway({
        originUrl: origin.url,
        jwtSecret: TEST_JWT_SECRET,
        bindings: { STEPGATE_KEYS: JSON.stringify(doc) },
      });
      try {
        const jwksUrl = `${after.url.origin}/.well-known/stepgate/audit-jwks.json`;
        const exported = join(dir, 'audit.ndjson');
        expect(await run('audit', 'verify', '--file', exported, '--jwks', jwksUrl)).toMatchObject({
          code: 0,
          out: expect.stringMatching(/^ok: \d+ event\(s\) verified; signed checkpoints cover through sequence \d+/),
        });

        // A checkpoint forged with a key the keyring never had fails: under a new key id, or under the retired one.
        const lines = readFileSync(exported, 'utf8').trim().split('\n');
        const at = lines.findIndex((l) => l.startsWith('{"checkpoint"'));
        const line = JSON.parse(lines[at]!) as { checkpoint: string };
        const payload = await verifyCheckpoint(line.checkpoint, (await (await fetch(jwksUrl)).json()) as never);
        const forge = async (kid: string, name: string) => {
          const attacker = parseKeyring(JSON.stringify({ primary: kid, keys: { [kid]: Buffer.alloc(32, 7).toString('base64') } }));
          const copy = [...lines];
          copy[at] = JSON.stringify({ ...line, checkpoint: await signCheckpoint(attacker, payload) });
          writeFileSync(join(dir, name), copy.join('\n'));
          return run('audit', 'verify', '--file', join(dir, name), '--jwks', jwksUrl);
        };
        expect(await forge('k9', 'forged-k9.ndjson')).toMatchObject({
          code: 1,
          err: expect.stringContaining('key sg-audit-k9 is not in the key set'),
        });
        expect(await forge('test1', 'forged-test1.ndjson')).toMatchObject({ code: 1, err: expect.stringContaining('does not verify') });
      } finally {
        await after.dispose();
      }
    },
  );

  it('status (an administrator’s token) lists what each key id still protects', async () => {
    const s = await run('keys', 'status', '--edge', base, '--token', adminToken);
    expect(s).toMatchObject({ code: 0, out: expect.stringMatching(/^primary: test1\ntest1 \(primary\): audit_events \d+/) });
    expect((await run('keys', 'status', '--edge', base, '--token', auditorToken)).code).toBe(1); // auditors do not see keys
  });
});
