/** @module The per-deployment runtime the middleware needs: compiled policy, identity source, bindings. */
import type { CompiledPolicy } from '../policy/compile-policy';
import type { IdentitySource } from '../identity/identity-source';
import type { UserGate } from '../user-gate/user-gate';

export interface Runtime {
  policy: CompiledPolicy;
  identify: IdentitySource;
  /** The single-writer Durable Object of one user. */
  userGate(sub: string): DurableObjectStub<UserGate>;
  development: boolean;
  /** Where browsers without an app session are sent, if configured. */
  loginUrl: string | undefined;
}
