/**
 * @module `stepgate doctor`: is a wrangler configuration ready for production? It reads the
 * configuration with wrangler's own reader (so environments, inheritance and defaults are wrangler's),
 * runs the gateway's production checks over its `[vars]` (edge/config/production-checks.ts), and
 * checks what the gateway cannot see at run time: routes, the cron trigger, D1, the Durable Objects
 * and their migrations, the page scripts' static assets (doctor-assets.ts), the policy's `hosts`,
 * and secrets placed in `[vars]`.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import type { Unstable_Config } from 'wrangler';
import {
  isProduction,
  productionProblems,
  requiredSecrets,
  type ProductionProblem,
  type ProductionSettings,
} from '../../config/production-checks';
import { consoleHostsSetting } from '../../config/list-settings';
import { IdentityConfig } from '../../identity/identity-config';
import { compilePolicy } from '../../policy/compile-policy';
import { formatProblem, parsePolicy, PolicyError } from '../../policy/validate-policy';
import { readText, str, type Command, type Values } from './args';
import { assetsProblems } from './doctor-assets';

/** The database_id that the shipped wrangler.toml carries until `wrangler d1 create` prints the real one. */
export const PLACEHOLDER_DATABASE_ID = '00000000-0000-4000-8000-000000000000';

/** Durable Object bindings the Worker needs: binding name → class (both SQLite-backed). */
const DURABLE_OBJECTS = { USER_STATE: 'UserState', AUDIT_SEQUENCER: 'AuditSequencer' } as const;

/** Settings that are secrets: never in `[vars]` (plain text in the file and the dashboard). */
const SECRETS = ['STEPGATE_KEYS', 'IDENTITY_JWT_SECRET'] as const;

export interface DoctorReport {
  config: string;
  env: string | null;
  problems: ProductionProblem[];
  /** `wrangler secret put` commands to run (their values are not visible here). */
  secrets: string[];
  notes: string[];
}

export const DOCTOR_COMMAND: Command = {
  name: 'doctor',
  synopsis: ['[--config FILE] [--env NAME] [--policy FILE] [--json]'],
  summary:
    'Check that a wrangler configuration is ready for production; print each problem and its fix. Exit 1 if there is any, 0 if ready.',
  details:
    "It checks ENVIRONMENT, the gateway's production checks (ORIGIN_URL, IDENTITY, WEBAUTHN_ORIGINS,\n" +
    'BOOTSTRAP_OWNER), CONSOLE_HOSTS, secrets wrongly placed in [vars], routes, the cron trigger, the D1 database and migrations, the\n' +
    'Durable Objects and their migrations, and the policy\'s "hosts". It cannot see secret values: it lists the\n' +
    '`wrangler secret put` commands to run. Run it before every `wrangler deploy`.',
  options: {
    config: { type: 'string', value: 'FILE', help: 'the wrangler configuration (default: wrangler.toml)' },
    env: { type: 'string', value: 'NAME', help: 'check the [env.NAME] environment, as `wrangler deploy --env NAME` would deploy it' },
    policy: {
      type: 'string',
      value: 'FILE',
      help: 'the policy bundled into the Worker (default: edge/config/policy.json next to the configuration)',
    },
    json: { type: 'boolean', help: 'print the report as JSON' },
  },
  async run({ values }, io) {
    const report = await doctor(values);
    if (values.json === true) {
      io.out(JSON.stringify({ ready: report.problems.length === 0, ...report }, null, 2));
      return report.problems.length ? 1 : 0;
    }
    io.out(`stepgate doctor: ${report.config}${report.env ? ` [env.${report.env}]` : ''}`);
    for (const p of report.problems) {
      io.out(`problem: ${p.setting}: ${p.problem}`);
      io.out(`    fix: ${p.fix}`);
    }
    for (const n of report.notes) io.out(`note: ${n}`);
    io.out('secrets (their values cannot be checked here; set each once, before deploying):');
    for (const s of report.secrets) io.out(`  ${s}`);
    if (report.problems.length) {
      io.out(`${report.problems.length} problem(s): not ready for production.`);
      return 1;
    }
    io.out(
      `ready for production. Next: npx wrangler d1 migrations apply DB --remote${report.env ? ` --env ${report.env}` : ''}, ` +
        `then npx wrangler deploy${report.env ? ` --env ${report.env}` : ''}`,
    );
    return 0;
  },
};

/** Read a wrangler configuration and list what stands between it and production. */
export async function doctor(values: Values): Promise<DoctorReport> {
  const config = str(values, 'config') ?? 'wrangler.toml';
  const envName = str(values, 'env') ?? null;
  if (!existsSync(config)) throw new Error(`${config}: no such file (pass --config FILE)`);
  let wrangler: typeof import('wrangler');
  try {
    wrangler = await import('wrangler');
  } catch {
    throw new Error('stepgate doctor reads the configuration with wrangler: npm install --save-dev wrangler');
  }
  const problems: ProductionProblem[] = [];
  const notes: string[] = [];
  const add = (setting: string, problem: string, fix: string) => problems.push({ setting, problem, fix });

  const raw = wrangler.experimental_readRawConfig({ config }).rawConfig as {
    env?: Record<string, unknown>;
    vars?: Record<string, unknown>;
  };
  const hasEnv = envName !== null && raw.env?.[envName] !== undefined;
  if (envName !== null && !hasEnv) {
    add(
      '--env',
      `${config} has no [env.${envName}] section (wrangler refuses it, or deploys the ` +
        `top-level configuration under another name); the checks below are of the top level`,
      `add [env.${envName}] (with its own [env.${envName}.vars]: vars are not inherited), or drop --env`,
    );
  }
  const cfg: Unstable_Config = wrangler.unstable_readConfig({ config, ...(hasEnv ? { env: envName } : {}) }, { hideWarnings: true });
  const base = dirname(resolve(config));
  const vars = (cfg.vars ?? {}) as Record<string, unknown>;
  const settings: ProductionSettings = {
    ENVIRONMENT: vars.ENVIRONMENT === undefined ? undefined : String(vars.ENVIRONMENT),
    ORIGIN_URL: vars.ORIGIN_URL === undefined ? undefined : String(vars.ORIGIN_URL),
    WEBAUTHN_ORIGINS: vars.WEBAUTHN_ORIGINS === undefined ? undefined : String(vars.WEBAUTHN_ORIGINS),
    BOOTSTRAP_OWNER: vars.BOOTSTRAP_OWNER === undefined ? undefined : String(vars.BOOTSTRAP_OWNER),
    IDENTITY: vars.IDENTITY,
  };
  const envFlag = envName !== null ? ` --env ${envName}` : '';

  // The environment itself: the gateway holds anything but "development" to the checks below, and
  // "production" says so plainly.
  if (settings.ENVIRONMENT !== 'production') {
    const now = settings.ENVIRONMENT === undefined ? 'is not set' : `is "${settings.ENVIRONMENT}", not "production"`;
    add(
      'ENVIRONMENT',
      isProduction(settings)
        ? now
        : `${now}: a development gateway (the dev identity source is allowed, cookies work over plain http, no production checks)`,
      'set ENVIRONMENT = "production" in [vars]',
    );
  }
  // What the gateway refuses to start with, judged as production whatever ENVIRONMENT says now.
  problems.push(...productionProblems({ ...settings, ENVIRONMENT: 'production' }, { secrets: false }));
  const identity = IdentityConfig.safeParse(settings.IDENTITY);
  if (!identity.success) {
    add(
      'IDENTITY',
      identity.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
      'see docs/architecture.md#identity for the jwt and cloudflareAccess sources',
    );
  }
  for (const name of SECRETS) {
    if (name in vars)
      add(
        name,
        'is a secret but is in [vars], in plain text in the configuration (and the dashboard)',
        `remove it from [vars] and set it with: npx wrangler secret put ${name}${envFlag}`,
      );
  }
  const secrets = requiredSecrets(settings).map(
    (s) =>
      `npx wrangler secret put ${s}${envFlag}${s === 'STEPGATE_KEYS' ? ' < keys.json   # npx stepgate keys generate --out keys.json' : ''}`,
  );

  // Routes: without one, Stepgate does not stand in front of the app.
  const routes = [...(cfg.routes ?? []), ...(cfg.route ? [cfg.route] : [])];
  if (routes.length === 0) {
    add(
      'routes',
      'none: the gateway would not stand in front of your app (only on workers.dev)',
      'add routes = [{ pattern = "app.example.com/*", zone_name = "example.com" }]',
    );
  }

  consoleHostChecks(vars, routes, add, notes);

  // The policy bundled into the Worker.
  const policyFile = str(values, 'policy') ?? resolve(base, 'edge/config/policy.json');
  if (!existsSync(policyFile)) {
    notes.push(`no policy at ${relative(process.cwd(), policyFile) || policyFile}; its "hosts" were not checked (pass --policy FILE)`);
  } else {
    const text = readText(policyFile, () => {});
    try {
      const policy = compilePolicy(parsePolicy(text ?? '', policyFile));
      const named = policy.rules.filter((r) => r.source.match.host !== undefined);
      if (named.length && !policy.policy.hosts) {
        add(
          'policy hosts',
          `rule(s) ${named.map((r) => r.id).join(', ')} name a host but the policy ` +
            `has no "hosts", so requests for any other host pass through unprotected`,
          `list every host the gateway serves in "hosts" of ${relative(process.cwd(), policyFile)}`,
        );
      }
      if (policy.policy.hosts) {
        for (const r of routes) {
          const pattern = typeof r === 'string' ? r : r.pattern;
          const host = pattern
            .replace(/^https?:\/\//, '')
            .split('/')[0]!
            .split(':')[0]!
            .toLowerCase();
          if (host && !host.includes('*') && !policy.servesHost(host)) {
            add(
              'policy hosts',
              `the route ${pattern} is for ${host}, which the policy's "hosts" does not list: every request there would get 421`,
              `add ${host} to "hosts", or remove the route`,
            );
          }
        }
      }
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      for (const p of e.problems)
        add('policy', formatProblem(p), 'fix the policy (npx stepgate policy check FILE); the gateway refuses to start with it');
    }
  }

  // The cron trigger: checkpoints, re-encryption after a key rotation, retention.
  if (!(cfg.triggers?.crons ?? []).length) {
    add(
      'triggers',
      'no cron trigger: audit checkpoints are not signed, rotated keys are not re-encrypted, retention never runs',
      'add [triggers] crons = ["*/15 * * * *"]',
    );
  }

  // D1.
  const db = (cfg.d1_databases ?? []).find((d) => d.binding === 'DB');
  if (!db)
    add(
      'd1_databases',
      'no D1 database bound as DB',
      'npx wrangler d1 create stepgate, ' +
        'and add [[d1_databases]] binding = "DB" with its database_id and migrations_dir = "edge/migrations"',
    );
  else {
    if (!db.database_id || db.database_id === PLACEHOLDER_DATABASE_ID) {
      add(
        'd1_databases.database_id',
        db.database_id ? `is the placeholder ${PLACEHOLDER_DATABASE_ID}` : 'is not set',
        'npx wrangler d1 create stepgate, and put the database_id it prints here',
      );
    }
    if (!db.migrations_dir)
      add(
        'd1_databases.migrations_dir',
        'is not set, so `wrangler d1 migrations apply` finds no migrations',
        'set migrations_dir = "edge/migrations"',
      );
    else {
      const dir = resolve(base, db.migrations_dir);
      const sql = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.sql')) : [];
      if (!sql.length) add('d1_databases.migrations_dir', `${db.migrations_dir} has no .sql migrations`, 'point it at edge/migrations');
    }
  }

  // The page scripts: Workers static assets the gateway reads through ASSETS, behind the Worker.
  problems.push(...assetsProblems(cfg.assets));

  // Durable Objects: the bindings, and migrations that create their classes with SQLite storage.
  const bindings = cfg.durable_objects?.bindings ?? [];
  const created = new Map<string, 'sqlite' | 'kv'>();
  for (const m of cfg.migrations ?? []) {
    for (const c of m.new_sqlite_classes ?? []) created.set(c, 'sqlite');
    for (const c of m.new_classes ?? []) created.set(c, 'kv');
    for (const r of m.renamed_classes ?? []) {
      const was = created.get(r.from);
      created.delete(r.from);
      if (was) created.set(r.to, was);
    }
    for (const c of m.deleted_classes ?? []) created.delete(c);
  }
  for (const [name, className] of Object.entries(DURABLE_OBJECTS)) {
    const b = bindings.find((x) => x.name === name);
    if (!b)
      add(
        'durable_objects.bindings',
        `no binding ${name}`,
        `add [[durable_objects.bindings]] name = "${name}", class_name = "${className}"`,
      );
    else if (b.class_name !== className)
      add('durable_objects.bindings', `${name} is bound to class ${b.class_name}`, `class_name = "${className}"`);
    const kind = created.get(className);
    if (!kind)
      add(
        'migrations',
        `no migration creates the Durable Object class ${className}`,
        `add [[migrations]] tag = "vN", new_sqlite_classes = ["${className}"]`,
      );
    else if (kind !== 'sqlite')
      add(
        'migrations',
        `${className} is created with new_classes, but it keeps its state in SQLite`,
        `create it with new_sqlite_classes = ["${className}"] (a new class; existing data does not move)`,
      );
  }
  return { config, env: envName, problems, secrets, notes };
}

type Route = string | { pattern: string };

/** The host a route pattern is for (`*.example.com` keeps its wildcard). */
const routeHost = (r: Route): string =>
  (typeof r === 'string' ? r : r.pattern)
    .replace(/^https?:\/\//, '')
    .split('/')[0]!
    .split(':')[0]!
    .toLowerCase();

/**
 * CONSOLE_HOSTS (edge/endpoints/console-hosts.ts): unset, the console shares every app's origin (a
 * warning, as a note); each entry must be a bare host name a route serves, or the console answers nowhere.
 */
function consoleHostChecks(
  vars: Record<string, unknown>,
  routes: readonly Route[],
  add: (setting: string, problem: string, fix: string) => void,
  notes: string[],
): void {
  const hosts = consoleHostsSetting({ CONSOLE_HOSTS: vars.CONSOLE_HOSTS === undefined ? undefined : String(vars.CONSOLE_HOSTS) });
  if (!hosts.length) {
    notes.push(
      'warning: CONSOLE_HOSTS is not set, so the admin console, the admin API and the token endpoints answer on every ' +
        "app's host, where the app's own script (its developers, an XSS) can call them as an administrator with a fresh " +
        'step-up there. Name a console host of its own: docs/admin.md, "Console hosts"',
    );
    return;
  }
  for (const host of hosts) {
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(host)) {
      add(
        'CONSOLE_HOSTS',
        `"${host}" is not a bare host name: the console would answer on no host`,
        'list host names only (no scheme, port, path or *)',
      );
    } else if (routes.length && !routes.some((r) => routeCovers(routeHost(r), host))) {
      add(
        'CONSOLE_HOSTS',
        `no route serves ${host}: the console would answer on no host`,
        `add a route for ${host}/*, or fix CONSOLE_HOSTS`,
      );
    }
  }
}

/** Whether a route's host pattern (exact, or with a leading `*`) covers a host. */
const routeCovers = (pattern: string, host: string): boolean =>
  pattern.startsWith('*') ? host.endsWith(pattern.slice(1)) : pattern === host;
