/**
 * @module The package entry (`import … from 'stepgate'`) for library mode: Stepgate inside an
 * existing Hono Worker. Only Worker code is reachable from here — never edge/node/cli, edge/node/dev or
 * edge/node/demo — and `npm pack` bundles it to dist/lib/index.js (edge/node/library-build.ts).
 * What the host Worker must add is in docs/library.md.
 */
import { stepgate as stepgateMiddleware, type StepgateOptions } from '../middleware';
import { embeddedPageScripts } from '../pages/embedded-page-scripts';
import type { StepgateContext } from '../request-path/stepgate-context';

export type { StepgateOptions } from '../middleware';

/**
 * The Stepgate middleware for a Hono Worker (docs/library.md). The scripts of Stepgate's pages come
 * embedded: the host Worker serves them from `/.stepgate/assets/` without assets of its own.
 */
export const stepgate = (options: StepgateOptions): ReturnType<typeof stepgateMiddleware> =>
  stepgateMiddleware({ ...options, pageScripts: options.pageScripts ?? embeddedPageScripts });
export type { StepgateContext } from '../request-path/stepgate-context';
export { forward, type ForwardOptions } from '../request-path/forward';
export { stepgateScheduled, type StepgateScheduledOptions } from '../scheduled';
export { UserState } from '../user-state/user-state';
export { AuditSequencer } from '../audit/audit-sequencer';
export { PolicyError, type PolicyProblem } from '../policy/validate-policy';
export type { Policy } from '../policy/schema';
export type { IdentityConfig } from '../identity/identity-config';
export type { Identity } from '../identity/identity-source';
export type { RuleMatch } from '../policy/compile-policy';
export type { CanonicalRequest } from '../policy/canonical-request';
export type { MaintenanceReport } from '../audit/maintenance';

/** The Hono variables `stepgate()` sets: `new Hono<{ Bindings: Env; Variables: StepgateVariables }>()`, then `c.var.stepgate`. */
export type StepgateVariables = { stepgate: StepgateContext };
