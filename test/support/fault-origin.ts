/**
 * @module An origin on loopback that misbehaves on request: it reads each request with a raw socket
 * (so it sees what arrived even when it never answers) and then does what the request's `fault`
 * query parameter says. Every socket it accepted is tracked and destroyed by `close()`.
 *
 * - `ok` (default): 200 JSON `{"ok":true}`.
 * - `reset-before-headers`: a TCP reset (RST) as soon as the request is read.
 * - `reset-after-headers`: 200 headers with `Content-Length: 1000`, 100 bytes, then a reset.
 * - `close-mid-body`: the same, then a clean close (FIN) after 100 of 1,000 bytes.
 * - `stall`: never answers; the socket stays open until the peer (or `close()`) ends it.
 * - `slow`: 200 after `ms` milliseconds (default 1,500).
 */
import { createServer, type Socket } from 'node:net';

export interface OriginHit {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  /** When the request was read (ms since epoch). */
  at: number;
  /** When its socket closed, if it has. */
  closedAt: number | null;
}

export interface FaultOrigin {
  url: string;
  port: number;
  /** Every request that arrived in full, in order. */
  hits: OriginHit[];
  /** Sockets currently open (accepted and not yet closed). */
  openSockets(): number;
  /** Hits whose URL contains `marker`. */
  saw(marker: string): OriginHit[];
  close(): Promise<void>;
}

/** Parse one HTTP/1.1 request from `buf`, or null if it is not complete yet. */
function parseRequest(buf: Buffer): Omit<OriginHit, 'at' | 'closedAt'> | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [line, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const [method = '', url = ''] = line!.split(' ');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const rest = buf.subarray(end + 4);
  if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
    // Decode chunks; complete at the zero-size chunk.
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const nl = rest.indexOf('\r\n', at);
      if (nl < 0) return null;
      const size = Number.parseInt(rest.subarray(at, nl).toString('latin1'), 16);
      if (size === 0) return { method, url, headers, body: Buffer.concat(parts).toString('utf8') };
      if (rest.length < nl + 2 + size + 2) return null;
      parts.push(rest.subarray(nl + 2, nl + 2 + size));
      at = nl + 2 + size + 2;
    }
  }
  const len = Number(headers['content-length'] ?? '0');
  if (rest.length < len) return null;
  return { method, url, headers, body: rest.subarray(0, len).toString('utf8') };
}

export async function startFaultOrigin(): Promise<FaultOrigin> {
  const hits: OriginHit[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const partial = `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n${'p'.repeat(100)}`;
  const ok = (body: string) =>
    `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;

  const server = createServer((sock) => {
    sockets.add(sock);
    let buf = Buffer.alloc(0);
    let hit: OriginHit | null = null;
    sock.on('error', () => undefined);
    sock.on('close', () => {
      sockets.delete(sock);
      if (hit) hit.closedAt = Date.now();
    });
    sock.on('data', (d: Buffer) => {
      if (hit) return;
      buf = Buffer.concat([buf, d]);
      const req = parseRequest(buf);
      if (!req) return;
      hit = { ...req, at: Date.now(), closedAt: null };
      hits.push(hit);
      const q = new URL(req.url, 'http://origin.invalid').searchParams;
      switch (q.get('fault') ?? 'ok') {
        case 'reset-before-headers':
          return void sock.resetAndDestroy();
        case 'reset-after-headers':
          sock.write(partial);
          return later(50, () => sock.resetAndDestroy());
        case 'close-mid-body':
          sock.write(partial);
          return later(50, () => sock.end());
        case 'stall':
          return;
        case 'slow':
          return later(Number(q.get('ms') ?? '1500'), () => sock.end(ok(JSON.stringify({ ok: true, slow: true }))));
        default:
          return void sock.end(ok(JSON.stringify({ ok: true, method: req.method, body: req.body })));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    openSockets: () => sockets.size,
    saw: (marker) => hits.filter((h) => h.url.includes(marker)),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
