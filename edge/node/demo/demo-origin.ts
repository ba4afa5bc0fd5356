/**
 * @module The bundled demo app: an ordinary web app with no knowledge of Stepgate. It signs its
 * own session cookie (an HS256 JWT) and serves projects, an admin page and a "who am I" endpoint
 * (`GET /__demo/whoami`, what the `introspect` identity source asks). Runs on Node.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify, SignJWT } from 'jose';

export interface DemoRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * How `GET /__demo/whoami` misbehaves, for tests of the `introspect` identity source: answer 500,
 * answer only after 3 s, redirect (to itself with `?redirected=1`, which then answers normally, so
 * a client that follows redirects is caught), answer HTML, or answer JSON without an `id`.
 */
export type WhoamiFault = 'error' | 'slow' | 'redirect' | 'html' | 'no-id';

/** The "who am I" endpoint: the signed-in person as JSON, 401 without a session. */
export const WHOAMI_PATH = '/__demo/whoami';

export interface DemoOrigin {
  server: Server;
  url: string;
  /** Every request the origin received, in order (what tests assert never happened). */
  requests: DemoRequest[];
  projects: Map<number, { id: number; name: string }>;
  settings: Record<string, string>;
  /** Tests only: set `fault` to make `GET /__demo/whoami` misbehave (null: it answers normally). */
  whoami: { fault: WhoamiFault | null };
  close(): Promise<void>;
}

export const SESSION_COOKIE = 'demo_session';
const ISSUER = 'stepgate-demo';

const seedProjects = () =>
  new Map(
    [
      [1, 'Apollo'],
      [2, 'Borealis'],
      [3, 'Cassini'],
      [4, 'Dawn'],
    ].map(([id, name]) => [id as number, { id: id as number, name: name as string }]),
  );

/** The single-page view's script: a plain app that knows nothing of Stepgate beyond its error codes. */
const SPA_SCRIPT = `const list = document.getElementById('spa-projects');
const status = document.getElementById('spa-status');
async function load() {
  const projects = await (await fetch('/api/projects', { credentials: 'same-origin' })).json();
  list.replaceChildren(...projects.map((p) => {
    const li = document.createElement('li');
    li.dataset.id = String(p.id);
    li.append(p.name + ' ');
    const b = document.createElement('button');
    b.textContent = 'Delete';
    b.addEventListener('click', () => remove(p, li, b));
    li.append(b);
    return li;
  }));
}
async function remove(p, li, b) {
  b.disabled = true;
  status.textContent = 'Deleting ' + p.name + '… (approve it if asked)';
  const res = await fetch('/api/projects/' + p.id, { method: 'DELETE', credentials: 'same-origin' });
  if (res.ok) {
    li.remove();
    status.textContent = 'Deleted ' + p.name + '.';
    return;
  }
  b.disabled = false;
  const problem = await res.json().catch(() => ({}));
  status.textContent = 'Not deleted (' + res.status + (problem.code ? ' ' + problem.code : '') + '): ' + (problem.detail || '');
  if (problem.challenge_url) {
    const a = document.createElement('a');
    a.href = problem.challenge_url;
    a.textContent = ' Approve it on the Stepgate page';
    status.append(a);
  }
}
load();
`;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (title: string, user: string | null, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Demo app</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem">
<nav><a href="/">Home</a> · <a href="/projects">Projects</a> · <a href="/spa">Projects (single page)</a> · <a href="/admin">Admin</a> ·
${user ? `signed in as <b>${esc(user)}</b> (<a href="/logout">log out</a>)` : '<a href="/login?user=alice">log in as alice</a>'}</nav>
<h1>${esc(title)}</h1>${body}</body></html>`;

/** Start the demo origin. `port` 0 picks a free port. */
export async function startDemoOrigin(opts: {
  port?: number;
  host?: string;
  jwtSecret: string;
  /** Tests only: serve `GET /__demo/requests` (what the origin received) straight from the origin. */
  inspect?: boolean;
  /** Tests only: extra numbered projects (5..N), so test files can delete without stepping on each other. */
  extraProjects?: number;
}): Promise<DemoOrigin> {
  const key = new TextEncoder().encode(opts.jwtSecret);
  const state: Pick<DemoOrigin, 'requests' | 'projects' | 'settings' | 'whoami'> = {
    requests: [],
    projects: seedProjects(),
    settings: {},
    whoami: { fault: null },
  };
  for (let id = 5; id <= (opts.extraProjects ?? 0); id++) state.projects.set(id, { id, name: `Project ${id}` });

  const userOf = async (req: IncomingMessage): Promise<string | null> => {
    const m = new RegExp(`(?:^|;\\s*)${SESSION_COOKIE}=([^;]+)`).exec(req.headers.cookie ?? '');
    if (!m) return null;
    try {
      const { payload } = await jwtVerify(m[1]!, key, { issuer: ISSUER, audience: ISSUER });
      return typeof payload.sub === 'string' ? payload.sub : null;
    } catch {
      return null;
    }
  };

  const send = (res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
    res.end(body);
  };
  const sendJson = (res: ServerResponse, status: number, body: unknown) => send(res, status, 'application/json', JSON.stringify(body));

  const handle = async (req: IncomingMessage, res: ServerResponse, body: string) => {
    const url = new URL(req.url ?? '/', 'http://demo.invalid');
    const method = req.method ?? 'GET';
    const user = await userOf(req);
    const path = url.pathname;

    if (opts.inspect && method === 'GET' && path === '/__demo/requests') return sendJson(res, 200, state.requests);
    if (method === 'GET' && path === WHOAMI_PATH) return whoami(res, user, url.searchParams.has('redirected'));
    if (method === 'GET' && path === '/') {
      return send(
        res,
        200,
        'text/html',
        page(
          'Demo app',
          user,
          `<p>An ordinary app behind Stepgate. It knows nothing about step-up.</p>
<ul><li><a href="/projects">Projects</a>: deleting one needs an approval of that exact request.</li>
<li><a href="/spa">Projects, single-page</a>: the same deletes with <code>fetch</code>; ` +
            `with the Stepgate extension the request waits while you approve it in the extension.</li>
<li><a href="/admin">Admin settings</a>: saving needs a fresh step-up (five minutes).</li></ul>`,
        ),
      );
    }
    if (method === 'GET' && path === '/login') {
      const name = url.searchParams.get('user') ?? '';
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) return send(res, 400, 'text/plain', 'user: 1-64 letters, digits, ".", "_" or "-"');
      const jwt = await new SignJWT({ sid: randomUUID() })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(name)
        .setIssuer(ISSUER)
        .setAudience(ISSUER)
        .setIssuedAt()
        .setExpirationTime('8h')
        .sign(key);
      const back = url.searchParams.get('return_to') ?? '/';
      const location = /^\/(?![/\\])/.test(back) ? back : '/';
      return send(res, 302, 'text/plain', '', {
        location,
        'set-cookie': `${SESSION_COOKIE}=${jwt}; Path=/; HttpOnly; SameSite=Lax; Max-Age=28800`,
      });
    }
    if (method === 'GET' && path === '/logout') {
      return send(res, 302, 'text/plain', '', { location: '/', 'set-cookie': `${SESSION_COOKIE}=; Path=/; Max-Age=0` });
    }
    if (method === 'GET' && path === '/api/projects') return sendJson(res, 200, [...state.projects.values()]);
    if (method === 'POST' && path === '/api/projects' && user) {
      // Creating a project: unprotected in policy.json, the route the policy-editing demo protects (docs/policy.md).
      const name = (new URLSearchParams(body).get('name') ?? '').trim().slice(0, 80) || 'New project';
      if (state.projects.size >= 1000) return sendJson(res, 409, { error: 'too many projects' });
      const id = Math.max(0, ...state.projects.keys()) + 1;
      state.projects.set(id, { id, name });
      return sendJson(res, 201, { created: id, name, by: user });
    }
    if (method === 'GET' && path === '/projects') {
      const rows = [...state.projects.values()]
        .map(
          (p) => `<li>${esc(p.name)} <form method="post" action="/api/projects/${p.id}" style="display:inline">
<input type="hidden" name="_method" value="DELETE"><button>Delete</button></form></li>`,
        )
        .join('');
      return send(res, 200, 'text/html', page('Projects', user, `<ul id="projects">${rows || '<li>No projects.</li>'}</ul>`));
    }
    if (method === 'GET' && path === '/spa') {
      return send(
        res,
        200,
        'text/html',
        page(
          'Projects (single page)',
          user,
          `<p>Deleting calls <code>fetch</code>; the page never reloads.</p>
<ul id="spa-projects"></ul><p id="spa-status" role="status" aria-live="polite"></p><script src="/spa.js"></script>`,
        ),
      );
    }
    if (method === 'GET' && path === '/spa.js') return send(res, 200, 'text/javascript', SPA_SCRIPT);
    const del = /^\/api\/projects\/(\d+)$/.exec(path);
    const override = method === 'POST' ? new URLSearchParams(body).get('_method')?.toUpperCase() : undefined;
    if (del && (method === 'DELETE' || override === 'DELETE')) {
      if (!user) return sendJson(res, 401, { error: 'not signed in' });
      const id = Number(del[1]);
      if (!state.projects.delete(id)) return sendJson(res, 404, { error: 'no such project' });
      if (method === 'POST') return send(res, 303, 'text/plain', '', { location: '/projects' });
      return sendJson(res, 200, { deleted: id, by: user });
    }
    if (method === 'GET' && path === '/admin') {
      return send(
        res,
        200,
        'text/html',
        page(
          'Admin settings',
          user,
          `<form method="post" action="/admin/settings">
<label>Support e-mail <input name="support_email" value="${esc(state.settings.support_email ?? '')}"></label>
<button>Save</button></form>`,
        ),
      );
    }
    if (method === 'POST' && path === '/admin/settings') {
      if (!user) return sendJson(res, 401, { error: 'not signed in' });
      const ct = req.headers['content-type'] ?? '';
      const fields = ct.includes('json')
        ? (JSON.parse(body || '{}') as Record<string, string>)
        : Object.fromEntries(new URLSearchParams(body));
      Object.assign(state.settings, fields);
      return sendJson(res, 200, { saved: state.settings, by: user });
    }
    return sendJson(res, 404, { error: 'not found', method, path });
  };

  /** `GET /__demo/whoami`: `{ id, name }` of the signed-in person, 401 without a session; or the fault a test set. */
  const whoami = async (res: ServerResponse, user: string | null, redirected: boolean) => {
    const fault = redirected ? null : state.whoami.fault;
    if (fault === 'error') return sendJson(res, 500, { error: 'the database is down' });
    if (fault === 'redirect') return send(res, 302, 'text/plain', '', { location: `${WHOAMI_PATH}?redirected=1` });
    if (fault === 'html') return send(res, 200, 'text/html', page('Who am I', user, '<p>Not JSON.</p>'));
    if (fault === 'slow') await new Promise((r) => setTimeout(r, 3000));
    if (!user) return sendJson(res, 401, { error: 'not signed in' });
    return sendJson(res, 200, fault === 'no-id' ? { name: user } : { id: user, name: user });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (opts.inspect && req.url === '/__demo/requests') return void handle(req, res, body);
      state.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers }, body });
      handle(req, res, body).catch(() => send(res, 500, 'text/plain', 'demo app error'));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    ...state,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
