/**
 * @module The `stepgate` command line: policy tools for app owners, audit export and verification,
 * the keyring's life cycle, administration with a personal token, and the production check. Every command and group answers `--help`
 * (standard output, exit 0); a wrong call prints one line of reason and that command's usage
 * (standard error, exit 2); a refusal or invalid input exits 1.
 */
import { readFileSync } from 'node:fs';
import { ADMIN_COMMANDS } from './admin-cli';
import { ADMIN_REPORT_COMMANDS } from './admin-reports-cli';
import { helpText, parseCommand, UsageError, usageLines, wantsHelp, type Command, type Io, type Out } from './args';
import { AUDIT_COMMANDS } from './audit-cli';
import { DOCTOR_COMMAND } from './doctor-cli';
import { KEYS_COMMANDS } from './keys-cli';
import { POLICY_COMMANDS } from './policy-cli';

/** Every command, in the order of the help. A test asks each one for `--help`. */
export const COMMANDS: readonly Command[] = [
  ...POLICY_COMMANDS,
  ...AUDIT_COMMANDS,
  ...KEYS_COMMANDS,
  ...ADMIN_COMMANDS,
  ...ADMIN_REPORT_COMMANDS,
  DOCTOR_COMMAND,
];

/** The command groups (`policy`, `audit`, `keys`, `admin`): the first word of commands with more. */
export const GROUPS: readonly string[] = [...new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]!))];

/** Every group at any depth (`admin`, `admin apps`): the words that lead to more than one command. */
const ALL_GROUPS: ReadonlySet<string> = new Set(
  COMMANDS.flatMap((c) => {
    const w = c.name.split(' ');
    return w.slice(1).map((_, i) => w.slice(0, i + 1).join(' '));
  }),
);

const GROUP_SUMMARY: Record<string, string> = {
  policy: "check and test a policy file; pull, diff and push an app's live policy on a gateway",
  audit: 'export and verify the audit log',
  keys: 'the keyring (STEPGATE_KEYS): generate, rotate, retire, status, and .dev.vars',
  admin: "the admin API with a personal token: apps, policies, roles, people, the dashboard (as the token's owner)",
  'admin apps': "the organisation's apps: list, show, create, update, delete",
  'admin policy': "an app's policy: get it, put it back",
  'admin roles': 'who holds which role',
  'admin people': 'a person: factors, lockout, roles, tokens, recovery',
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
    '            policy pull, diff and push: 0 done (diff: no change), 1 diff: the file differs, 2 any error,',
    '            3 push: proposed, waiting for a second person.',
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
  const [first] = argv;
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
  // The command whose words start the line, the longest first (`admin apps list` before `admin apps`).
  const cmd = COMMANDS.filter((c) => c.name.split(' ').every((w, i) => argv[i] === w)).sort((x, y) => y.name.length - x.name.length)[0];
  if (!cmd) {
    let depth = 0;
    while (depth < argv.length && ALL_GROUPS.has(argv.slice(0, depth + 1).join(' '))) depth++;
    if (depth > 0) {
      const group = argv.slice(0, depth).join(' ');
      const next = argv[depth];
      if (next === undefined) return usage(`stepgate ${group}`, 'a command is required', [groupHelp(group)]);
      if (next === '--help' || next === '-h') {
        out(groupHelp(group));
        return 0;
      }
      return usage(`stepgate ${group}`, `unknown command "${next}"`, [groupHelp(group)]);
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
