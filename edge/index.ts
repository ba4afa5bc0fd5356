/** @module The Worker entry point: the gateway, and the Durable Object classes it binds. */
import type { Env } from './env';
import { loadGateway, scheduledMaintenance, type LoadedGateway } from './gateway';

export { UserState } from './user-state/user-state';
export { AuditSequencer } from './audit/audit-sequencer';
export { ApprovalNotifier } from './notifications/approval-notifier';

let gateway: LoadedGateway | null = null;

export default {
  async fetch(request, env, ctx): Promise<Response> {
    // Fail closed: a gateway that cannot load its policy, identity source or origin, or that has
    // development settings in production, answers 503 to everything and forwards nothing.
    gateway ??= loadGateway(env);
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
