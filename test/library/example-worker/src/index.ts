/**
 * An ordinary Hono Worker — a small notes app with its own routes — that adds Stepgate as a
 * library. What it adds for Stepgate is marked; see docs/library.md.
 */
import { Hono } from 'hono';
import { stepgate, stepgateScheduled, type StepgateVariables } from 'stepgate';
import policy from './policy.json';

// Stepgate: its Durable Objects are part of this Worker (bound in wrangler.toml).
export { AuditSequencer, UserState } from 'stepgate';

interface Env {
  DB: D1Database;
  USER_STATE: DurableObjectNamespace;
  AUDIT_SEQUENCER: DurableObjectNamespace;
  /** Secrets: Stepgate's keyring, and the HS256 key this app signs its session JWTs with. */
  STEPGATE_KEYS: string;
  IDENTITY_JWT_SECRET: string;
}

const notes = new Map<string, { text: string; sharedWith: string[] }>([
  ['1', { text: 'groceries', sharedWith: [] }],
  ['2', { text: 'plans', sharedWith: [] }],
]);
/** How often each of the app's handlers ran (the example's own bookkeeping, read by its test). */
const calls: Record<string, number> = {};
const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);

const app = new Hono<{ Bindings: Env; Variables: StepgateVariables }>();

// Stepgate: first, so that it sees every request before any of the app's routes.
app.use(
  stepgate({
    policy,
    identity: { source: 'jwt', cookie: 'session', issuer: 'notes', audience: 'notes' },
  }),
);

app.get('/api/notes', (c) => {
  count('list');
  return c.json([...notes].map(([id, n]) => ({ id, ...n })));
});

app.post('/api/notes/:id/share', async (c) => {
  count('share');
  const note = notes.get(c.req.param('id'));
  if (!note) return c.json({ error: 'no such note' }, 404);
  const { with: person } = await c.req.json<{ with: string }>();
  note.sharedWith.push(person);
  // Stepgate's decision: who stepped up, and the signed assertion (as the gateway sends an origin).
  const sg = c.var.stepgate;
  return c.json({
    shared: c.req.param('id'),
    with: person,
    by: sg.identity?.sub ?? null,
    rule: sg.match?.rule.id ?? null,
    assertion: sg.assertion ?? null,
  });
});

app.get('/__calls', (c) => c.json(calls));

export default {
  fetch: app.fetch,
  // Stepgate: the cron trigger's upkeep, with the same policy.
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(stepgateScheduled(env, { policy }).then((report) => console.log('stepgate maintenance:', JSON.stringify(report))));
  },
} satisfies ExportedHandler<Env>;
