/** @module The Worker entry point: the gateway, and the Durable Object classes it binds. */
import { ErrorCode } from '../shared/errors';
import type { Env } from './env';
import { createGateway, scheduledMaintenance } from './gateway';
import { problem } from './http/responses';

export { UserGate } from './user-gate/user-gate';
export { AuditSequencer } from './audit/audit-sequencer';

let gateway: ReturnType<typeof createGateway> | null = null;
let configError: string | null = null;

export default {
  async fetch(request, env, ctx): Promise<Response> {
    if (!gateway && !configError) {
      try {
        gateway = createGateway(env);
      } catch (err) {
        configError = err instanceof Error ? err.message : String(err);
      }
    }
    if (!gateway) {
      // Fail closed: a gateway that cannot load its policy or identity source forwards nothing.
      console.error('stepgate: configuration error:', configError);
      return problem(ErrorCode.Misconfigured, 503, 'Stepgate is not configured correctly; nothing is forwarded until it is.');
    }
    return gateway.fetch(request, env, ctx);
  },

  /** Cron trigger (wrangler.toml [triggers]): audit checkpoints, key-rotation re-encryption, retention. */
  async scheduled(_controller, env, ctx): Promise<void> {
    ctx.waitUntil(
      scheduledMaintenance(env).then(
        (r) => console.log('stepgate: maintenance:', JSON.stringify(r)),
        (err: unknown) => console.error('stepgate: maintenance failed:', err instanceof Error ? err.message : 'non-error'),
      ),
    );
  },
} satisfies ExportedHandler<Env>;
