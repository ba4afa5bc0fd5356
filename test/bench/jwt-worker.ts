/**
 * @module The protected-route peer of the benchmark: what an app owner would write without Stepgate —
 * a Hono Worker that checks the session JWT with Hono's own `jwt()` middleware (the demo app's
 * `demo_session` cookie, HS256, the same secret), then forwards to ORIGIN_URL like the bare Worker.
 */
import { Hono } from 'hono';
import { jwt } from 'hono/jwt';

type Env = { Bindings: { ORIGIN_URL: string; IDENTITY_JWT_SECRET: string } };
const app = new Hono<Env>();
app.use('*', (c, next) => jwt({ secret: c.env.IDENTITY_JWT_SECRET, cookie: 'demo_session', alg: 'HS256' })(c, next));
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
