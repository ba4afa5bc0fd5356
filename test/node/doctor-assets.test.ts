/**
 * `stepgate doctor` and the page scripts' static assets (wrangler.toml's `[assets]`): a configuration
 * whose page scripts cannot load (no [assets], another binding name), whose assets would answer before
 * the Worker on every app path (run_worker_first not true), or that answers unknown names with a file
 * (not_found_handling) is not "ready for production".
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/miniflare-gateway';
import { runCli } from '../support/run-cli';

const shipped = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
const set = (toml: string, name: string, line: string) => toml.replace(new RegExp(`^${name} = .*$`, 'm'), line);
function production(): string {
  let t = shipped;
  t = set(t, 'ENVIRONMENT', 'ENVIRONMENT = "production"');
  t = set(t, 'ORIGIN_URL', 'ORIGIN_URL = ""');
  t = set(t, 'BOOTSTRAP_OWNER', 'BOOTSTRAP_OWNER = "ops-lead@example.com"');
  t = set(t, 'WEBAUTHN_ORIGINS', 'WEBAUTHN_ORIGINS = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"');
  t = set(t, 'database_id', 'database_id = "5f0c2a3e-1b7d-4c8e-9a6f-2d4b8e1c7a90"');
  return t.replace(/^compatibility_date = .*$/m, '$&\nroutes = [{ pattern = "app.example.com/*", zone_name = "example.com" }]');
}
function project(toml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-review-doctor-'));
  writeFileSync(join(dir, 'wrangler.toml'), toml);
  mkdirSync(join(dir, 'edge/config'), { recursive: true });
  cpSync(join(ROOT, 'edge/config/policy.json'), join(dir, 'edge/config/policy.json'));
  cpSync(join(ROOT, 'edge/migrations'), join(dir, 'edge/migrations'), { recursive: true });
  return join(dir, 'wrangler.toml');
}
const ASSETS_BLOCK = /^\[assets\]\ndirectory = .*\nbinding = "ASSETS"\nrun_worker_first = true\n/m;

describe('doctor and the page scripts’ static assets', () => {
  it('the production copy with the shipped [assets] is ready', async () => {
    expect(shipped).toMatch(ASSETS_BLOCK);
    expect(await runCli(['doctor', '--config', project(production())])).toMatchObject({ code: 0 });
  });

  it('without [assets] (no page script can load: no step-up can be answered), doctor is not "ready"', async () => {
    const r = await runCli(['doctor', '--config', project(production().replace(ASSETS_BLOCK, ''))]);
    expect(r.code).toBe(1);
  });

  it('with run_worker_first = false (assets answer on every app path before the gateway), doctor is not "ready"', async () => {
    const r = await runCli(['doctor', '--config', project(production().replace('run_worker_first = true', 'run_worker_first = false'))]);
    expect(r.code).toBe(1);
  });

  it('with another binding name (the gateway reads env.ASSETS), doctor is not "ready"', async () => {
    const r = await runCli(['doctor', '--config', project(production().replace('binding = "ASSETS"', 'binding = "STATIC"'))]);
    expect(r.code).toBe(1);
  });

  it('with not_found_handling answering unknown names with a file, doctor is not "ready"', async () => {
    const toml = production().replace('run_worker_first = true', 'run_worker_first = true\nnot_found_handling = "single-page-application"');
    const r = await runCli(['doctor', '--config', project(toml)]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('not_found_handling');
  });
});
