/** @module The edge's domain error: untrusted input refused with a stable code and a 4xx/5xx status. */
import { ErrorCode } from '../../shared/errors';

/**
 * Thrown for untrusted input (a request, a token) that Stepgate refuses. `code` is stable and
 * `message` is safe to show to the client: it names the field and never contains secrets.
 * Programming and configuration mistakes throw plain `Error`/`TypeError` instead.
 */
export class StepgateError extends Error {
  override readonly name = 'StepgateError';
  constructor(
    readonly code: ErrorCode,
    readonly status: number,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options);
    this.headers = options?.headers ?? {};
  }

  /** Response headers the refusal carries (e.g. `WWW-Authenticate`). */
  readonly headers: Record<string, string>;
}

export const ambiguous = (message: string): StepgateError => new StepgateError(ErrorCode.AmbiguousRequest, 400, message);
