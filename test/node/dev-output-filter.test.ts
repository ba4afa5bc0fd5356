/**
 * What `npm start` keeps of wrangler's output (edge/node/dev/dev-output-filter.ts): the known noise of
 * wrangler 4.86 (captured from `npm start` before the filter) goes, warnings and errors stay.
 */
import { expect, it } from 'vitest';
import { filterOutput, lineFilter, readyMessage } from '../../edge/node/dev/dev-output-filter';

const CAPTURED =
  `
 ⛅️ wrangler 4.86.0 (update available 4.164.0)
──────────────────────────────────────────────
Resource location: local 

Use --remote if you want to access the remote instance.

Migrations to be applied:
┌────────────────────────┐
│ name                   │
├────────────────────────┤
│ 0001_init.sql          │
└────────────────────────┘
? About to apply 1 migration(s)
Your database may not be available to serve requests during the migration, continue?
🤖 Using fallback value in non-interactive context: yes
🌀 Executing on local database DB (00000000-0000-4000-8000-000000000000) from .wrangler/state/v3/d1:
🌀 To execute on your remote database, add a --remote flag to your wrangler command.
🚣 3 commands executed successfully.
┌────────────────────────┬────────┐
│ 0001_init.sql          │ ✅     │
└────────────────────────┴────────┘
[custom build] Running: npm run --silent build:pages
[custom build] 
Using secrets defined in .dev.vars
Your Worker has access to the following bindings:
Binding                                                                    Resource                  Mode
env.USER_STATE (UserState)                                                   Durable Object            local
env.STEPGATE_KEYS ("(hidden)")                                             Environment Variable      local

[wrangler:warn] Unable to fetch the \`Request.cf\` object! Falling back to a default placeholder...
Error: getaddrinfo ENOTFOUND workers.cloudflare.com
    at GetAddrInfoReqWrap.onlookupall [as oncomplete] (node:dns:122:26)
    at GetAddrInfoReqWrap.callbackTrampoline (node:internal/async_hooks:130:17)
\u001b[33m▲ \u001b[43;33m[\u001b[43;30mWARNING\u001b[43;33m]\u001b[0m ` +
  `\u001b[1mScheduled Workers are not automatically triggered during local development.\u001b[0m

  To manually trigger a scheduled event, run:
    curl "http://127.0.0.1:8787/__scheduled"
  For more details, see https://developers.cloudflare.com/workers/configuration/cron-triggers/#test-cron-triggers-locally


The file edge,shared changed, restarting build...
⎔ Starting local server...
[wrangler:info] Ready on http://127.0.0.1:8787
[wrangler:info] GET /api/projects 200 OK (17ms)
The file edge/browser/api.ts changed, restarting build...
▲ [WARNING] something wrangler wants you to know
✘ [ERROR] stepgate: maintenance failed: D1_ERROR: no such table: audit_events: SQLITE_ERROR
`;

it('drops the banner, tables, binding list, build chatter and the Request.cf stack trace', () => {
  const out = filterOutput(CAPTURED);
  expect(out).not.toMatch(/wrangler 4\.86|[┌│├└]|0001_init|migration|bindings|env\.|ENOTFOUND|\s+at \S/);
  expect(out).not.toMatch(/Scheduled Workers|To manually|Running:|edge,shared|Starting local server/);
});

it('keeps requests, reloads, warnings and errors', () => {
  expect(filterOutput(CAPTURED).trim().split('\n')).toEqual([
    '[wrangler:info] GET /api/projects 200 OK (17ms)',
    'The file edge/browser/api.ts changed, restarting build...',
    '▲ [WARNING] something wrangler wants you to know',
    '✘ [ERROR] stepgate: maintenance failed: D1_ERROR: no such table: audit_events: SQLITE_ERROR',
  ]);
});

it("reports wrangler's ready line instead of showing it", () => {
  const ports: number[] = [];
  const keep = lineFilter({ onReady: (p) => ports.push(p) });
  expect(keep('[wrangler:info] Ready on http://127.0.0.1:8787')).toBeNull();
  expect(ports).toEqual([8787]);
});

it('tells a newcomer how to become the owner and give dave the auditor role (no role is named in a variable)', () => {
  const out = readyMessage({ port: 8787, demoUrl: 'http://127.0.0.1:8788' });
  expect(out).toContain('http://localhost:8787/login?user=alice');
  expect(out).toContain('http://localhost:8787/.stepgate/admin, still as alice');
  expect(out).toContain('"Claim ownership"');
  expect(out).toContain('bob the role admin and dave auditor');
  expect(out).toContain('shop.localhost');
  expect(out).toContain('http://localhost:8787/login?user=dave');
  expect(out).not.toMatch(/ADMINS|AUDITORS/);
  // The steps fit a terminal of 100 columns.
  for (const line of out.split('\n').filter((l) => l.startsWith('    '))) expect(line.length).toBeLessThanOrEqual(100);
});
