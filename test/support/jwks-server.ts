/** @module A local JWKS endpoint (ES256) for identity tests: real keys, real HTTP, loopback only. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';

export async function startJwksServer() {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const pub = { ...(await exportJWK(publicKey)), kid: 'test-key-1', alg: 'ES256', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid: 'test-key-1', alg: 'ES256' };
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    if (req.url === '/jwks.json' || req.url === '/cdn-cgi/access/certs') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [pub] }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    privateJwk: privateJwk as JsonWebKey,
    hits: () => hits,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
