/**
 * @module `stepgate keys generate|rotate|retire|status`: the keyring secret's life cycle. Key
 * material goes to a file (mode 0600) or stdout, never to logs; `wrangler secret put
 * STEPGATE_KEYS < FILE` installs it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { newMasterKey, parseKeyring } from '../crypto/keyring';
import { parseArgs, UsageError } from './args';

type Out = (line: string) => void;

export const KEYS_USAGE = `  stepgate keys generate [--kid ID] [--out FILE]      a new keyring with one key
  stepgate keys rotate --file KEYS [--kid ID] [--out FILE]
                                           add a key and make it primary (old keys stay, to read old data)
  stepgate keys retire --file KEYS --kid ID [--out FILE]
                                           drop a non-primary key once \`keys status\` says nothing uses it
  stepgate keys status --edge URL          which key ids stored data still uses (an admin's token)`;

interface KeyringDoc {
  primary: string;
  keys: Record<string, string>;
}

const defaultKid = () => `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}${Math.random().toString(36).slice(2, 5)}`;

function readKeyring(file: string): KeyringDoc {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot read: ${(e as Error).message}`);
  }
  parseKeyring(text); // validates, naming what is wrong without echoing keys
  return JSON.parse(text) as KeyringDoc;
}

function emit(doc: KeyringDoc, outFile: string | undefined, out: Out): void {
  const text = JSON.stringify(doc);
  parseKeyring(text);
  if (outFile) {
    writeFileSync(outFile, `${text}\n`, { mode: 0o600 });
    out(`wrote ${outFile} (primary ${doc.primary}; keys ${Object.keys(doc.keys).join(', ')}); install: npx wrangler secret put STEPGATE_KEYS < ${outFile}`);
  } else out(text);
}

export async function keysMain(argv: string[], out: Out, err: Out, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === 'generate') {
    const { opts } = parseArgs(rest, ['kid', 'out']);
    const kid = typeof opts.kid === 'string' ? opts.kid : defaultKid();
    emit({ primary: kid, keys: { [kid]: newMasterKey() } }, opts.out as string | undefined, out);
    return 0;
  }
  if (cmd === 'rotate') {
    const { opts } = parseArgs(rest, ['file', 'kid', 'out']);
    if (typeof opts.file !== 'string') throw new UsageError('--file KEYS is required (the current STEPGATE_KEYS JSON)');
    const doc = readKeyring(opts.file);
    const kid = typeof opts.kid === 'string' ? opts.kid : defaultKid();
    if (doc.keys[kid]) throw new UsageError(`key id ${kid} is already in the keyring`);
    const next = { primary: kid, keys: { ...doc.keys, [kid]: newMasterKey() } };
    emit(next, opts.out as string | undefined, out);
    err(`next: deploy it; new data is written under ${kid}; the cron trigger re-encrypts old data in the background; retire ${doc.primary} when \`stepgate keys status\` shows it unused.`);
    return 0;
  }
  if (cmd === 'retire') {
    const { opts } = parseArgs(rest, ['file', 'kid', 'out']);
    if (typeof opts.file !== 'string' || typeof opts.kid !== 'string') throw new UsageError('--file KEYS and --kid ID are required');
    const doc = readKeyring(opts.file);
    if (!doc.keys[opts.kid]) throw new UsageError(`key id ${opts.kid} is not in the keyring`);
    if (doc.primary === opts.kid) throw new UsageError(`${opts.kid} is the primary key; rotate to a new one first`);
    const { [opts.kid]: _gone, ...keys } = doc.keys;
    emit({ primary: doc.primary, keys }, opts.out as string | undefined, out);
    return 0;
  }
  if (cmd === 'status') {
    const { opts } = parseArgs(rest, ['edge', 'token']);
    if (typeof opts.edge !== 'string') throw new UsageError('--edge URL is required');
    const token = typeof opts.token === 'string' ? opts.token : env.STEPGATE_TOKEN;
    if (!token) throw new UsageError('a personal API token is required: --token or STEPGATE_TOKEN');
    const res = await fetch(`${new URL(opts.edge).origin}/.stepgate/api/admin/keys`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) {
      err(`keys status: HTTP ${res.status} ${await res.text()}`);
      return 1;
    }
    const s = (await res.json()) as { primary: string; kids: string[]; usage: Record<string, Record<string, number>>; retirable: Record<string, boolean>; notes: string[] };
    out(`primary: ${s.primary}`);
    for (const kid of s.kids) {
      const use = s.usage[kid] ?? {};
      const parts = Object.entries(use).map(([t, n]) => `${t} ${n}`);
      out(`${kid}${kid === s.primary ? ' (primary)' : s.retirable[kid] ? ' (unused: may be retired)' : ''}: ${parts.join(', ') || 'no stored data'}`);
    }
    for (const n of s.notes) out(`note: ${n}`);
    return 0;
  }
  throw new UsageError(`unknown keys command "${cmd ?? ''}"`);
}
