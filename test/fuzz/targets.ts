/**
 * @module Every fuzz target on the request path, in the order the runner reports them. The runner
 * (`npm run fuzz`, test/fuzz/run.ts) runs each ≥ 100,000 cases; test/node/fuzz-seed.test.ts runs the
 * same properties briefly with a fixed seed in the normal suite.
 */
import { canonicalTargets } from './canonical-request';
import type { FuzzTarget } from './harness';
import { identityTargets } from './identity';
import { methodOverrideTargets } from './method-override';
import { grantTargets } from './grants';
import { policyTargets } from './policy';
import { ordinaryHeadersAccepted, sessionCookieAgrees } from './session-cookie';
import { workerdTargets } from './workerd-body';

/** The session cookie (invariant 8): Stepgate's one reading against six origins' parsers. */
export const COOKIE_TARGETS: FuzzTarget[] = [
  {
    name: 'identity/session-cookie',
    parser: 'edge/identity/session-cookie.ts readSessionCookie',
    oracle: 'refused, or the same session value (or none) as Express cookie, Django, PHP, Rack, Werkzeug and SimpleCookie read',
    build: () => sessionCookieAgrees,
  },
  {
    name: 'identity/session-cookie-ordinary',
    parser: 'edge/identity/session-cookie.ts readSessionCookie',
    oracle: 'an ordinary header (exact names, "; ", one session) is never refused',
    build: () => ordinaryHeadersAccepted,
  },
];

export const TARGETS: FuzzTarget[] = [
  ...canonicalTargets,
  ...methodOverrideTargets,
  ...workerdTargets,
  ...identityTargets,
  ...COOKIE_TARGETS,
  ...policyTargets,
  ...grantTargets,
];
