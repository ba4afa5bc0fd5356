/**
 * @module What `npm start` shows of wrangler's output. Known noise is dropped, line by line or as
 * a block: the banner, the binding table, the "scheduled workers" hint (the ready message gives
 * the command), migration progress tables, the custom build's "Running:" line, and the Request.cf
 * warning with its stack trace. Everything else passes: request logs, reloads, and every warning
 * or error, so a real failure stays visible.
 */

const ANSI = /\u001b\[[0-9;]*m/g;

/** Lines dropped on their own. */
const NOISE: RegExp[] = [
  /^\s*⛅️ wrangler /, // the banner (WRANGLER_HIDE_BANNER hides it too)
  /^─+$/,
  /^Using (secrets|vars) defined in /,
  /^⎔ Starting local server/,
  /^The file [^/\s]+(,[^/\s]+)* changed, restarting build/, // the first build when the watcher starts, not a change
  /^\[custom build\]( Running:.*)?$/, // wrangler.toml's [build] (npm run build:pages); its errors still show
  /^Resource location: local/,
  /^Use --remote if you want to access the remote instance/,
  /^\? About to apply \d+ migration/,
  /^Your database may not be available to serve requests during the migration/,
  /^🤖 Using fallback value in non-interactive context/,
  /^🌀 (Executing on local database|To execute on your remote database)/,
  /^🚣 \d+ commands? executed successfully/,
  /^✅ No migrations to apply/,
  /^[┌│├└]/, // wrangler's box tables: migration names and their progress
];

/** A first line, and which following lines belong to the same block. */
const BLOCKS: { start: RegExp; rest: RegExp }[] = [
  { start: /^Your Worker has access to the following bindings:/, rest: /^(Binding\s|env\.|\s|$)/ },
  { start: /Scheduled Workers are not automatically triggered/, rest: /^(\s|$)/ },
  { start: /Unable to fetch the `Request\.cf` object/, rest: /^(Error: getaddrinfo|\s+at |\s*$)/ },
  { start: /^Migrations to be applied:/, rest: /^[┌│├└]/ },
];

const READY = /^\[wrangler:info\] Ready on https?:\/\/[^:\s]+:(\d+)/;

export interface LineFilterOptions {
  /** Called with the port when wrangler says it is ready (the line itself is dropped). */
  onReady?: (port: number) => void;
}

/** A stateful filter for one stream: returns the line to show, or null to drop it. */
export function lineFilter(opts: LineFilterOptions = {}): (line: string) => string | null {
  let block: RegExp | null = null;
  let lastBlank = true; // no blank lines at the start
  return (line) => {
    const plain = line.replace(ANSI, '').trimEnd();
    if (block) {
      if (block.test(plain)) return null;
      block = null;
    }
    const b = BLOCKS.find((x) => x.start.test(plain));
    if (b) {
      block = b.rest;
      return null;
    }
    const ready = READY.exec(plain);
    if (ready) {
      opts.onReady?.(Number(ready[1]));
      return null;
    }
    if (NOISE.some((re) => re.test(plain))) return null;
    const blank = plain.trim() === '';
    if (blank && lastBlank) return null;
    lastBlank = blank;
    return line;
  };
}

/** The same filter over captured output (e.g. of a failed `wrangler d1 migrations apply`). */
export function filterOutput(text: string): string {
  const keep = lineFilter();
  return text
    .split('\n')
    .map(keep)
    .filter((l) => l !== null)
    .join('\n')
    .concat('\n');
}

/** What `npm start` prints once the gateway is ready: where things run, and what to do next. */
export function readyMessage({ port, demoUrl }: { port: number; demoUrl: string }): string {
  const at = `http://localhost:${port}`;
  return [
    '',
    `stepgate: ready on ${at} (Stepgate in front of the demo app, which runs on ${demoUrl})`,
    '',
    '  Next steps (in a browser use "localhost": passkeys refuse IP addresses):',
    `    1. Sign in to the demo app   ${at}/login?user=alice`,
    `    2. Add a passkey or an app   ${at}/.stepgate/enrol`,
    `    3. Delete a project          ${at}/projects  (Stepgate asks you to confirm it)`,
    `    4. Become the owner          ${at}/.stepgate/admin, still as alice`,
    '                                 (BOOTSTRAP_OWNER): "Claim ownership", confirm it is you;',
    '                                 under People give bob the role admin and dave auditor;',
    '                                 under Apps add "Shop" on shop.localhost, origin the demo',
    '                                 app, people named by its "who am I" endpoint:',
    `                                 ${demoUrl}/__demo/whoami, cookie demo_session`,
    `    5. Audit and dashboard       sign in as ${at}/login?user=dave, enrol, then`,
    `                                 ${at}/.stepgate/admin/dashboard`,
    '  The maintenance cron (audit checkpoints, re-encryption, retention) does not run by itself here:',
    `    curl "http://127.0.0.1:${port}/__scheduled"`,
    '  Ctrl-C stops everything.',
    '',
  ].join('\n');
}
