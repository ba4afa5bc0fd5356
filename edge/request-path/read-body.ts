/** @module Bounded body reads for the few requests whose body Stepgate must look at. */
import { ErrorCode } from '../../shared/errors';
import { StepgateError } from '../http/stepgate-error';

/**
 * Read a request body fully, refusing more than `limit` bytes without buffering them.
 *
 * @throws {StepgateError} `ERR_BODY_TOO_LARGE` (413)
 */
export async function readBounded(req: Request, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(req.headers.get('content-length') ?? '0');
  const tooLarge = () => new StepgateError(ErrorCode.BodyTooLarge, 413, `body: more than ${limit} bytes cannot be inspected`);
  if (declared > limit) throw tooLarge();
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = (await reader.read()) as ReadableStreamReadResult<Uint8Array<ArrayBuffer>>;
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}
