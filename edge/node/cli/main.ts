/**
 * @module The `stepgate` command line: policy tools for app owners, audit export and verification,
 * the keyring's life cycle, and the production check. Every command and group answers `--help`
 * (standard output, exit 0); a wrong call prints one line of reason and that command's usage
 * (standard error, exit 2); a refusal or invalid input exits 1.
 */
import { readFileSync } from 'node:fs';
import { helpText, parseCommand, UsageError, usageLines, wantsHelp, type Command, type Io, type Out } from './args';
import { AUDIT_COMMANDS } from './audit-cli';
import { DOCTOR_COMMAND } from './doctor-cli';
import { KEYS_COMMANDS } from './keys-cli';
import { POLICY_COMMANDS } from './policy-cli';

/** Every command, in the order of the help. A test asks each one for `--help`. */
export const COMMANDS: readonly Command[] = [...POLICY_COMMANDS, ...AUDIT_COMMANDS, ...KEYS_COMMANDS, DOCTOR_COMMAND];

/** The command groups (`policy`, `audit`, `keys`): the first word of commands with two. */
export const GROUPS: readonly string[] = [...new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]!))];

const GROUP_SUMMARY: Record<string, string> = {
  policy: 'check a policy and see what a request would match, before you deploy it',
  audit: 'export and verify the audit log',
  keys: 'the keyring (STEPGATE_KEYS): generate, rotate, retire, status, and .dev.vars',
};

export const version = (): string =>
  (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const list = (cmds: readonly Command[]) => {
  const width = Math.max(...cmds.map((c) => c.name.length)) + 2;
  return cmds.map((c) => `  ${c.name.padEnd(width)}${c.summary.split(/(?<=\.) /)[0]}`);
};

function topHelp(): string {
  return [
    'Usage: stepgate COMMAND [options]',
    '',
    'Stepgate, the step-up MFA gateway, from the command line.',
    '',
    'Commands:',
    ...list(COMMANDS),
    '',
    'Options:',
    '  -h, --help     show help (also after any command: stepgate keys rotate --help)',
    '  -v, --version  print the version',
    '',
    'Exit codes: 0 done (policy test also answers 0 when the gateway would refuse the request: that is its answer),',
    '            1 the command refused or failed (an invalid policy, a file that exists, an edge error), 2 wrong usage.',
  ].join('\n');
}

function groupHelp(group: string): string {
  const cmds = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return [
    `Usage: stepgate ${group} COMMAND [options]`,
    '',
    `${group}: ${GROUP_SUMMARY[group] ?? ''}`,
    '',
    'Commands:',
    ...list(cmds),
    '',
    `Run \`stepgate ${group} COMMAND --help\` for a command's options.`,
  ].join('\n');
}

/** Run the CLI; returns the exit code (0 ok, 1 refused/invalid, 2 usage). */
export async function main(
  argv: string[],
  out: Out = console.log,
  err: Out = console.error,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const io: Io = { out, err, env };
  const usage = (what: string, reason: string, lines: string[]) => {
    err(`${what}: ${reason}`);
    for (const l of lines) err(l);
    return 2;
  };
  const [first, second] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    if (first === undefined) return usage('stepgate', 'a command is required', [topHelp()]);
    // `stepgate help keys rotate` is `stepgate keys rotate --help`.
    if (first === 'help' && argv.length > 1) return main([...argv.slice(1), '--help'], out, err, env);
    out(topHelp());
    return 0;
  }
  if (first === '--version' || first === '-v') {
    out(version());
    return 0;
  }
  const cmd =
    COMMANDS.find((c) => c.name === first) ?? (second !== undefined ? COMMANDS.find((c) => c.name === `${first} ${second}`) : undefined);
  if (!cmd) {
    if (GROUPS.includes(first)) {
      if (second === undefined) return usage(`stepgate ${first}`, 'a command is required', [groupHelp(first)]);
      if (second === '--help' || second === '-h') {
        out(groupHelp(first));
        return 0;
      }
      return usage(`stepgate ${first}`, `unknown command "${second}"`, [groupHelp(first)]);
    }
    return usage('stepgate', `unknown command "${first}"`, [topHelp()]);
  }
  const rest = argv.slice(cmd.name.split(' ').length);
  const name = `stepgate ${cmd.name}`;
  if (wantsHelp(rest)) {
    out(helpText(cmd));
    return 0;
  }
  try {
    return await cmd.run(parseCommand(cmd, rest), io);
  } catch (e) {
    if (e instanceof UsageError) return usage(name, e.message, [...usageLines(cmd), `Run \`${name} --help\` for the options.`]);
    err(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
