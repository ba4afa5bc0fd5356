/**
 * `stepgate doctor` and CONSOLE_HOSTS (docs/admin.md, "Console hosts"): a production configuration
 * without it is still ready but warned about; an entry that is not a bare host name, or that no route
 * serves, is a problem (the console would answer on no host); a good one passes without the warning.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/miniflare-gateway';
import { runCli } from '../support/run-cli';

/** The shipped wrangler.toml made ready for production (as doctor.test.ts does), routes for app. and admin.example.com. */
function production(consoleHosts?: string): string {
  const set = (t: string, name: string, value: string) => t.replace(new RegExp(`^${name} = .*$`, 'm'), `${name} = ${value}`);
  let t = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  t = set(t, 'ENVIRONMENT', '"production"');
  t = set(t, 'ORIGIN_URL', '""');
  t = set(t, 'BOOTSTRAP_OWNER', '"ops-lead@example.com"');
  t = set(t, 'WEBAUTHN_ORIGINS', '"chrome-extension://abcdefghijklmnopabcdefghijklmnop"');
  t = set(t, 'database_id', '"5f0c2a3e-1b7d-4c8e-9a6f-2d4b8e1c7a90"');
  if (consoleHosts !== undefined) t = t.replace('[vars]', `[vars]\nCONSOLE_HOSTS = "${consoleHosts}"`);
  return t.replace(
    /^compatibility_date = .*$/m,
    '$&\nroutes = [{ pattern = "app.example.com/*", zone_name = "example.com" }, ' +
      '{ pattern = "*.admin.example.com/*", zone_name = "example.com" }]',
  );
}

async function doctor(toml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-doctor-console-'));
  writeFileSync(join(dir, 'wrangler.toml'), toml);
  mkdirSync(join(dir, 'edge/config'), { recursive: true });
  cpSync(join(ROOT, 'edge/config/policy.json'), join(dir, 'edge/config/policy.json'));
  cpSync(join(ROOT, 'edge/migrations'), join(dir, 'edge/migrations'), { recursive: true });
  return runCli(['doctor', '--config', join(dir, 'wrangler.toml')]);
}

describe('stepgate doctor: CONSOLE_HOSTS', () => {
  it('unset in production: ready, with a warning that names the setting', async () => {
    const r = await doctor(production());
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^note: warning: CONSOLE_HOSTS is not set/m);
  });

  it('set to a host a route serves: ready, no warning', async () => {
    const r = await doctor(production('eu.admin.example.com'));
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('CONSOLE_HOSTS');
  });

  it.each([
    ['https://eu.admin.example.com', /is not a bare host name/],
    ['eu.admin.example.com:8443', /is not a bare host name/],
    ['*.admin.example.com', /is not a bare host name/],
    ['console.other.example', /no route serves console\.other\.example/],
  ])('%s is a problem: the console would answer nowhere', async (hosts, problem) => {
    const r = await doctor(production(hosts));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^problem: CONSOLE_HOSTS: /m);
    expect(r.out).toMatch(problem);
  });
});
