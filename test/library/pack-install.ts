/**
 * @module Global setup for the `library` project: `npm pack` this package (its `prepack` builds
 * dist/lib), install the tarball into a temporary copy of test/library/example-worker the way a
 * host would (`npm install`, from the npm cache when it can), then, in that copy, type-check the
 * example against the installed types, bundle it as `wrangler deploy --dry-run` does, and run the
 * installed `stepgate` CLI. The Workers pool then
 * runs the example from the copy (its own wrangler.toml, the D1 migrations from the installed
 * package). Everything it creates is removed afterwards.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readD1Migrations } from '@cloudflare/vitest-pool-workers';
import type { TestProject } from 'vitest/node';
import type { PackInfo, Run } from '../support/provided-context';

const root = fileURLToPath(new URL('../..', import.meta.url));

// No update checks, telemetry or Request.cf download: nothing here needs the network but the npm cache.
const quiet = {
  npm_config_update_notifier: 'false',
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  NO_COLOR: '1',
};

const run = (cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run & { stdout: string }> =>
  new Promise((done) => {
    execFile(cmd, args, { cwd, maxBuffer: 64 << 20, env: { ...process.env, ...quiet, ...env } }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ status, stdout, output: `${stdout}${stderr}`.trim() });
    });
  });

export default async function setup(project: TestProject) {
  const t0 = Date.now();
  const tmp = mkdtempSync(join(tmpdir(), 'stepgate-library-'));
  const hadDistLib = existsSync(join(root, 'dist/lib'));
  const teardown = () => {
    rmSync(tmp, { recursive: true, force: true });
    if (!hadDistLib) rmSync(join(root, 'dist/lib'), { recursive: true, force: true });
  };
  try {
    const pack = await run('npm', ['pack', '--json', '--pack-destination', tmp], root);
    if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.output}`);
    // The prepack scripts print to the same stdout; the JSON report is the last thing on it.
    const [info] = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m))) as (Omit<PackInfo, 'files'> & { files: { path: string }[] })[];
    renameSync(join(tmp, info!.filename), join(tmp, 'stepgate.tgz'));
    const t1 = Date.now();

    const app = join(tmp, 'example-worker');
    cpSync(join(root, 'test/library/example-worker'), app, {
      recursive: true,
      filter: (src) => !/[\\/](node_modules|\.wrangler)$/.test(src),
    });
    const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], app);
    if (install.status !== 0) throw new Error(`npm install of the packed stepgate failed:\n${install.output}`);
    const t2 = Date.now();

    const [typecheck, cli, bundle] = await Promise.all([
      run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', app], app),
      run(join(app, 'node_modules/.bin/stepgate'), ['policy', 'check', 'src/policy.json'], app),
      run(
        process.execPath,
        [join(root, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', join(tmp, 'bundle')],
        app,
        {
          WRANGLER_LOG_PATH: join(tmp, 'wrangler-logs'),
        },
      ),
    ]);
    const t3 = Date.now();

    // The D1 migrations exactly where the example's wrangler.toml points: into the installed package.
    const toml = readFileSync(join(app, 'wrangler.toml'), 'utf8');
    const migrationsDir = resolve(app, /^migrations_dir\s*=\s*"([^"]+)"/m.exec(toml)![1]!);
    const migrations = await readD1Migrations(migrationsDir);

    project.provide('libraryWranglerConfig', join(app, 'wrangler.toml'));
    project.provide('libraryMigrations', migrations);
    project.provide('libraryMigrationsDir', migrationsDir);
    project.provide('libraryPack', {
      filename: info!.filename,
      size: info!.size,
      unpackedSize: info!.unpackedSize,
      files: info!.files.map((f) => f.path),
    });
    project.provide('libraryTypecheck', { status: typecheck.status, output: typecheck.output });
    project.provide('libraryCli', { status: cli.status, output: cli.output });
    project.provide('libraryBundle', { status: bundle.status, output: bundle.output });
    console.log(
      `library: packed ${info!.filename} (${(info!.size / 1024).toFixed(0)} KiB, ` +
        `${(info!.unpackedSize / 1024).toFixed(0)} KiB unpacked) in ${t1 - t0} ms; ` +
        `installed in ${t2 - t1} ms; type-checked, bundled and ran the CLI in ${t3 - t2} ms`,
    );
  } catch (err) {
    teardown();
    throw err;
  }
  return teardown;
}
