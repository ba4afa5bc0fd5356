/** @module The benchmark Workers' forwarding: the request as it came, to ORIGIN_URL, as the gateway forwards it. */
import type { Context } from 'hono';

/** Forward `c`'s request to `originUrl` (same method, headers and body; redirects passed back as they are). */
export const passThrough = (c: Context, originUrl: string): Promise<Response> => {
  const u = new URL(c.req.url);
  return fetch(`${originUrl}${u.pathname}${u.search}`, {
    method: c.req.method,
    headers: c.req.raw.headers,
    body: c.req.method === 'GET' || c.req.method === 'HEAD' ? null : c.req.raw.body,
    redirect: 'manual',
  });
};
