/**
 * @module The Worker types that Node tests meet: they hand Miniflare's D1 to Worker modules (the
 * audit store, its key status) that name `D1Database` and `D1PreparedStatement` as globals, as the
 * Worker declares them. Imported by name from the module form of @cloudflare/workers-types, so the
 * Node tests get these two names and none of the Worker's other globals.
 */
import type { D1Database as WorkerD1Database, D1PreparedStatement as WorkerD1PreparedStatement } from '@cloudflare/workers-types';

declare global {
  type D1Database = WorkerD1Database;
  type D1PreparedStatement = WorkerD1PreparedStatement;
}
