/**
 * @module The protected-route peer of the benchmark: what an app owner would write without Stepgate —
 * a Hono Worker that checks the session JWT with Hono's own `jwt()` middleware (the demo app's
 * `demo_session` cookie, HS256, the same secret), then forwards to ORIGIN_URL like the bare Worker.
 */
import { Hono } from 'hono';
import { jwt } from 'hono/jwt';
import { passThrough } from './pass-through';

type Env = { Bindings: { ORIGIN_URL: string; IDENTITY_JWT_SECRET: string } };
const app = new Hono<Env>();
app.use('*', (c, next) => jwt({ secret: c.env.IDENTITY_JWT_SECRET, cookie: 'demo_session', alg: 'HS256' })(c, next));
app.all('*', (c) => passThrough(c, c.env.ORIGIN_URL));
export default app;
