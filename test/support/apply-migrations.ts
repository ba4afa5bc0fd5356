/** @module Setup for the `edge` project: apply the real D1 migrations to the test database. */
import { applyD1Migrations, env } from 'cloudflare:test';

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
