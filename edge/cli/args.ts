/** @module A small `--name value` / `--flag` parser for the CLI (unknown options are errors, never ignored), and reading input files. */
import { readFileSync } from 'node:fs';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Parse `argv` against the allowed option names (`name` takes a value, `name!` is a flag).
 *
 * @throws {UsageError} for an unknown option or a missing value
 */
export function parseArgs(argv: readonly string[], allowed: readonly string[]): { opts: Record<string, string | true>; positional: string[] } {
  const flags = new Set(allowed.filter((a) => a.endsWith('!')).map((a) => a.slice(0, -1)));
  const values = new Set(allowed.filter((a) => !a.endsWith('!')));
  const opts: Record<string, string | true> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (flags.has(name)) opts[name] = true;
    else if (values.has(name)) {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
      opts[name] = v;
    } else throw new UsageError(`unknown option --${name}`);
  }
  return { opts, positional };
}

/** A file's text, or null after telling `err` why it cannot be read. */
export function readText(file: string, err: (line: string) => void): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    err(`${file}: cannot read: ${(e as Error).message}`);
    return null;
  }
}
