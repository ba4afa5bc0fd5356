/**
 * @module `stepgate audit export|verify`: against a running edge (with a personal API token with
 * audit:read), or — for verify — an exported NDJSON file, offline, checked against the edge's
 * published checkpoint keys.
 */
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import type { Problem } from '../../../shared/wire-shapes';
import { verifyExported, type VerifyResult } from '../../audit/audit-chain';
import { verifyCheckpoint } from '../../audit/checkpoint';
import type { ChainedEvent } from '../../audit/events';
import { nodeSha256 } from '../sha256';
import { verifyPages } from '../../../shared/audit-verify-pages';
import { TOKEN_OPTION, UsageError, type Command, type OptionSpec, type Out, type Values } from './args';
import { progress } from './progress';

const FILTERS = ['from', 'to', 'user', 'ip', 'app', 'type', 'outcome'] as const;
const FILTER_OPTIONS: Record<(typeof FILTERS)[number], OptionSpec> = {
  from: { type: 'string', value: 'T', help: 'events at or after T (ISO 8601 or milliseconds)' },
  to: { type: 'string', value: 'T', help: 'events before T' },
  user: { type: 'string', value: 'U', help: 'events whose actor is this exact user id' },
  ip: { type: 'string', value: 'IP', help: 'events from this exact client IP' },
  app: { type: 'string', value: 'HOST', help: 'events of this exact host' },
  type: { type: 'string', value: 'T,...', help: 'event types, comma-separated' },
  outcome: { type: 'string', value: 'O', help: 'success, failure, denied or info' },
};
const EDGE: OptionSpec = { type: 'string', value: 'URL', help: 'the gateway, e.g. https://app.example.com' };
const PROGRESS: OptionSpec = { type: 'boolean', help: 'show progress on stderr (the default on a terminal)' };
/** Events per verify request. */
const VERIFY_PAGE = 2000;
const PARALLEL_DEFAULT = 3;
const PARALLEL_MAX = 8;

interface Edge {
  base: string;
  token: string;
}

function edgeOf(opts: Values, env: NodeJS.ProcessEnv): Edge {
  const base = opts.edge;
  if (typeof base !== 'string') throw new UsageError('--edge URL is required (e.g. http://127.0.0.1:8787)');
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw new UsageError(`--edge: not a URL: ${base}`);
  }
  const token = typeof opts.token === 'string' ? opts.token : env.STEPGATE_TOKEN;
  if (!token)
    throw new UsageError(
      'a personal API token is required: --token or STEPGATE_TOKEN (create one at /.stepgate/api/tokens after a step-up)',
    );
  return { base: u.origin, token };
}

async function get(edge: Edge, path: string): Promise<Response> {
  const res = await fetch(`${edge.base}${path}`, { headers: { authorization: `Bearer ${edge.token}`, accept: 'application/json' } });
  if (!res.ok) {
    let detail = '';
    try {
      const p = (await res.json()) as Problem;
      detail = `${p.code ?? ''}: ${p.detail ?? ''}`;
    } catch {
      // not problem+json
    }
    throw new Error(`${path.split('?')[0]}: HTTP ${res.status}${detail ? ` ${detail}` : ''}`);
  }
  return res;
}

const exportCommand: Command = {
  name: 'audit export',
  synopsis: [
    '--edge URL [--format ndjson|csv|ocsf] [--out FILE] [--from T] [--to T] [--user U] ' +
      '[--ip IP] [--app HOST] [--type T,...] [--outcome O] [--token TOKEN] [--progress]',
  ],
  summary:
    "Export audit events from the gateway (an administrator's or auditor's token " +
    'with audit:read). Exits 1 if the export stopped at a row that does not open.',
  options: {
    edge: EDGE,
    token: TOKEN_OPTION,
    format: { type: 'string', value: 'FORMAT', help: 'ndjson (default; verifiable, with checkpoints), csv or ocsf' },
    out: { type: 'string', value: 'FILE', help: 'write to FILE (default: standard output)' },
    ...FILTER_OPTIONS,
    progress: PROGRESS,
  },
  run: ({ values }, { out, err, env }) => exportEvents(values, out, err, env),
};

const verifyCommand: Command = {
  name: 'audit verify',
  synopsis: ['--edge URL [--token TOKEN] [--parallel N] [--progress]', '--file FILE [--jwks FILE|URL]'],
  summary:
    'Verify the audit chain at the gateway, page by page, or an NDJSON export offline. Exits 1 with the sequence of the first break.',
  details:
    `At the edge, pages of ${VERIFY_PAGE} events are verified with up to --parallel of them in flight (default ${PARALLEL_DEFAULT}); ` +
    "the first break in chain order is reported. Offline, --jwks (the edge's /.well-known/stepgate/audit-jwks.json, " +
    'as a file or URL) also checks the signed checkpoints; without it only the chain is checked.',
  options: {
    edge: EDGE,
    token: TOKEN_OPTION,
    parallel: {
      type: 'string',
      value: 'N',
      help: `verify requests in flight at the edge, 1 to ${PARALLEL_MAX} (default ${PARALLEL_DEFAULT})`,
    },
    file: { type: 'string', value: 'FILE', help: 'an NDJSON export to verify offline (needs no token)' },
    jwks: { type: 'string', value: 'FILE|URL', help: 'the checkpoint keys, for --file' },
    progress: PROGRESS,
  },
  run: ({ values }, { out, err, env }) => verifyEvents(values, out, err, env),
};

export const AUDIT_COMMANDS: Command[] = [exportCommand, verifyCommand];

async function exportEvents(opts: Values, out: Out, err: Out, env: NodeJS.ProcessEnv): Promise<number> {
  const edge = edgeOf(opts, env);
  const format = typeof opts.format === 'string' ? opts.format : 'ndjson';
  if (!['ndjson', 'csv', 'ocsf'].includes(format)) throw new UsageError('--format: one of ndjson, csv, ocsf');
  const q = new URLSearchParams({ format });
  for (const f of FILTERS) if (typeof opts[f] === 'string') q.set(f, opts[f]);
  const res = await get(edge, `/.stepgate/api/admin/audit/export?${q}`);
  const sink = typeof opts.out === 'string' ? createWriteStream(opts.out) : null;
  const bar = progress('exporting', opts.progress === true || (sink !== null && process.stderr.isTTY === true));
  let lines = 0;
  let broken = false;
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const text = decoder.decode(chunk, { stream: true });
    pending += text;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const l of parts) {
      if (l.startsWith('{"error":') || l.startsWith('# export stopped')) broken = true;
      if (!l.startsWith('{"checkpoint"')) lines++;
    }
    if (sink) sink.write(text);
    else process.stdout.write(text);
    bar.update(lines);
  }
  if (pending) {
    if (sink) sink.write(pending);
    else process.stdout.write(pending);
  }
  bar.end();
  if (sink) await new Promise<void>((resolve, reject) => sink.end((e?: Error | null) => (e ? reject(e) : resolve())));
  const events = format === 'csv' ? lines - 1 : lines;
  if (broken) {
    err('export stopped early: a stored event does not open (tampering); run `stepgate audit verify`');
    return 1;
  }
  if (sink) out(`exported ${events} event(s) to ${opts.out as string}`);
  return 0;
}

async function verifyEvents(opts: Values, out: Out, err: Out, env: NodeJS.ProcessEnv): Promise<number> {
  if (typeof opts.jwks === 'string' && typeof opts.file !== 'string')
    throw new UsageError('--jwks goes with --file (offline verification)');
  if (typeof opts.parallel === 'string' && typeof opts.file === 'string')
    throw new UsageError('--parallel goes with --edge (verification at the gateway)');
  if (typeof opts.file === 'string') return verifyFile(opts.file, typeof opts.jwks === 'string' ? opts.jwks : null, out, err);
  const parallel = typeof opts.parallel === 'string' ? Number(opts.parallel) : PARALLEL_DEFAULT;
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > PARALLEL_MAX)
    throw new UsageError(`--parallel: a whole number from 1 to ${PARALLEL_MAX}`);
  const edge = edgeOf(opts, env);
  const bar = progress('verifying', opts.progress === true || process.stderr.isTTY === true);
  const r = await verifyPages(
    async (from) => (await get(edge, `/.stepgate/api/admin/audit/verify?from=${from}&limit=${VERIFY_PAGE}`)).json(),
    { parallel, pageSize: VERIFY_PAGE, onPage: (to, head) => bar.update(to, head) },
  ).finally(() => bar.end());
  if (!r.ok) {
    // A malformed or self-contradicting answer names no sequence: the chain is not known to be broken, nor verified.
    err(r.refused ? `NOT VERIFIED: ${r.detail}` : `BROKEN at sequence ${r.seq}: ${r.problem} — ${r.detail}`);
    return 1;
  }
  out(`ok: ${r.rows} event(s) verified, through sequence ${r.to}; ${r.checkpoints} signed checkpoint(s) matched`);
  return 0;
}

/** The lines of a file, read in chunks (an export of millions of events is larger than one string may be). */
async function* fileLines(file: string): AsyncGenerator<string> {
  let pending = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8' })) {
    pending += chunk as string;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    yield* parts;
  }
  yield pending;
}

/** Verify an NDJSON export offline. */
async function verifyFile(file: string, jwksAt: string | null, out: Out, err: Out): Promise<number> {
  const events: ChainedEvent[] = [];
  const cps: { checkpoint: string; seq: number }[] = [];
  let i = 0;
  try {
    for await (const line of fileLines(file)) {
      i++;
      const l = line.trim();
      if (!l) continue;
      let doc: unknown;
      try {
        doc = JSON.parse(l);
      } catch {
        err(`${file}:${i}: not JSON (verify takes an NDJSON export)`);
        return 1;
      }
      if (doc && typeof doc === 'object' && 'event' in doc) events.push(doc as ChainedEvent);
      else if (doc && typeof doc === 'object' && 'checkpoint' in doc) cps.push(doc as { checkpoint: string; seq: number });
      else if (doc && typeof doc === 'object' && 'error' in doc) {
        err(`${file}:${i}: the export itself stopped at a row that does not open (tampering at the edge)`);
        return 1;
      } else {
        err(`${file}:${i}: neither an event nor a checkpoint`);
        return 1;
      }
    }
  } catch (e) {
    err(`${file}: cannot read: ${(e as Error).message}`);
    return 1;
  }
  if (events.length === 0) {
    err(`${file}: no events`);
    return 1;
  }
  const first = events[0]!.event.seq;
  // A retention checkpoint just before the first event anchors a pruned chain (checked below with --jwks).
  const anchorLine = cps.find((c) => c.seq === first - 1);
  let anchorPoint: { seq: number; hash: string } | null = null;
  if (anchorLine) {
    try {
      const payload = JSON.parse(Buffer.from(anchorLine.checkpoint.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
        seq: number;
        hash: string;
      };
      anchorPoint = { seq: payload.seq, hash: payload.hash };
    } catch {
      err(`${file}: the anchoring checkpoint is malformed`);
      return 1;
    }
  }
  const r: VerifyResult = await verifyExported(events, first === 1 ? undefined : anchorPoint, nodeSha256);
  if (!r.ok) {
    err(
      `BROKEN at sequence ${r.seq}: ${r.problem} — ${r.detail}` +
        `${r.problem === 'deleted' ? ' (a filtered export cannot be verified; export without filters)' : ''}`,
    );
    return 1;
  }
  if (first !== 1 && !anchorPoint) out(`note: the export starts at sequence ${first}; the link before it is taken as given`);
  if (anchorPoint) out(`note: the chain starts after retention, at the checkpoint of sequence ${anchorPoint.seq}`);
  if (!jwksAt) {
    out(`ok: ${r.rows} event(s) form an unbroken chain through sequence ${r.head.seq}`);
    out(
      `note: ${cps.length} checkpoint signature(s) not checked; ` +
        `pass --jwks (the edge's /.well-known/stepgate/audit-jwks.json) to trust the chain`,
    );
    return 0;
  }
  let jwks: { keys: JWK[] };
  try {
    jwks = /^https?:\/\//.test(jwksAt)
      ? ((await (await fetch(jwksAt)).json()) as { keys: JWK[] })
      : (JSON.parse(readFileSync(jwksAt, 'utf8')) as { keys: JWK[] });
  } catch (e) {
    err(`--jwks: cannot load ${jwksAt}: ${(e as Error).message}`);
    return 1;
  }
  const hashes = new Map(events.map((e) => [e.event.seq, e.hash]));
  if (anchorPoint) hashes.set(anchorPoint.seq, anchorPoint.hash);
  let covered = 0;
  for (const c of cps) {
    try {
      const cp = await verifyCheckpoint(c.checkpoint, jwks);
      if (hashes.get(cp.seq) !== cp.hash) {
        err(`BROKEN at sequence ${cp.seq}: the signed checkpoint names a different hash`);
        return 1;
      }
      covered = Math.max(covered, cp.seq);
    } catch (e) {
      err(`BROKEN: checkpoint at sequence ${c.seq} does not verify: ${(e as Error).message}`);
      return 1;
    }
  }
  if (covered === 0) {
    out(`ok: ${r.rows} event(s) form an unbroken chain through sequence ${r.head.seq}, but no signed checkpoint covers them yet`);
    return 0;
  }
  out(
    `ok: ${r.rows} event(s) verified; signed checkpoints cover through sequence ${covered}` +
      `${covered < r.head.seq ? ` (sequences ${covered + 1}–${r.head.seq} await the next checkpoint)` : ''}`,
  );
  return 0;
}
