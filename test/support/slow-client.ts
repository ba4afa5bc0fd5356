/**
 * @module Raw HTTP/1.1 clients that misbehave: send headers, then a body a byte at a time, or stop
 * half-way, or vanish. Every client opened here is tracked; `destroyClients()` ends them all.
 */
import { connect, type Socket } from 'node:net';

export interface ClientResponse {
  status: number;
  head: string;
  body: string;
  /** Whether the response arrived in full (by Content-Length or the last chunk). */
  complete: boolean;
  /** When the first response byte arrived (ms since epoch), or null. */
  firstByteAt: number | null;
}

export interface SlowClient {
  sock: Socket;
  /** Write bytes (resolves when flushed). */
  write(data: string | Buffer): Promise<void>;
  /** The response so far (status 0 while nothing arrived). */
  now(): ClientResponse;
  /** Resolves once the response is complete or the connection closed (whichever comes first). */
  response: Promise<ClientResponse>;
  destroy(): void;
}

const open = new Set<Socket>();

function parse(chunks: Buffer[], firstByteAt: number | null): ClientResponse {
  const text = Buffer.concat(chunks).toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? '' : text.slice(end + 4);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  const len = /\r\ncontent-length: *(\d+)/i.exec(head);
  const chunked = /\r\ntransfer-encoding: *chunked/i.test(head);
  const complete =
    end >= 0 && ((len !== null && Buffer.byteLength(body, 'latin1') >= Number(len[1])) || (chunked && body.endsWith('0\r\n\r\n')));
  return { status, head, body, complete, firstByteAt };
}

/** Connect to 127.0.0.1:`port`. */
export function openClient(port: number): Promise<SlowClient> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    open.add(sock);
    const chunks: Buffer[] = [];
    let firstByteAt: number | null = null;
    let settle: (r: ClientResponse) => void = () => undefined;
    const response = new Promise<ClientResponse>((r) => (settle = r));
    sock.on('data', (d: Buffer) => {
      firstByteAt ??= Date.now();
      chunks.push(d);
      const r = parse(chunks, firstByteAt);
      if (r.complete) settle(r);
    });
    sock.on('close', () => {
      open.delete(sock);
      settle(parse(chunks, firstByteAt));
    });
    sock.on('error', () => undefined);
    sock.once('connect', () =>
      resolve({
        sock,
        write: (data) => new Promise<void>((ok, fail) => sock.write(data, (err) => (err ? fail(err) : ok()))),
        now: () => parse(chunks, firstByteAt),
        response,
        destroy: () => sock.destroy(),
      }),
    );
    sock.once('error', reject);
  });
}

/** End every client still open (afterAll, and finally blocks). */
export function destroyClients(): void {
  for (const s of open) s.destroy();
  open.clear();
}

/** Request head lines (no body), ending with the blank line. */
export const head = (method: string, target: string, headers: Record<string, string>): string =>
  `${[`${method} ${target} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n')}\r\n\r\n`;
