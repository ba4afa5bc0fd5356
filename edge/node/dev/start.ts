/**
 * @module `npm start`: the whole demo in one command — dev secrets, local D1 migrations, the demo
 * app on 127.0.0.1:8788 and the gateway under `wrangler dev` on 127.0.0.1:8787.
 *
 * The output is for a newcomer: what runs where and what to try next. wrangler's own output is
 * filtered (dev-output-filter.ts): its banner, binding table and migration tables are dropped;
 * everything else, errors above all, is shown. Every child runs in a process group that is
 * stopped with this process (process-group.ts). The knobs (README, "Quickstart"):
 * STEPGATE_PORT, DEMO_PORT, STEPGATE_INSPECTOR_PORT, STEPGATE_PERSIST_TO, DEMO_INSPECT,
 * STEPGATE_WEBAUTHN_ORIGINS.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { startDemoOrigin } from '../demo/demo-origin';
import { ensureDevVars } from './dev-vars';
import { filterOutput, lineFilter, readyMessage } from './dev-output-filter';
import { spawnGroup, stopGroup, stoppingFor } from './process-group';

const say = (line: string) => console.log(`stepgate: ${line}`);
const fail = (line: string): never => {
  console.error(`stepgate: ${line}`);
  process.exit(1);
};

/** A port from the environment, or the default; `explicit` when the person chose it. */
const portFrom = (name: string, dflt: number): { port: number; explicit: boolean } => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return { port: dflt, explicit: false };
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`${name}=${raw} is not a port number (1-65535)`);
  return { port, explicit: true };
};

/** Whether `port` can be bound on 127.0.0.1 now (0 asks for any free port). Resolves the port, or null. */
const tryPort = (port: number) =>
  new Promise<number | null>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(null));
    s.listen(port, '127.0.0.1', () => {
      const bound = (s.address() as { port: number }).port;
      s.close(() => resolve(bound));
    });
  });

const gateway = portFrom('STEPGATE_PORT', 8787);
const demoPort = portFrom('DEMO_PORT', 8788);
const inspectorPort = portFrom('STEPGATE_INSPECTOR_PORT', 9229);

// The gateway's port never moves by itself: passkeys, the paired extension and the README's links
// are tied to http://localhost:8787.
if ((await tryPort(gateway.port)) === null) {
  fail(
    `port ${gateway.port} is taken (another \`npm start\` or \`wrangler dev\`?). Stop it, or choose another port: ` +
      `STEPGATE_PORT=${gateway.port === 8787 ? 8790 : gateway.port + 1} npm start (passkeys and the extension's pairing are per port)`,
  );
}
// The demo app is reached only through the gateway, so it moves to a free port if its own is taken.
let demoAt = demoPort.port;
if ((await tryPort(demoAt)) === null) {
  if (demoPort.explicit) fail(`port ${demoAt} (DEMO_PORT, the demo app) is taken; choose another, or unset DEMO_PORT to pick a free one`);
  demoAt = 0;
}
// The inspector (for a debugger) can be anywhere: a free one if the default is taken.
let inspector = inspectorPort.port;
if ((await tryPort(inspector)) === null) {
  if (inspectorPort.explicit) fail(`port ${inspector} (STEPGATE_INSPECTOR_PORT) is taken; choose another, or unset it to pick a free one`);
  inspector = (await tryPort(0))!;
}

// Tests run their own instance beside a developer's: separate local state and ports.
const persist = process.env.STEPGATE_PERSIST_TO ? ['--persist-to', process.env.STEPGATE_PERSIST_TO] : [];
// Replaces wrangler.toml's WEBAUTHN_ORIGINS, e.g. to add a Firefox install's moz-extension://<uuid>.
const origins = process.env.STEPGATE_WEBAUTHN_ORIGINS ? ['--var', `WEBAUTHN_ORIGINS:${process.env.STEPGATE_WEBAUTHN_ORIGINS}`] : [];
// Replaces wrangler.toml's RECOVERY_WAIT_MINUTES (development only), e.g. 1 for a browser test of recovery.
const recoveryWait = process.env.STEPGATE_RECOVERY_WAIT_MINUTES
  ? ['--var', `RECOVERY_WAIT_MINUTES:${process.env.STEPGATE_RECOVERY_WAIT_MINUTES}`]
  : [];

// wrangler without network chatter: no telemetry, no update check (the banner), no download of the
// Request.cf object (each printed a stack trace offline). Anything set in the environment wins.
const wranglerEnv = {
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  // Its output reaches the terminal through a pipe: colour only if that is a terminal.
  ...(process.stdout.isTTY ? { FORCE_COLOR: '1' } : { NO_COLOR: '1' }),
  ...process.env,
};

const secrets = ensureDevVars();

/** Run wrangler to completion in its own process group; its output is returned, not shown. */
async function wranglerQuiet(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawnGroup('npx', ['wrangler', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...wranglerEnv, CI: 'true' } });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  await stopGroup(child, 0); // anything it left behind
  return { code, output };
}

const migrate = await wranglerQuiet(['d1', 'migrations', 'apply', 'DB', '--local', ...persist]);
if (migrate.code !== 0) {
  process.stderr.write(filterOutput(migrate.output));
  fail('applying the local D1 migrations failed (wrangler d1 migrations apply DB --local; its output is above)');
}
const applied = /About to apply (\d+) migration/.exec(migrate.output)?.[1];
say(`local D1 database ${applied ? `ready, ${applied} migration(s) applied` : 'up to date'}${persist.length ? ` (in ${persist[1]})` : ''}`);

// DEMO_INSPECT=1 (the end-to-end tests) serves GET /__demo/requests: what the origin received.
const demo = await startDemoOrigin({ port: demoAt, jwtSecret: secrets.IDENTITY_JWT_SECRET, inspect: process.env.DEMO_INSPECT === '1' });
if (demoAt === 0)
  say(`port ${demoPort.port} (the demo app) is taken; the demo app uses ${new URL(demo.url).port} instead (DEMO_PORT chooses)`);
if (inspector !== inspectorPort.port) say(`port ${inspectorPort.port} (the debugger) is taken; the inspector uses ${inspector} instead`);
say(`starting the gateway (wrangler dev) in front of the demo app on ${demo.url}…`);

const wrangler: ChildProcess = spawnGroup(
  'npx',
  [
    'wrangler',
    'dev',
    // The maintenance cron by hand: `/__scheduled`. (Miniflare's own /cdn-cgi/handler/scheduled answers
    // "exception" for a Worker with static assets in this wrangler: workers-sdk issue 9882.)
    '--test-scheduled',
    '--ip',
    '127.0.0.1',
    '--port',
    String(gateway.port),
    '--inspector-port',
    String(inspector),
    '--var',
    `ORIGIN_URL:${demo.url}`,
    ...origins,
    ...recoveryWait,
    ...persist,
  ],
  { stdio: ['ignore', 'pipe', 'pipe'], env: wranglerEnv },
);
let ready = false;
const onReady = () => {
  if (ready) return;
  ready = true;
  console.log(readyMessage({ port: gateway.port, demoUrl: demo.url }));
};
for (const [stream, out] of [
  [wrangler.stdout!, process.stdout],
  [wrangler.stderr!, process.stderr],
] as const) {
  const filter = lineFilter({ onReady: (port) => port === gateway.port && onReady() });
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
    const kept = filter(line);
    if (kept !== null) out.write(`${kept}\n`);
  });
}

// Ctrl-C or a kill: process-group.ts stops wrangler's group, then exits with the signal's code.
wrangler.once('exit', () => stoppingFor() && say('stopped'));
// Otherwise wrangler failed. 'close', not 'exit': its last lines are written out first.
wrangler.once('close', (code, signal) => {
  if (stoppingFor()) return;
  void demo.close();
  if (!ready) fail(`wrangler dev exited (${signal ?? `code ${code}`}) before the gateway was ready; its output is above`);
  console.error(`stepgate: wrangler dev stopped (${signal ?? `code ${code}`})`);
  process.exit(code || 1);
});
