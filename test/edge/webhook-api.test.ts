/**
 * An organisation's webhook of dual-control notices through the admin API (issue 14, item 5; docs/admin.md,
 * "Webhooks"), real D1 and Durable Objects: only owners and admins of the organisation, in a browser with
 * a fresh step-up, read or change it (auditor, app-admin, helpdesk, another organisation, an API token
 * and a stale step-up are refused, and nothing is stored); a bad URL is 400 and stores nothing; the
 * secret is answered once, sealed in D1, and never read back; racing PUTs leave one webhook.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { grantRole } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { deleteWebhook, putWebhook, webhookTarget } from '../../edge/notifications/webhook-store';
import { webhookUrlProblem } from '../../edge/notifications/webhook-url';
import { as, bodyOf, type Caller, callWith, makeToken, person, send, withToken } from './admin-callers';
import { seedApp } from './seed-apps';

const ring = parseKeyring(env.STEPGATE_KEYS);
const ORG = 'hooks';
const HOST = 'hooks.test';
const PATH = `/.stepgate/api/admin/orgs/${ORG}/webhook`;
const GOOD = { url: 'https://hooks.example.com/stepgate?channel=ops', format: 'json' };
let olga: Caller; // owner
let adam: Caller; // admin
let aude: Caller; // auditor
let apam: Caller; // app-admin of the organisation's app
let hank: Caller; // helpdesk
let dora: Caller; // owner of the default organisation, on its own host

/** The webhook as the notifier reads it (it opens, or the test fails). */
const target = async () => {
  const t = await webhookTarget(env.DB, ring, ORG);
  if (t === null || t === 'unreadable') throw new Error(`webhook: ${t}`);
  return t;
};
const rows = async () =>
  (await env.DB.prepare('SELECT * FROM org_webhooks WHERE org_id = ?').bind(ORG).all<Record<string, string | number | null>>()).results;
const events = async (type: string) =>
  (await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE type = ? AND org = ?').bind(type, ORG).first<{ n: number }>())!.n;

beforeAll(async () => {
  const now = Date.now();
  expect((await createOrg(env.DB, { id: ORG, name: 'Hooks', now, owner: { ring, sub: `${ORG}/olga`, grantedBy: 'seed' } })).ok).toBe(true);
  const app = await seedApp({ org: ORG, name: 'hooked', hosts: [HOST], policy: { version: 1, rules: [] }, createdBy: `${ORG}/olga` });
  const grants: [string, 'admin' | 'auditor' | 'app-admin' | 'helpdesk', string | null][] = [
    ['adam', 'admin', null],
    ['aude', 'auditor', null],
    ['apam', 'app-admin', app.id],
    ['hank', 'helpdesk', null],
  ];
  for (const [who, role, appId] of grants)
    expect((await grantRole(env.DB, ring, { orgId: ORG, appId, sub: `${ORG}/${who}`, role, grantedBy: `${ORG}/olga`, now })).ok).toBe(true);
  [olga, adam, aude, apam, hank] = (await Promise.all(['olga', 'adam', 'aude', 'apam', 'hank'].map((n) => person(n, HOST)))) as [
    Caller,
    Caller,
    Caller,
    Caller,
    Caller,
  ];
  expect((await grantRole(env.DB, ring, { orgId: 'default', appId: null, sub: 'dora', role: 'owner', grantedBy: 'seed', now })).ok).toBe(
    true,
  );
  dora = await person('dora');
}, 60_000);

describe('who manages the webhook', () => {
  it('refuses auditors, app-admins and helpdesk (403), another organisation’s owner (404), and stores nothing', async () => {
    for (const who of [aude, apam, hank]) {
      expect((await as(who, 'GET', PATH)).status).toBe(403);
      expect((await as(who, 'PUT', PATH, GOOD)).status).toBe(403);
      expect((await as(who, 'DELETE', PATH, {})).status).toBe(403);
      expect((await as(who, 'POST', `${PATH}/test`, {})).status).toBe(403);
    }
    for (const [m, b] of [['GET'], ['PUT', GOOD], ['DELETE', {}]] as const) {
      const r = await as(dora, m, PATH, b);
      expect(r.status).toBe(404);
      expect((await bodyOf(r)).detail).toBe('No such organisation, or you hold no role in it.');
    }
    expect(await rows()).toEqual([]);
    // Every refusal is in the log (admin.refused, in the caller's organisation).
    const refused = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE type = 'admin.refused' AND org = ?")
      .bind(ORG)
      .first<{ n: number }>();
    expect(refused!.n).toBeGreaterThanOrEqual(12);
  });

  it('refuses an API token for every call, whatever its scopes, and an owner without a fresh step-up', async () => {
    const t = await makeToken(olga, ['admin:read', 'admin:write']);
    expect(t.status).toBe(201);
    for (const [m, p, b] of [
      ['GET', PATH, undefined],
      ['PUT', PATH, GOOD],
      ['DELETE', PATH, {}],
      ['POST', `${PATH}/test`, {}],
    ] as const) {
      const r = await withToken(t.token, HOST, m, p, b);
      expect(r.status).toBe(403);
      expect((await bodyOf(r)).detail).toMatch(/in the browser/);
    }
    const stale = await callWith(send, olga.plain, HOST, 'PUT', PATH, GOOD);
    expect(stale.status).toBe(403);
    expect((await bodyOf(stale)).code).toBe('ERR_FRESH_STEP_UP_REQUIRED');
    expect(await rows()).toEqual([]);
  });
});

describe('what a webhook URL may be', () => {
  it('refuses a URL not https, naming a user or password, too long or with a fragment; a bad format: 400, nothing stored', async () => {
    const bad: unknown[] = [
      { url: 'http://hooks.example.com/x', format: 'json' }, // http to a host that is not loopback, even in development
      { url: 'ftp://hooks.example.com/x', format: 'json' },
      { url: 'hooks.example.com/x', format: 'json' },
      { url: 'https://user:pw@hooks.example.com/x', format: 'json' },
      { url: 'https://user@hooks.example.com/x', format: 'json' },
      { url: `https://hooks.example.com/${'a'.repeat(2100)}`, format: 'json' },
      { url: 'https://hooks.example.com/x#frag', format: 'json' },
      { url: 'https://hooks.example.com/x', format: 'xml' },
      { url: 'https://hooks.example.com/x', format: 'json', secret: 'mine' },
      { format: 'json' },
      '{',
    ];
    for (const body of bad) {
      const r = await as(olga, 'PUT', PATH, body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect((await bodyOf(r)).code).toBe('ERR_BAD_REQUEST');
    }
    expect(await rows()).toEqual([]);
    expect(await events('webhook.updated')).toBe(0);
  });

  it('takes http only to a loopback host, and only in development', () => {
    expect(webhookUrlProblem('http://127.0.0.1:9999/hook', true)).toBeNull();
    expect(webhookUrlProblem('http://localhost:9999/hook', true)).toBeNull();
    expect(webhookUrlProblem('http://127.0.0.1:9999/hook', false)).toBe('url: must be https');
    expect(webhookUrlProblem('http://localhost/hook', false)).toBe('url: must be https');
    expect(webhookUrlProblem('http://10.0.0.1/hook', true)).toMatch(/must be https/);
    expect(webhookUrlProblem('https://hooks.example.com/hook', false)).toBeNull();
  });

  it('refuses an IP address in any spelling the URL parser reads as one, another port than 443, and loopback names in production', () => {
    for (const dev of [false, true])
      for (const url of [
        'https://10.0.0.1/hook',
        'https://2130706433/hook', // 127.0.0.1 as one number: loopback, refused in production; in development too over a name? see below
        'https://0x0a.0.0.1/hook',
        'https://012.0.0.1/hook',
        'https://10.1/hook',
        'https://169.254.169.254./hook',
        'https://\uFF11\uFF10.0.0.1/hook',
        'https://[fd00::1]/hook',
        'https://[::ffff:10.0.0.1]/hook',
        'https://[::]/hook',
      ]) {
        const why = webhookUrlProblem(url, dev);
        // In development a loopback address is a local receiver (2130706433 is 127.0.0.1).
        if (dev && url.includes('2130706433')) expect(why, url).toBeNull();
        else expect(why, `${url} dev=${dev}`).toMatch(/^url: the host must be a name, not an IP address/);
      }
    for (const url of ['https://hooks.example.com:8443/hook', 'https://hooks.example.com:80/hook', 'https://hooks.example.com:0443x/']) {
      expect(webhookUrlProblem(url, false), url).not.toBeNull();
      expect(webhookUrlProblem(url, true), url).not.toBeNull();
    }
    expect(webhookUrlProblem('https://hooks.example.com:8443/hook', false)).toBe('url: only the default https port (443), not 8443');
    // The default port spelled out is the default port.
    expect(webhookUrlProblem('https://hooks.example.com:443/hook', false)).toBeNull();
    expect(webhookUrlProblem('https://localhost/hook', false)).toMatch(/loopback/);
    expect(webhookUrlProblem('https://127.0.0.1/hook', false)).toMatch(/not an IP address/);
    expect(webhookUrlProblem('https://[::1]:8443/hook', false)).toMatch(/not an IP address/);
    // Development keeps its local receivers: loopback, any port.
    expect(webhookUrlProblem('https://127.0.0.1:8443/hook', true)).toBeNull();
    expect(webhookUrlProblem('http://[::1]:9999/hook', true)).toBeNull();
  });

  it('refuses a host this deployment serves (any app’s, the caller’s own, any case, a trailing dot): 400, nothing stored', async () => {
    const other = 'webhook-victim';
    expect(
      (await createOrg(env.DB, { id: other, name: 'Victim', now: Date.now(), owner: { ring, sub: `${other}/vic`, grantedBy: 'seed' } })).ok,
    ).toBe(true);
    await seedApp({ org: other, name: 'victim', hosts: ['victim.test'], policy: { version: 1, rules: [] }, createdBy: `${other}/vic` });
    for (const url of [
      'https://victim.test/api/projects/1', // another organisation's app
      'https://VICTIM.test./api', // the same host, spelled otherwise
      `https://${HOST}/.stepgate/api/whatever`, // this organisation's own app, the host the call came to
    ]) {
      const r = await as(olga, 'PUT', PATH, { url, format: 'json' });
      expect(r.status, url).toBe(400);
      const b = await bodyOf(r);
      expect(b.code).toBe('ERR_BAD_REQUEST');
      expect(b.detail, url).toMatch(/^url: (victim\.test|hooks\.test) is served by this Stepgate deployment/);
    }
    for (const url of ['https://10.0.0.1/hook', 'https://hooks.example.com:8443/hook', 'https://[fd00::1]/hook']) {
      const r = await as(olga, 'PUT', PATH, { url, format: 'json' });
      expect(r.status, url).toBe(400);
    }
    expect(await rows()).toEqual([]);
    expect(await events('webhook.updated')).toBe(0);
  });
});

describe('the secret', () => {
  it('is answered once by PUT, sealed in D1 with the URL, never shown by GET; each PUT makes a new one', async () => {
    const first = await as(olga, 'PUT', PATH, GOOD);
    expect(first.status).toBe(201);
    const a = await bodyOf(first);
    const secret = String(a.secret);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(a.webhook).toMatchObject({ url: GOOD.url, format: 'json', updated_by: 'olga' });

    const read = await as(adam, 'GET', PATH);
    expect(read.status).toBe(200);
    const text = await read.text();
    expect(text).not.toContain(secret);
    expect(text).not.toContain('whsec_');
    expect(JSON.parse(text)).toMatchObject({ org: ORG, webhook: { url: GOOD.url, format: 'json', updated_by: 'olga' } });
    expect(Object.keys((JSON.parse(text) as { webhook: object }).webhook).sort()).toEqual([
      'created_at',
      'format',
      'updated_at',
      'updated_by',
      'url',
    ]);

    // D1 holds neither the secret nor the URL in the clear (a Slack URL is a credential).
    const [row] = await rows();
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(JSON.stringify(row)).not.toContain('hooks.example.com');
    expect(String(row!.secret_sealed)).toMatch(/^v1\./);
    expect((await target()).secret).toBe(secret);
    // Moved to another organisation in D1, it opens for none.
    await expect(
      webhookTarget(
        {
          prepare: (sql: string) => env.DB.prepare(sql.replace('org_id = ?', "org_id = 'hooks' AND ? IS NOT NULL")),
        } as unknown as D1Database,
        ring,
        'other',
      ),
    ).resolves.toBe('unreadable');

    const second = await as(adam, 'PUT', PATH, { url: 'https://hooks.slack.example/services/T/B/x', format: 'slack' });
    expect(second.status).toBe(200);
    const b = await bodyOf(second);
    expect(b.secret).not.toBe(secret);
    expect((await target()).secret).toBe(b.secret);
    expect(await events('webhook.updated')).toBe(2);
    // The audit event names the host, never the URL or the secret.
    const sealed = await env.DB.prepare("SELECT sealed FROM audit_events WHERE type = 'webhook.updated'").all<{ sealed: string }>();
    expect(sealed.results).toHaveLength(2);
  });

  it('racing PUTs leave one webhook, signing with the secret one of them answered', async () => {
    const urls = Array.from({ length: 4 }, (_, i) => `https://hooks.example.com/race-${i}`);
    const answers = await Promise.all(urls.map((url, i) => as(i % 2 ? olga : adam, 'PUT', PATH, { url, format: 'json' })));
    const secrets = await Promise.all(answers.map(async (r) => String((await bodyOf(r)).secret)));
    for (const r of answers) expect(r.status).toBe(200);
    expect(await rows()).toHaveLength(1);
    const now = await target();
    expect(secrets).toContain(now.secret);
    expect(urls[secrets.indexOf(now.secret)]).toBe(now.url);
  });

  it('DELETE removes it (audited); then GET shows none and a test notice is 409', async () => {
    const r = await as(adam, 'DELETE', PATH, {});
    expect(r.status).toBe(200);
    expect(await bodyOf(r)).toEqual({ org: ORG, deleted: true });
    expect(await rows()).toEqual([]);
    expect(await events('webhook.deleted')).toBe(1);
    expect(await bodyOf(await as(olga, 'GET', PATH))).toEqual({ org: ORG, webhook: null });
    const again = await as(olga, 'DELETE', PATH, {});
    expect(await bodyOf(again)).toEqual({ org: ORG, deleted: false });
    expect(await events('webhook.deleted')).toBe(1);
    const test = await as(olga, 'POST', `${PATH}/test`, {});
    expect(test.status).toBe(409);
  });
});

describe('test notices', () => {
  const deliveries = async () =>
    (await env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE org_id = ? AND event = 'webhook.test'")
      .bind(ORG)
      .first<{ n: number }>())!.n;

  it('at most 5 a minute per organisation, even when sent at once: the rest 429 with Retry-After, nothing queued for them', async () => {
    // A local receiver that refuses connections (a development deployment): attempts fail fast, nothing leaves the machine.
    expect((await as(olga, 'PUT', PATH, { url: 'http://127.0.0.1:1/hook', format: 'json' })).status).toBe(201);
    const before = await deliveries();
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => as(i % 2 ? olga : adam, 'POST', `${PATH}/test`, {})));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429, 429, 429]);
    for (const r of answers.filter((a) => a.status === 429)) {
      const wait = Number(r.headers.get('retry-after'));
      expect(wait).toBeGreaterThanOrEqual(1);
      expect(wait).toBeLessThanOrEqual(60);
      const b = await bodyOf(r);
      expect(b.code).toBe('ERR_TOO_MANY_WEBHOOK_TESTS');
      expect(b.detail).toMatch(/At most 5 test notices a minute/);
    }
    expect((await deliveries()) - before).toBe(5);
    // Still limited afterwards, whoever asks.
    expect((await as(adam, 'POST', `${PATH}/test`, {})).status).toBe(429);
    expect((await deliveries()) - before).toBe(5);
  });

  it('are not sent to a stored URL the rules now refuse (set before them, or its host since claimed): 409, nothing queued', async () => {
    const queued = async () =>
      (await env.DB.prepare('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE org_id = ?').bind(ORG).first<{ n: number }>())!.n;
    const before = await queued();
    // Stored straight in D1, as an older version would have.
    for (const url of ['https://10.0.0.1:8443/hook', `https://${HOST}/hook`]) {
      await putWebhook(env.DB, ring, { org: ORG, url, format: 'json', by: `${ORG}/olga`, now: Date.now() });
      const r = await as(olga, 'POST', `${PATH}/test`, {});
      expect(r.status, url).toBe(409);
      expect((await bodyOf(r)).detail, url).toMatch(
        /^The webhook's URL is no longer allowed \(url: (the host must be a name|hooks\.test is served)/,
      );
    }
    expect(await queued()).toBe(before);
    await deleteWebhook(env.DB, ORG);
  });
});
