/**
 * @module `stepgate keys generate|rotate|retire|status|dev-vars`: the keyring secret's life cycle.
 * Key material goes to a file (mode 0600, never over an existing one without --force) or stdout,
 * never to logs; `wrangler secret put STEPGATE_KEYS < FILE` installs it, and `keys dev-vars`
 * moves it into and out of .dev.vars for local development.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { freshKeyId, KEY_ID } from '../../crypto/key-id';
import { newMasterKey, parseKeyring, type KeyringDoc } from '../../crypto/keyring';
import { retireKey } from '../../crypto/retire-key';
import { devVarLine, parseDevVars } from '../dev/dev-vars';
import { str, TOKEN_OPTION, UsageError, type Command, type OptionSpec, type Out, type Values } from './args';

const KEYS_FILE: OptionSpec = { type: 'string', value: 'KEYS', help: 'the current keyring (the STEPGATE_KEYS JSON)' };
const OUT: OptionSpec = {
  type: 'string',
  value: 'FILE',
  help: 'write the keyring to FILE (mode 0600) and print only a summary; without it, the keyring goes to standard output',
};
const FORCE: OptionSpec = { type: 'boolean', help: 'replace FILE if it exists (the keyring in it is lost)' };
const KID: OptionSpec = {
  type: 'string',
  value: 'ID',
  help: `the new key's id (default: made up, like k20261201-6e6f; 1-32 letters, digits, "_" or "-")`,
};

export const KEYS_COMMANDS: Command[] = [
  {
    name: 'keys generate',
    synopsis: ['[--kid ID] [--out FILE [--force]]'],
    summary: 'Make a new keyring with one key.',
    options: { kid: KID, out: OUT, force: FORCE },
    run: ({ values }, io) => keysMain('generate', values, io.out, io.err, io.env),
  },
  {
    name: 'keys rotate',
    synopsis: ['--file KEYS [--kid ID] [--out FILE [--force]]'],
    summary: 'Add a key to a keyring and make it primary (the old keys stay, to read old data).',
    options: { file: KEYS_FILE, kid: KID, out: OUT, force: FORCE },
    run: ({ values }, io) => keysMain('rotate', values, io.out, io.err, io.env),
  },
  {
    name: 'keys retire',
    synopsis: ['--file KEYS --kid ID [--out FILE [--force]]'],
    summary: 'Drop a non-primary key once `stepgate keys status` says nothing uses it (its public keys stay, verify-only).',
    options: { file: KEYS_FILE, kid: { type: 'string', value: 'ID', help: 'the key id to retire' }, out: OUT, force: FORCE },
    run: ({ values }, io) => keysMain('retire', values, io.out, io.err, io.env),
  },
  {
    name: 'keys status',
    synopsis: ['--edge URL [--token TOKEN] [--json]'],
    summary: "Which key ids the gateway's stored data still uses (an administrator's token).",
    options: {
      edge: { type: 'string', value: 'URL', help: 'the gateway, e.g. https://app.example.com' },
      token: TOKEN_OPTION,
      json: { type: 'boolean', help: 'print the status as JSON' },
    },
    run: ({ values }, io) => keysMain('status', values, io.out, io.err, io.env),
  },
  {
    name: 'keys dev-vars',
    synopsis: ['--file KEYS [--dev-vars FILE]', '--export [--out FILE [--force]] [--dev-vars FILE]'],
    summary: 'Put a keyring into .dev.vars for local development (npm start, wrangler dev), or take the one there out.',
    details:
      'Installing replaces the STEPGATE_KEYS line of .dev.vars and keeps every other line; the keyring it\n' +
      'replaces is first saved to .dev.vars.<time>.keys.json (mode 0600; reinstall it with --file).\n' +
      'Restart npm start to use it.',
    options: {
      file: { type: 'string', value: 'KEYS', help: 'the keyring to install' },
      export: { type: 'boolean', help: "print (or with --out, write) .dev.vars' keyring instead" },
      out: { type: 'string', value: 'FILE', help: 'with --export: write the keyring to FILE (mode 0600)' },
      force: { type: 'boolean', help: 'with --export: replace FILE if it exists' },
      'dev-vars': { type: 'string', value: 'FILE', help: 'the .dev.vars file (default: .dev.vars)' },
    },
    run: ({ values }, io) => devVars(values, io.out, io.err),
  },
];

/** The id for a new key: `--kid` (checked), or a fresh one. None may repeat an id of the keyring in another letter case. */
function kidFor(opts: Values, taken: readonly string[]): string {
  const kid = str(opts, 'kid');
  if (kid === undefined) return freshKeyId(taken);
  if (!KEY_ID.test(kid))
    throw new UsageError(
      `--kid: "${kid.slice(0, 40)}" is not a key id: 1-32 letters, digits, "_" or "-" (new ids look like k20261201-6e6f)`,
    );
  const clash = taken.find((t) => t.toLowerCase() === kid.toLowerCase());
  if (clash !== undefined) throw new Error(`key id ${kid} is already in the keyring${clash === kid ? '' : ` (as ${clash})`}`);
  return kid;
}

function readKeyring(file: string): KeyringDoc {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
  parseKeyring(text); // validates, naming what is wrong without echoing keys
  return JSON.parse(text) as KeyringDoc;
}

/**
 * Write key material to a new file, mode 0600; an existing file only with `force`.
 *
 * @throws {Error} when the file exists and `force` is not set
 */
export function writeSecretFile(file: string, text: string, force: boolean): void {
  try {
    writeFileSync(file, text, { mode: 0o600, flag: force ? 'w' : 'wx' });
  } catch (e) {
    if ((e as { code?: string }).code === 'EEXIST') {
      throw new Error(
        `${file} exists; not overwriting it (a keyring overwritten is data lost). Choose another --out, or pass --force to replace it.`,
      );
    }
    throw e;
  }
  if (force) chmodSync(file, 0o600); // an existing file keeps its mode otherwise
}

/** The keyring to `--out` (see `writeSecretFile`) with a summary, or to standard output. */
function emit(doc: KeyringDoc, opts: Values, out: Out): void {
  const text = JSON.stringify(doc);
  parseKeyring(text);
  const outFile = str(opts, 'out');
  if (outFile) {
    writeSecretFile(outFile, `${text}\n`, opts.force === true);
    const retired = Object.keys(doc.retired ?? {});
    out(
      `wrote ${outFile} (primary ${doc.primary}; ` +
        `keys ${Object.keys(doc.keys).join(', ')}${retired.length ? `; retired, public keys only: ${retired.join(', ')}` : ''}); ` +
        `install: npx wrangler secret put STEPGATE_KEYS < ${outFile} (locally: npx stepgate keys dev-vars --file ${outFile})`,
    );
  } else {
    if (opts.force === true) throw new UsageError('--force goes with --out FILE');
    out(text);
  }
}

/** Run a `keys` command with its parsed options. */
export async function keysMain(cmd: string, opts: Values, out: Out, err: Out, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (cmd === 'generate') {
    const kid = kidFor(opts, []);
    emit({ primary: kid, keys: { [kid]: newMasterKey() } }, opts, out);
    return 0;
  }
  if (cmd === 'rotate') {
    if (typeof opts.file !== 'string') throw new UsageError('--file KEYS is required (the current STEPGATE_KEYS JSON)');
    const doc = readKeyring(opts.file);
    // A retired id is never reused: its public keys stay published under it.
    const kid = kidFor(opts, [...Object.keys(doc.keys), ...Object.keys(doc.retired ?? {})]);
    const next = { ...doc, primary: kid, keys: { ...doc.keys, [kid]: newMasterKey() } };
    emit(next, opts, out);
    err(
      `next: deploy it; new data is written under ${kid}; the cron trigger re-encrypts old data ` +
        `in the background; retire ${doc.primary} when \`stepgate keys status\` shows it unused.`,
    );
    return 0;
  }
  if (cmd === 'retire') {
    if (typeof opts.file !== 'string' || typeof opts.kid !== 'string') throw new UsageError('--file KEYS and --kid ID are required');
    const doc = readKeyring(opts.file);
    if (!doc.keys[opts.kid]) throw new Error(`key id ${opts.kid} is not in the keyring`);
    if (doc.primary === opts.kid) throw new Error(`${opts.kid} is the primary key; rotate to a new one first`);
    // The master key goes; its checkpoint and approval-statement public keys move to "retired" (verify-only).
    emit(await retireKey(doc, opts.kid), opts, out);
    err(
      `${opts.kid} can no longer open or sign anything; its public keys stay published ` +
        `(audit-jwks.json, approval-jwks.json), so exports and approvals signed under it still verify.`,
    );
    return 0;
  }
  if (cmd === 'status') {
    if (typeof opts.edge !== 'string') throw new UsageError('--edge URL is required');
    const token = typeof opts.token === 'string' ? opts.token : env.STEPGATE_TOKEN;
    if (!token) throw new UsageError('a personal API token is required: --token or STEPGATE_TOKEN');
    const res = await fetch(`${new URL(opts.edge).origin}/.stepgate/api/admin/keys`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) {
      err(`keys status: HTTP ${res.status} ${await res.text()}`);
      return 1;
    }
    const s = (await res.json()) as {
      primary: string;
      kids: string[];
      usage: Record<string, Record<string, number>>;
      retirable: Record<string, boolean>;
      retired?: Record<string, { retired_at: string }>;
      notes: string[];
    };
    if (opts.json === true) {
      out(JSON.stringify(s));
      return 0;
    }
    out(`primary: ${s.primary}`);
    for (const kid of s.kids) {
      const use = s.usage[kid] ?? {};
      const parts = Object.entries(use).map(([t, n]) => `${t} ${n}`);
      const note = kid === s.primary ? ' (primary)' : s.retirable[kid] ? ' (unused: may be retired)' : '';
      out(`${kid}${note}: ${parts.join(', ') || 'no stored data'}`);
    }
    for (const [kid, r] of Object.entries(s.retired ?? {}))
      out(`${kid} (retired ${r.retired_at}): public keys only, still published to verify what it signed`);
    for (const n of s.notes) out(`note: ${n}`);
    return 0;
  }
  throw new UsageError(`unknown keys command "${cmd}"`);
}

/** `keys dev-vars`: install a keyring into .dev.vars (saving the one it replaces), or export it. */
async function devVars(opts: Values, out: Out, err: Out): Promise<number> {
  const target = str(opts, 'dev-vars') ?? '.dev.vars';
  const file = str(opts, 'file');
  const current = existsSync(target) ? readFileSync(target, 'utf8') : null;
  if (opts.export === true) {
    if (file !== undefined) throw new UsageError('give --file (install a keyring) or --export (take it out), not both');
    if (current === null) throw new Error(`${target} does not exist (npm start creates it)`);
    const keys = parseDevVars(current).STEPGATE_KEYS;
    if (!keys) throw new Error(`${target} has no STEPGATE_KEYS (npm start adds one)`);
    const ring = parseKeyring(keys);
    const outFile = str(opts, 'out');
    if (outFile === undefined) {
      if (opts.force === true) throw new UsageError('--force goes with --out FILE');
      out(keys);
      return 0;
    }
    writeSecretFile(outFile, `${keys}\n`, opts.force === true);
    out(`wrote ${outFile} from ${target} (primary ${ring.primary}; keys ${ring.kids.join(', ')})`);
    return 0;
  }
  if (str(opts, 'out') !== undefined || opts.force === true) throw new UsageError('--out and --force go with --export');
  if (file === undefined) throw new UsageError('--file KEYS (install a keyring) or --export (take it out) is required');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
  const ring = parseKeyring(text);
  const value = JSON.stringify(JSON.parse(text)); // one line, as .dev.vars needs
  const line = devVarLine('STEPGATE_KEYS', value);
  const old = current === null ? undefined : parseDevVars(current).STEPGATE_KEYS;
  if (old === value) {
    out(`${target} already has this keyring (primary ${ring.primary})`);
    return 0;
  }
  let backup: string | null = null;
  if (old) {
    backup = `${target}.${new Date().toISOString().replace(/[-:.]/g, '')}.keys.json`;
    writeSecretFile(backup, `${old}\n`, false);
  }
  const lines = current === null ? ['# Local development secrets. Never commit this file.'] : current.replace(/\r?\n$/, '').split('\n');
  let placed = false;
  const next: string[] = [];
  for (const l of lines) {
    if (!/^\s*STEPGATE_KEYS\s*=/.test(l)) next.push(l);
    else if (!placed) {
      next.push(line);
      placed = true;
    }
  }
  if (!placed) next.push(line);
  writeFileSync(target, `${next.join('\n')}\n`, { mode: 0o600 });
  chmodSync(target, 0o600);
  out(
    `wrote STEPGATE_KEYS to ${target} (primary ${ring.primary}; ` +
      `keys ${ring.kids.join(', ')})${backup ? `; the keyring it replaced is saved in ${backup}` : ''}`,
  );
  if (old) {
    try {
      const lost = Object.keys((JSON.parse(old) as KeyringDoc).keys ?? {}).filter((k) => !ring.kids.includes(k));
      if (lost.length)
        err(
          `note: key id(s) ${lost.join(', ')} of the replaced keyring are not in this one; ` +
            `local data sealed under them will not open (reinstall ${backup} to get it back)`,
        );
    } catch {
      // the replaced value was not a keyring: nothing to compare
    }
  }
  out('restart npm start (or wrangler dev) to use it');
  return 0;
}
