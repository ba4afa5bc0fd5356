/**
 * @module The admin API as `stepgate admin` calls it: the gateway's URL and a personal API token
 * (acting as its owner, in the token's organisation), one request at a time, and every refusal
 * turned into one sentence in words — never a stack trace, and raw JSON only when asked (--json).
 */
import type { Problem } from '../../../shared/wire-shapes';
import { readText, TOKEN_OPTION, UsageError, type Command, type Io, type OptionSpec, type Parsed, type Values } from './args';

/** The options every `stepgate admin` command takes. */
export const CONNECTION_OPTIONS: Record<string, OptionSpec> = {
  edge: { type: 'string', value: 'URL', help: 'the gateway, e.g. https://app.example.com (default: $STEPGATE_EDGE)' },
  token: TOKEN_OPTION,
  org: { type: 'string', value: 'ORG', help: "the organisation (default: the token's own)" },
  json: { type: 'boolean', help: 'print the API’s JSON answer as it is (errors too), instead of words' },
};

/** Where and as whom: the gateway's origin and the token. */
export interface Connection {
  base: string;
  token: string;
  json: boolean;
}

/** A refusal or failure, already in words (main prints it after the command's name; exit 1). */
export class AdminError extends Error {
  override readonly name = 'AdminError';
  constructor(
    message: string,
    /** The API's answer, printed as it is with --json. */
    readonly body?: unknown,
  ) {
    super(message);
  }
}

/** The gateway and token from the options and environment. @throws {UsageError} when one is missing or not a URL */
export function connect(v: Values, env: NodeJS.ProcessEnv): Connection {
  const url = typeof v.edge === 'string' ? v.edge : env.STEPGATE_EDGE;
  if (!url) throw new UsageError('--edge URL is required (or STEPGATE_EDGE), e.g. --edge https://app.example.com');
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--edge: not a URL: ${url}`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new UsageError(`--edge: not an http(s) URL: ${url}`);
  const token = typeof v.token === 'string' ? v.token : env.STEPGATE_TOKEN;
  if (!token)
    throw new UsageError(
      'a personal API token is required: --token or STEPGATE_TOKEN ' +
        '(make one in the console, /.stepgate/admin/tokens, after confirming it is you)',
    );
  return { base: u.origin, token, json: v.json === true };
}

/** What a status means for someone at a terminal, beyond the gateway's own sentence. */
const HINTS: Record<number, string> = {
  401: 'the token is not valid: it may have expired or been revoked; make a new one in the console (/.stepgate/admin/tokens)',
  404: "a token works only in its own organisation: 'stepgate admin whoami' names it",
  413: 'the file is too large for the gateway (policies up to 256 KiB)',
  415: 'the gateway expected JSON',
  429: 'too many requests: wait a little and try again',
};

/** Call the API; the parsed JSON answer, or an AdminError in words. */
export async function request(c: Connection, method: string, path: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${c.base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${c.token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new AdminError(`cannot reach ${c.base}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
  const text = await res.text();
  let doc: unknown;
  try {
    doc = text === '' ? null : JSON.parse(text);
  } catch {
    doc = undefined;
  }
  if (res.ok) {
    if (doc === undefined)
      throw new AdminError(`${c.base} answered ${res.status} with something that is not JSON: is it a Stepgate gateway?`);
    return doc;
  }
  const p = (doc ?? {}) as Partial<Problem> & { problems?: string[] };
  const said = typeof p.detail === 'string' ? p.detail : `HTTP ${res.status}`;
  const hint = HINTS[res.status];
  const what = res.status === 403 ? 'refused' : res.status >= 500 ? 'the gateway failed' : 'not done';
  throw new AdminError(`${what}: ${said}${hint && !said.includes(hint) ? ` (${hint})` : ''}`, doc ?? { status: res.status, body: text });
}

/** The organisation to act in: --org, else the token's own (asked of the gateway). */
export async function orgOf(c: Connection, v: Values): Promise<string> {
  if (typeof v.org === 'string') {
    if (!/^[a-z0-9-]{2,32}$/.test(v.org)) throw new UsageError(`--org: not an organisation id: ${v.org}`);
    return v.org;
  }
  return ((await request(c, 'GET', '/.stepgate/api/tokens/current')) as { org: string }).org;
}

/** A path segment as the API expects it (an app id, a user id). */
export const seg = (s: string): string => encodeURIComponent(s);

/** An ISO time as a short UTC date and time. */
export const when = (iso: string | null | undefined): string => (iso ? iso.replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC') : '—');

export const ADMIN_DETAILS =
  'Needs --edge (or STEPGATE_EDGE) and a personal API token (--token or STEPGATE_TOKEN) made in the console: ' +
  'admin:read to read, admin:write to change, audit:read for the dashboard.';

/** A JSON document from FILE, or from the option's text itself when it starts with `{`. */
export function jsonArg(name: string, value: string, io: Io): unknown {
  const text = value.trimStart().startsWith('{') ? value : readText(value, io.err);
  if (text === null) throw new AdminError(`--${name}: cannot read ${value}`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AdminError(`--${name}: ${value === text ? 'not valid JSON' : `${value} is not valid JSON`} (${(e as Error).message})`);
  }
}

/** One `stepgate admin` command: its connection, its organisation, and its work; --json prints answers as they are. */
export function admin(
  name: string,
  synopsis: string,
  summary: string,
  o: { options?: Record<string, OptionSpec>; positionals?: number },
  work: (x: {
    c: Connection;
    org: () => Promise<string>;
    args: Parsed;
    io: Io;
    show: (doc: unknown, words: () => string[]) => void;
  }) => Promise<void>,
): Command {
  return {
    name: `admin ${name}`,
    synopsis: [synopsis],
    summary,
    details: ADMIN_DETAILS,
    options: { ...(o.options ?? {}), ...CONNECTION_OPTIONS },
    positionals: o.positionals ?? 0,
    run: async (args, io) => {
      const c = connect(args.values, io.env);
      const show = (doc: unknown, words: () => string[]) => {
        for (const line of c.json ? [JSON.stringify(doc, null, 2)] : words()) io.out(line);
      };
      try {
        await work({ c, org: () => orgOf(c, args.values), args, io, show });
        return 0;
      } catch (e) {
        if (!(e instanceof AdminError) || !c.json || e.body === undefined) throw e;
        io.out(JSON.stringify(e.body, null, 2));
        return 1;
      }
    },
  };
}

/** The positional argument `what`, or a usage error naming it. */
export const need = (args: Parsed, i: number, what: string): string => {
  const v = args.positionals[i];
  if (v === undefined) throw new UsageError(`${what} is required`);
  return v;
};
