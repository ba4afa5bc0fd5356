/**
 * @module `npm start`: the whole demo in one command — dev secrets, local D1 migrations, the demo
 * app on 127.0.0.1:8788 and the gateway under `wrangler dev` on 127.0.0.1:8787.
 */
import { spawn, spawnSync } from 'node:child_process';
import { startDemoOrigin } from '../demo/demo-origin';
import { ensureDevVars } from './dev-vars';

const GATEWAY_PORT = Number(process.env.STEPGATE_PORT ?? 8787);
const DEMO_PORT = Number(process.env.DEMO_PORT ?? 8788);

// Tests run their own instance beside a developer's: separate local state and inspector port.
const persist = process.env.STEPGATE_PERSIST_TO ? ['--persist-to', process.env.STEPGATE_PERSIST_TO] : [];
const inspector = process.env.STEPGATE_INSPECTOR_PORT ? ['--inspector-port', process.env.STEPGATE_INSPECTOR_PORT] : [];
// Replaces wrangler.toml's WEBAUTHN_ORIGINS, e.g. to add a Firefox install's moz-extension://<uuid>.
const origins = process.env.STEPGATE_WEBAUTHN_ORIGINS ? ['--var', `WEBAUTHN_ORIGINS:${process.env.STEPGATE_WEBAUTHN_ORIGINS}`] : [];

const secrets = ensureDevVars();

// The browser scripts of Stepgate's pages (edge/pages/client) are bundled into the Worker.
if (spawnSync('npm', ['run', 'build:pages'], { stdio: 'inherit' }).status !== 0) {
  console.error('stepgate: building the page scripts failed');
  process.exit(1);
}

const migrate = spawnSync('npx', ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local', ...persist], {
  stdio: 'inherit',
  env: { ...process.env, CI: 'true' },
});
if (migrate.status !== 0) {
  console.error('stepgate: applying local D1 migrations failed');
  process.exit(1);
}

// DEMO_INSPECT=1 (the end-to-end tests) serves GET /__demo/requests: what the origin received.
const demo = await startDemoOrigin({ port: DEMO_PORT, jwtSecret: secrets.IDENTITY_JWT_SECRET, inspect: process.env.DEMO_INSPECT === '1' });
console.log(`stepgate: demo app (the origin) on ${demo.url}`);

const wrangler = spawn(
  'npx',
  ['wrangler', 'dev', '--ip', '127.0.0.1', '--port', String(GATEWAY_PORT), '--var', `ORIGIN_URL:${demo.url}`, ...origins, ...persist, ...inspector],
  { stdio: 'inherit' },
);
console.log(`stepgate: gateway on http://localhost:${GATEWAY_PORT} — try http://localhost:${GATEWAY_PORT}/login?user=alice (passkeys need "localhost", not an IP address)`);

const stop = () => {
  wrangler.kill('SIGTERM');
  void demo.close();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
wrangler.on('exit', (code) => {
  void demo.close().then(() => process.exit(code ?? 0));
});
