/**
 * @module Test projects: `edge` runs inside workerd (the Workers Vitest pool, real D1 and Durable
 * Objects); `library` runs an example Hono Worker that installed the packed package, in workerd;
 * `node` drives the bundled gateway under Miniflare with raw HTTP; `e2e` drives real Chromium.
 */
import { fileURLToPath } from 'node:url';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('..', import.meta.url));
const migrations = await readD1Migrations(`${root}/edge/migrations`);

/** Test-only secret; the demo origin in global setup signs sessions with the same one. */
export const TEST_JWT_SECRET = 'test-only-identity-secret-0123456789abcdef';
/** Test-only keyring (not a secret: it protects nothing outside tests). */
export const TEST_KEYS = JSON.stringify({ primary: 'test1', keys: { test1: 'dGVzdC1vbmx5LWtleXJpbmctbWFzdGVyLWtleS0wMDE=' } });

export default defineConfig({
  root,
  test: {
    projects: [
      {
        extends: true,
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: `${root}/wrangler.toml` },
            miniflare: {
              bindings: {
                ORIGIN_URL: inject('originUrl'),
                IDENTITY_JWT_SECRET: TEST_JWT_SECRET,
                STEPGATE_KEYS: TEST_KEYS,
                TEST_MIGRATIONS: migrations,
                // The tests name many hosts; a test of serving by host sets its own list.
                BUNDLED_APP_HOSTS: '',
              },
            },
          })),
        ],
        test: {
          name: 'edge',
          include: ['test/edge/**/*.test.ts'],
          globalSetup: ['test/support/origin-setup.ts'],
          setupFiles: ['test/support/apply-migrations.ts'],
        },
      },
      {
        extends: true,
        plugins: [
          // The example Worker of test/library/example-worker, installed from the packed tarball
          // in a temporary directory by the global setup; its own wrangler.toml and migrations.
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: inject('libraryWranglerConfig') },
            miniflare: {
              bindings: {
                IDENTITY_JWT_SECRET: TEST_JWT_SECRET,
                STEPGATE_KEYS: TEST_KEYS,
                TEST_MIGRATIONS: inject('libraryMigrations'),
              },
            },
          })),
        ],
        test: {
          name: 'library',
          include: ['test/library/**/*.test.ts'],
          globalSetup: ['test/library/pack-install.ts'],
          setupFiles: ['test/support/apply-migrations.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/node/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000, // npm start, with one retry
          // A page's answer can take seconds on a loaded 2-core CI machine (a step-up, an audited admin
          // action, a notice sent); vitest's default of 1 s failed a console action there.
          expect: { poll: { timeout: 15_000 } },
        },
      },
    ],
  },
});
