/** @module The benchmark baseline: a bare pass-through Hono Worker, forwarding to ORIGIN_URL like the gateway does. */
import { Hono } from 'hono';
import { passThrough } from './pass-through';

const app = new Hono<{ Bindings: { ORIGIN_URL: string } }>();
app.all('*', (c) => passThrough(c, c.env.ORIGIN_URL));
export default app;
