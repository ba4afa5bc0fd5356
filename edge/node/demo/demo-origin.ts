/**
 * @module The bundled demo app: an ordinary web app with no knowledge of Stepgate. It signs its
 * own session cookie (an HS256 JWT) and serves projects, an admin page and a "who am I" endpoint
 * (`GET /__demo/whoami`, what the `introspect` identity source asks). Runs on Node. A browser's
 * form is answered like a real app answers it, with 303 back to a page and a short message there
 * (demo-answers.ts); a program gets JSON. Pages: demo-pages.ts; the single-page script: demo-spa-script.ts.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify, SignJWT } from 'jose';
import { localPath, redirectWith, send, sendHtml, sendJson, takeFlash, wantsHtml } from './demo-answers';
import { adminPage, homePage, loginPage, notFoundPage, projectsPage, spaPage } from './demo-pages';
import { SPA_SCRIPT } from './demo-spa-script';

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
/** Bounds on what clients can make the demo keep in memory. */
const MAX_PROJECTS = 1000;
const MAX_SETTINGS = 20;
const MAX_SETTING_LENGTH = 500;
/** Requests recorded for tests; past this the demo stops recording (a long `npm start` stays small). */
const MAX_RECORDED = 100_000;
/** The app's pages (GET, HTML). */
const PAGES = new Set(['/', '/projects', '/spa', '/admin']);

/** The fields of a settings form or JSON object: short strings only; null when the body is not understood. */
function settingsFrom(contentType: string, body: string): Record<string, string> | null {
  let fields: unknown;
  try {
    fields = contentType.includes('json') ? JSON.parse(body || '{}') : Object.fromEntries(new URLSearchParams(body));
  } catch {
    return null;
  }
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return null;
  const entries = Object.entries(fields);
  if (!entries.every(([, v]) => typeof v === 'string' && v.length <= MAX_SETTING_LENGTH)) return null;
  return Object.fromEntries(entries) as Record<string, string>;
}

const seedProjects = () =>
  new Map(
    [
      [1, 'Apollo'],
      [2, 'Borealis'],
      [3, 'Cassini'],
      [4, 'Dawn'],
    ].map(([id, name]) => [id as number, { id: id as number, name: name as string }]),
  );

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

  const handle = async (req: IncomingMessage, res: ServerResponse, body: string) => {
    const url = new URL(req.url ?? '/', 'http://demo.invalid');
    const method = req.method ?? 'GET';
    const user = await userOf(req);
    const path = url.pathname;
    const html = wantsHtml(req);

    if (opts.inspect && method === 'GET' && path === '/__demo/requests') return sendJson(res, 200, state.requests);
    if (method === 'GET' && path === WHOAMI_PATH) return whoami(res, user, url.searchParams.has('redirected'));
    if (method === 'GET' && path === '/login') return login(res, url, html);
    if (method === 'GET' && path === '/logout') {
      return redirectWith(res, '/', { kind: 'ok', text: 'You are signed out.' }, `${SESSION_COOKIE}=; Path=/; Max-Age=0`);
    }
    if (method === 'GET' && path === '/api/projects') return sendJson(res, 200, [...state.projects.values()]);
    if (method === 'POST' && path === '/api/projects') return createProject(res, user, body, html);
    if (method === 'GET' && path === '/spa.js') return send(res, 200, 'text/javascript', SPA_SCRIPT);
    const del = /^\/api\/projects\/(\d+)$/.exec(path);
    const override = method === 'POST' ? new URLSearchParams(body).get('_method')?.toUpperCase() : undefined;
    if (del && (method === 'DELETE' || override === 'DELETE')) return deleteProject(res, user, Number(del[1]), method === 'POST');
    if (method === 'POST' && path === '/admin/settings') return saveSettings(req, res, user, body, html);
    if (method === 'GET' && PAGES.has(path)) {
      const { flash, clear } = takeFlash(req);
      const pageHtml =
        path === '/'
          ? homePage(user, flash)
          : path === '/projects'
            ? projectsPage(user, [...state.projects.values()], flash)
            : path === '/spa'
              ? spaPage(user)
              : adminPage(user, state.settings, flash);
      return sendHtml(res, 200, pageHtml, clear);
    }
    if (html) return sendHtml(res, 404, notFoundPage(user));
    return sendJson(res, 404, { error: 'not found', method, path });
  };

  /** `GET /login?user=…&return_to=…`: sign in (no password: a demo) and go back; without `user`, the sign-in page. */
  const login = async (res: ServerResponse, url: URL, html: boolean) => {
    const back = localPath(url.searchParams.get('return_to'));
    const name = url.searchParams.get('user');
    if (name === null) return sendHtml(res, 200, loginPage(back, null));
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) {
      const why = 'A name is 1 to 64 letters or digits, and may contain ".", "_" or "-".';
      return html ? sendHtml(res, 400, loginPage(back, why, name.slice(0, 64))) : send(res, 400, 'text/plain', why);
    }
    const jwt = await new SignJWT({ sid: randomUUID() })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(name)
      .setIssuer(ISSUER)
      .setAudience(ISSUER)
      .setIssuedAt()
      .setExpirationTime('8h')
      .sign(key);
    return send(res, 302, 'text/plain', '', {
      location: back,
      'set-cookie': `${SESSION_COOKIE}=${jwt}; Path=/; HttpOnly; SameSite=Lax; Max-Age=28800`,
    });
  };

  /** Where a browser without a session is sent: the sign-in page, back to `path` afterwards. */
  const signInFirst = (res: ServerResponse, path: string) =>
    redirectWith(res, `/login?return_to=${encodeURIComponent(path)}`, { kind: 'bad', text: 'Sign in first.' });

  // Creating a project: unprotected in policy.json, the route the policy-editing demo protects (docs/policy.md).
  const createProject = (res: ServerResponse, user: string | null, body: string, html: boolean) => {
    if (!user) return html ? signInFirst(res, '/projects') : sendJson(res, 401, { error: 'not signed in' });
    const name = (new URLSearchParams(body).get('name') ?? '').trim().slice(0, 80) || 'New project';
    if (state.projects.size >= MAX_PROJECTS) {
      if (html) return redirectWith(res, '/projects', { kind: 'bad', text: `Not added: the demo keeps at most ${MAX_PROJECTS} projects.` });
      return sendJson(res, 409, { error: 'too many projects' });
    }
    const id = Math.max(0, ...state.projects.keys()) + 1;
    state.projects.set(id, { id, name });
    if (html) return redirectWith(res, '/projects', { kind: 'ok', text: `Added ${name}.` });
    return sendJson(res, 201, { created: id, name, by: user });
  };

  /** A delete: `DELETE /api/projects/:id` (JSON), or a form's `_method=DELETE` (303 back to the projects page). */
  const deleteProject = (res: ServerResponse, user: string | null, id: number, form: boolean) => {
    if (!user) return form ? signInFirst(res, '/projects') : sendJson(res, 401, { error: 'not signed in' });
    const project = state.projects.get(id);
    if (!project) {
      if (form) return redirectWith(res, '/projects', { kind: 'bad', text: 'That project was already deleted.' });
      return sendJson(res, 404, { error: 'no such project' });
    }
    state.projects.delete(id);
    if (form) return redirectWith(res, '/projects', { kind: 'ok', text: `Deleted ${project.name}.` });
    return sendJson(res, 200, { deleted: id, by: user });
  };

  /** Saving settings: a browser's form gets 303 back to the admin page; a program gets the settings as JSON. */
  const saveSettings = (req: IncomingMessage, res: ServerResponse, user: string | null, body: string, html: boolean) => {
    if (!user) return html ? signInFirst(res, '/admin') : sendJson(res, 401, { error: 'not signed in' });
    const fields = settingsFrom(req.headers['content-type'] ?? '', body);
    const email = typeof fields?.support_email === 'string' ? fields.support_email.trim() : undefined;
    const why =
      fields === null
        ? 'The settings were not understood.'
        : Object.keys({ ...state.settings, ...fields }).length > MAX_SETTINGS
          ? `The demo keeps at most ${MAX_SETTINGS} settings.`
          : email !== undefined && email !== '' && !/^[^\s@]+@[^\s@]+$/.test(email)
            ? `${email.slice(0, 80)} is not an e-mail address.`
            : null;
    if (why !== null || fields === null) {
      if (html) return redirectWith(res, '/admin', { kind: 'bad', text: `Nothing was saved: ${why}` });
      return sendJson(res, 400, { error: why });
    }
    Object.assign(state.settings, fields);
    if (!html) return sendJson(res, 200, { saved: state.settings, by: user });
    const now = state.settings.support_email ? ` The support e-mail is now ${state.settings.support_email}.` : '';
    return redirectWith(res, '/admin', { kind: 'ok', text: `Saved.${now}` });
  };

  /** `GET /__demo/whoami`: `{ id, name }` of the signed-in person, 401 without a session; or the fault a test set. */
  const whoami = async (res: ServerResponse, user: string | null, redirected: boolean) => {
    const fault = redirected ? null : state.whoami.fault;
    if (fault === 'error') return sendJson(res, 500, { error: 'the database is down' });
    if (fault === 'redirect') return send(res, 302, 'text/plain', '', { location: `${WHOAMI_PATH}?redirected=1` });
    if (fault === 'html') return sendHtml(res, 200, notFoundPage(user));
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
      if (state.requests.length < MAX_RECORDED) {
        state.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers }, body });
      }
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
