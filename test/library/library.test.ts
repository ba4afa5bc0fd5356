/**
 * Library mode from the packed package: test/library/example-worker, an ordinary Hono Worker with
 * its own routes, installed the `npm pack` tarball in a temporary directory (pack-install.ts) and
 * runs here inside workerd with its own wrangler.toml: its D1 migrations come from the installed
 * package, and it exports Stepgate's Durable Objects and scheduled handler itself.
 */
import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose';
import { generate } from 'otplib';
import { beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { TEST_JWT_SECRET } from '../support/session';

const worker = (exports as unknown as { default: Fetcher & { scheduled(o: { cron: string; scheduledTime: Date }): Promise<unknown> } })
  .default;
const ORIGIN = 'https://notes.example';
const call = (path: string, init: RequestInit = {}) => worker.fetch(new Request(`${ORIGIN}${path}`, init));
const api = (path: string, cookie: string, body: unknown = {}) =>
  call(path, { method: 'POST', body: JSON.stringify(body), headers: { cookie, origin: ORIGIN, 'content-type': 'application/json' } });
const calls = async () => (await (await call('/__calls')).json()) as Record<string, number | undefined>;
const now = () => Math.floor(Date.now() / 1000);

/** The example app's own session cookie (its identity config: cookie `session`, issuer and audience `notes`). */
const session = (user: string, sid: string) =>
  new SignJWT({ sid })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .setIssuer('notes')
    .setAudience('notes')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(TEST_JWT_SECRET))
    .then((jwt) => `session=${jwt}`);

describe('the package', () => {
  it('holds the bundled library, its types and the migrations, and no tests, docs or Node-only dev code', () => {
    const { files, size } = inject('libraryPack');
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'dist/lib/index.js',
        'dist/lib/types/edge/library/index.d.ts',
        'edge/migrations/0001_init.sql',
        'edge/node/cli/bin.mjs',
      ]),
    );
    // The TypeScript sources beside the bundle are the ones the CLI runs from (through tsx).
    expect(
      files.filter((f) => /^(test|docs|\.ci)\/|^extension\/(?!manifest\.ts$)|^edge\/(demo|pages)\/|^edge\/dev\/(?!dev-vars\.ts$)/.test(f)),
    ).toEqual([]);
    // The budget catches a stray directory, not growth: the bundle and the sources the CLI runs from
    // came to about 500 KiB with administration (console, recovery, tokens, dashboard), about 700 KiB
    // with policies as data and dual control (approvals, webhooks).
    expect(size).toBeLessThan(800 * 1024);
  });

  it('type-checks the example against the installed declarations', () => {
    const { status, output } = inject('libraryTypecheck');
    expect(output).toBe('');
    expect(status).toBe(0);
  });

  it('bundles the example as `wrangler deploy` would, with its bindings and well under the Workers size limit', () => {
    const { status, output } = inject('libraryBundle');
    expect(status, output).toBe(0);
    expect(output).toMatch(/env\.USER_STATE \(UserState\)\s+Durable Object/);
    expect(output).toMatch(/env\.AUDIT_SEQUENCER \(AuditSequencer\)\s+Durable Object/);
    const [, n, unit] = /gzip: ([\d.]+) (KiB|MiB)/.exec(output) ?? [];
    expect(Number(n) * (unit === 'MiB' ? 1024 : 1), output).toBeLessThan(1024); // KiB; the free plan allows 3 MiB compressed
  });

  it('installs a working `stepgate` command', () => {
    const { status, output } = inject('libraryCli');
    expect(status, output).toBe(0);
    expect(output).toContain('share-note');
  });

  it('applies its D1 migrations from the installed package, as the example wrangler.toml names them', () => {
    expect(inject('libraryMigrationsDir')).toMatch(/[\\/]node_modules[\\/]stepgate[\\/]edge[\\/]migrations$/);
    expect(inject('libraryMigrations').map((m) => m.name)).toContain('0001_init.sql');
  });
});

describe('an existing Hono Worker with app.use(stepgate())', () => {
  let cookie: string;
  let secret: string;

  beforeAll(async () => {
    cookie = await session('alice', 'alice-session-1');
    // Enrol an authenticator app through Stepgate's own API, served by the middleware.
    const start = await api('/.stepgate/api/factors/totp', cookie);
    expect(start.status).toBe(201);
    const enrol = (await start.json()) as { id: string; secret: string };
    secret = enrol.secret;
    const confirm = await api(`/.stepgate/api/factors/totp/${enrol.id}/confirm`, cookie, {
      code: await generate({ secret, epoch: now() - 30 }),
    });
    expect(confirm.status).toBe(200);
  });

  it('passes an unprotected route to the app’s own handler', async () => {
    const before = (await calls()).list ?? 0;
    const res = await call('/api/notes');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(expect.arrayContaining([expect.objectContaining({ id: '1', text: 'groceries' })]));
    expect((await calls()).list).toBe(before + 1);
  });

  it('serves the scripts of Stepgate’s pages from the package itself: the host Worker has no assets of Stepgate’s', async () => {
    const res = await call('/.stepgate/assets/step-up.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await res.text()).toContain('/.stepgate/api/challenges/');
    expect((await call('/.stepgate/assets/nope.js')).status).toBe(404);
  });

  it(
    'challenges a protected route; once approved, the identical request ' +
      'reaches the app’s handler exactly once, with the body and the assertion',
    async () => {
      const share = () =>
        call('/api/notes/1/share', {
          method: 'POST',
          body: JSON.stringify({ with: 'bob' }),
          headers: { cookie, 'content-type': 'application/json' },
        });

      const first = await share();
      expect(first.status).toBe(401);
      expect(first.headers.get('www-authenticate')).toMatch(/^StepUp /);
      const { challenge_id: id } = (await first.json()) as { challenge_id: string };
      expect((await calls()).share).toBeUndefined();

      const ok = await api(`/.stepgate/api/challenges/${id}/verify`, cookie, {
        method: 'totp',
        code: await generate({ secret, epoch: now() }),
      });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ approved: true, bind: 'action', rule: 'share-note' });

      const passed = await share();
      expect(passed.status).toBe(200);
      // The handler read the JSON body that Stepgate had already read to compute the action.
      const body = (await passed.json()) as { shared: string; with: string; by: string; rule: string; assertion: string };
      expect(body).toMatchObject({ shared: '1', with: 'bob', by: 'alice', rule: 'share-note' });
      const jwks = createLocalJWKSet((await (await call('/.well-known/stepgate/jwks.json')).json()) as { keys: [] });
      const { payload } = await jwtVerify(body.assertion, jwks, { issuer: 'stepgate', audience: 'notes.example' });
      expect(payload).toMatchObject({ sub: 'alice', rule: 'share-note', amr: ['otp'] });
      expect((await calls()).share).toBe(1);

      // The approval is spent: the same request is challenged again, and the handler never ran twice.
      expect((await share()).status).toBe(401);
      expect((await calls()).share).toBe(1);
    },
  );

  it('runs the scheduled handler: a signed audit checkpoint of the chain head', async () => {
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_checkpoints WHERE kind = 'periodic'").first<{ n: number }>();
    await worker.scheduled({ cron: '*/15 * * * *', scheduledTime: new Date() });
    // The handler does its work in ctx.waitUntil: wait for the checkpoint row.
    await vi.waitFor(async () => {
      const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_checkpoints WHERE kind = 'periodic'").first<{ n: number }>();
      expect(n!.n).toBe(before!.n + 1);
    });
    const head = await env.DB.prepare('SELECT MAX(seq) AS seq FROM audit_events').first<{ seq: number }>();
    const cp = await env.DB.prepare(
      "SELECT seq, kind, jws FROM audit_checkpoints WHERE kind = 'periodic' ORDER BY seq DESC LIMIT 1",
    ).first<{ seq: number; kind: string; jws: string }>();
    expect(cp).toMatchObject({ seq: head!.seq, kind: 'periodic', jws: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/) });
    expect(cp!.seq).toBeGreaterThan(0);
  });
});
