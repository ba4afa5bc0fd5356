/** @module The benchmark baseline: a bare pass-through Hono Worker, forwarding to ORIGIN_URL like the gateway does. */
import { Hono } from 'hono';

const app = new Hono<{ Bindings: { ORIGIN_URL: string } }>();
app.all('*', async (c) => {
  const u = new URL(c.req.url);
  return fetch(`${c.env.ORIGIN_URL}${u.pathname}${u.search}`, {
    method: c.req.method,
    headers: c.req.raw.headers,
    body: c.req.method === 'GET' || c.req.method === 'HEAD' ? null : c.req.raw.body,
    redirect: 'manual',
  });
});
export default app;
