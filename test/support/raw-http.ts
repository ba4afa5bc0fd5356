/** @module Raw HTTP/1.1 over a socket: sends request lines no HTTP client library would produce. */
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/** Send exactly `request` (bytes) and read the response until the server closes. */
export function rawRequest(port: number, request: string | Buffer, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('raw request timed out'));
    }, timeoutMs);
    sock.on('connect', () => sock.write(request));
    sock.on('data', (d) => {
      chunks.push(d);
      // Resolve as soon as the response is complete; servers may keep the socket open briefly.
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const len = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end));
      const chunked = /\r\ntransfer-encoding: *chunked/i.test(text.slice(0, end));
      if ((len && text.length - end - 4 >= Number(len[1])) || (chunked && text.endsWith('0\r\n\r\n'))) sock.end();
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = end < 0 ? text : text.slice(0, end);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: end < 0 ? '' : text.slice(end + 4) });
    });
  });
}

/** A request with `Connection: close`, so the server ends the exchange. */
export const requestText = (method: string, target: string, headers: Record<string, string> = {}, body = ''): string => {
  const lines = [`${method} ${target} HTTP/1.1`, 'Connection: close'];
  const hs: Record<string, string> = { Host: headers.Host ?? headers.host ?? '127.0.0.1', ...headers };
  delete hs.host;
  for (const [k, v] of Object.entries(hs)) lines.push(`${k}: ${v}`);
  if (body || /^(POST|PUT|PATCH|DELETE)$/i.test(method)) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
};
