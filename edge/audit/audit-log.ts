/**
 * @module The edge's handle on the audit log: `record` resolves only once the events are durable
 * (and throws a 503 StepgateError otherwise, so the caller fails closed); `later` writes an event
 * after the response, for facts that come after the decision (the origin's status) and for
 * anonymous denials, which the sequencer folds per client (docs/audit.md, "Anonymous denials");
 * `recordRefusal` accounts for a signed-in person's repeated refusals, folded the same way,
 * before the answer (docs/audit.md, "Repeated refusals of a signed-in person").
 */
import { ErrorCode } from '../../shared/errors';
import { base64url } from '../crypto/base64';
import { StepgateError } from '../http/stepgate-error';
import type { CanonicalRequest } from '../policy/canonical-request';
import type { AuditSequencer } from './audit-sequencer';
import { boundRequest } from './bounds';
import type { AuditInput, AuditRequest } from './events';

export interface AuditLog {
  readonly tenant: string;
  /**
   * Write events; resolves when they are in D1.
   *
   * @throws {StepgateError} 503 `ERR_AUDIT_UNAVAILABLE` when they could not be written
   */
  record(...events: AuditInput[]): Promise<void>;
  /**
   * Write events after the response (`waitUntil`); a failure is logged, never shown. Folded
   * denials (anonymous `request.denied`, and a person's repeated refusals: `isFoldedDenial`) are
   * folded per client by the sequencer: the first of a client's window is written in full, the
   * rest are counted into a `request.denied_summary`.
   */
  later(ctx: { waitUntil(p: Promise<unknown>): void } | undefined, ...events: AuditInput[]): void;
}

export interface AuditLogOptions {
  namespace: DurableObjectNamespace<AuditSequencer>;
  tenant: string;
  /** The policy the edge enforces (a hash) and the primary key id, noted once per isolate. */
  config: () => Promise<{ policyHash: string; primaryKid: string }>;
}

export function createAuditLog(o: AuditLogOptions): AuditLog {
  const stub = () => o.namespace.get(o.namespace.idFromName(`tenant:${o.tenant}`));
  let noted: Promise<void> | null = null;
  const write = async (events: AuditInput[], deferred = false) => {
    noted ??= o.config().then((c) => stub().noteConfig(o.tenant, c.policyHash, c.primaryKid));
    try {
      await noted;
    } catch (err) {
      noted = null;
      throw err;
    }
    if (deferred) await stub().appendLater(o.tenant, events);
    else await stub().append(o.tenant, events);
  };
  return {
    tenant: o.tenant,
    async record(...events) {
      try {
        await write(events);
      } catch (err) {
        console.error('stepgate: audit write failed:', err instanceof Error ? err.message : 'non-error');
        throw new StepgateError(
          ErrorCode.AuditUnavailable,
          503,
          'Stepgate could not write this to the audit log, so it stopped here and forwarded nothing. Try again shortly.',
          {
            cause: err,
          },
        );
      }
    },
    later(ctx, ...events) {
      const p = write(events, true).catch((err: unknown) =>
        console.error('stepgate: audit write failed (after the response):', err instanceof Error ? err.message : 'non-error'),
      );
      if (ctx) ctx.waitUntil(p);
    },
  };
}

/**
 * The audit log as one app's Runtime writes it: every event carries the app's organisation and id
 * unless it names its own (`org`, `app_id`), so each organisation's readers see their apps' events
 * — proxied requests and Stepgate's own endpoints called on the app's hosts — and no one else's.
 */
export function auditOfApp(log: AuditLog, app: { id: string; org: string }): AuditLog {
  const fill = (e: AuditInput): AuditInput => ({ ...e, org: e.org ?? app.org, app_id: e.app_id === undefined ? app.id : e.app_id });
  return {
    tenant: log.tenant,
    record: (...events) => log.record(...events.map(fill)),
    later: (ctx, ...events) => log.later(ctx, ...events.map(fill)),
  };
}

/**
 * Record a signed-in person's refusal that forwards nothing (`request.denied` with a reason in
 * `FOLDED_PERSON_REASONS`), before the answer: it goes the way of `later` (the sequencer folds such
 * denials per person, reason and rule: the first of a window in full, the rest counted into a
 * `request.denied_summary`), but is awaited, so it is accounted for when the refusal is sent (the
 * first in D1, a later one counted in the sequencer's storage). A failure is logged, never shown:
 * the refusal stands, and a first that D1 refused is counted as folded.
 */
export async function recordRefusal(audit: AuditLog, ...events: AuditInput[]): Promise<void> {
  let written: Promise<unknown> = Promise.resolve();
  audit.later(
    {
      waitUntil: (p) => {
        written = p;
      },
    },
    ...events,
  );
  await written;
}

/**
 * Where a request was decided, for an event: never its body, cookies, or query values. Every
 * string is bounded (`AUDIT_LIMITS`), with a visible marker where something was cut.
 */
export async function auditRequest(req: Request, c: Pick<CanonicalRequest, 'method' | 'path' | 'query'>): Promise<AuditRequest> {
  const out: AuditRequest = {
    method: c.method,
    path: c.path,
    ip: req.headers.get('cf-connecting-ip'),
    user_agent: req.headers.get('user-agent'),
  };
  if (c.query) {
    out.query_keys = [...new Set(c.query.split('&').map((p) => decodeURIComponentSafe(p.split('=')[0] ?? '')))];
    out.query_sha256 = await hashRef(c.query);
  }
  return boundRequest(out);
}

/**
 * A Stepgate path with its id segments (challenges, tokens: 16 or more id characters) as `{id}`:
 * ids in Stepgate's own paths are handles, not for the log; the route is.
 */
const withoutIds = (path: string): string => path.replace(/\/[A-Za-z0-9_-]{16,}(?=\/|$)/g, '/{id}');

/**
 * Where a request to one of Stepgate's own paths was decided, for an event: the route (`withoutIds`)
 * and no query, since ids and query values there (challenges, tokens) are handles, not for the log.
 */
export const auditRequestOnStepgatePath = (req: Request, c: Pick<CanonicalRequest, 'method' | 'path'>): Promise<AuditRequest> =>
  auditRequest(req, { method: c.method, path: withoutIds(c.path), query: '' });

/** A reference to a value that must not be stored (a challenge id, a token id): SHA-256, base64url, 22 chars. */
export async function hashRef(value: string): Promise<string> {
  return base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value))).slice(0, 22);
}

/** A query name, decoded (bounded afterwards, by `boundRequest`). */
function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}
