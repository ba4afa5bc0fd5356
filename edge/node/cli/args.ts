/**
 * @module The CLI's command table types and argument parsing, on Node's own `util.parseArgs`
 * (strict: unknown options are errors, never ignored), its help text, and reading input files.
 */
import { readFileSync } from 'node:fs';
import { parseArgs as nodeParseArgs } from 'node:util';

/** A wrong call: the command's usage is printed and the exit code is 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type Out = (line: string) => void;

export interface Io {
  out: Out;
  err: Out;
  env: NodeJS.ProcessEnv;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** One-letter alias (`-o`). */
  short?: string;
  /** Placeholder of the value in help (`FILE`). */
  value?: string;
  help: string;
}

export type Values = Record<string, string | boolean | undefined>;

export interface Parsed {
  values: Values;
  positionals: string[];
}

export interface Command {
  /** The words after `stepgate`: `keys rotate`. */
  name: string;
  /** What follows the name in the usage line; one line per way of calling it. */
  synopsis: string[];
  /** One line, for the command lists. */
  summary: string;
  /** More help, printed after the options. */
  details?: string;
  options: Record<string, OptionSpec>;
  /** How many positional arguments it takes at most (default none). */
  positionals?: number;
  run(args: Parsed, io: Io): Promise<number>;
}

/** `-h`/`--help`, which every command takes. */
export const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', help: 'show this help and exit' };

/** `--token`, with `STEPGATE_TOKEN` as its default. */
export const TOKEN_OPTION: OptionSpec = { type: 'string', value: 'TOKEN', help: 'a personal API token (default: $STEPGATE_TOKEN)' };

/** Whether `argv` asks for help (before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/**
 * Parse a command's arguments.
 *
 * @throws {UsageError} for an unknown option, a missing or unexpected value, or a positional
 *   argument too many — with a one-line reason
 */
export function parseCommand(cmd: Command, argv: readonly string[]): Parsed {
  const max = cmd.positionals ?? 0;
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, o] of Object.entries({ ...cmd.options, help: HELP_OPTION }))
    options[name] = o.short ? { type: o.type, short: o.short } : { type: o.type };
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = nodeParseArgs({ args: [...argv], options, strict: true, allowPositionals: max > 0 }) as {
      values: Values;
      positionals: string[];
    };
  } catch (e) {
    throw new UsageError(reason(e));
  }
  if (parsed.positionals.length > max) throw new UsageError(`unexpected argument "${parsed.positionals[max]}"`);
  return { values: { ...parsed.values }, positionals: parsed.positionals };
}

/** `util.parseArgs`' multi-line messages, as one short line. */
function reason(e: unknown): string {
  const { code, message } = e as { code?: string; message?: string };
  const msg = String(message ?? e);
  const option = /'(-[^ ',]*)(?:, (--[^ ']+))?/.exec(msg);
  const name = option?.[2] ?? option?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${name}`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument "${/'([^']*)'/.exec(msg)?.[1] ?? ''}"`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/does not take an argument/.test(msg)) return `${name} takes no value`;
    if (/ambiguous/.test(msg)) return `${name} needs a value (for a value that starts with "-", write ${name}=VALUE)`;
    return `${name} needs a value`;
  }
  return msg.split('\n')[0]!;
}

/** A string option's value, or undefined. */
export const str = (v: Values, name: string): string | undefined => (typeof v[name] === 'string' ? (v[name] as string) : undefined);

/** The usage lines of a command. */
export const usageLines = (cmd: Command): string[] =>
  cmd.synopsis.map((s, i) => `${i === 0 ? 'Usage: ' : '       '}stepgate ${cmd.name}${s ? ` ${s}` : ''}`);

/** A command's full help: usage, summary, options, details. */
export function helpText(cmd: Command): string {
  const rows = Object.entries({ ...cmd.options, help: HELP_OPTION }).map(
    ([name, o]) => [`${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`, o.help] as const,
  );
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return [
    ...usageLines(cmd),
    '',
    cmd.summary,
    '',
    'Options:',
    ...rows.map(([l, h]) => `  ${l.padEnd(width)}${h}`),
    ...(cmd.details ? ['', cmd.details] : []),
  ].join('\n');
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
