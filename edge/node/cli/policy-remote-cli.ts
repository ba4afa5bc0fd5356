/**
 * @module `stepgate policy pull|diff|push`: an app's policy as code. A team keeps the file in git,
 * reviews changes in pull requests, and pushes them with a personal API token; a push goes through
 * the gateway's own validation, weakening rule (a second person approves a weakening version) and
 * audit, exactly as an edit in the console does. Exit codes are part of the interface (scripts and
 * CI read them): diff 0 no change, 1 changes; push 0 active, 3 proposed; 2 any error.
 */
import { writeFileSync } from 'node:fs';
import { diffPolicies, describeDiffEntry, type DiffOp } from '../../policy/policy-diff';
import type { Policy } from '../../policy/schema';
import { formatProblem, parsePolicy, PolicyError } from '../../policy/validate-policy';
import { classifyChange } from '../../policy/weakening';
import { AdminError, CONNECTION_OPTIONS, connect, type Connection, orgOf, when } from './admin-client';
import { readText, str, UsageError, type Command, type Io, type OptionSpec, type Parsed } from './args';
import { consolePolicyUrl, fetchActive, pushVersion } from './policy-remote';

/** Any failure: a usage error, an invalid file, a refusal, an unreachable gateway. */
export const EXIT_ERROR = 2;
/** `push`: the version weakens protection and waits for a second owner or admin. */
export const EXIT_PROPOSED = 3;

const REMOTE_OPTIONS: Record<string, OptionSpec> = {
  app: { type: 'string', value: 'ID', help: 'the app (its id, as `stepgate admin apps list` shows; `bundled` is the deployment’s own)' },
  edge: CONNECTION_OPTIONS.edge!,
  token: CONNECTION_OPTIONS.token!,
  org: CONNECTION_OPTIONS.org!,
};

const DETAILS =
  'Needs --edge (or STEPGATE_EDGE) and a personal API token (--token or STEPGATE_TOKEN) made in the console: ' +
  'admin:read to pull and diff, admin:write to push.';

/** What a remote command has once its options are checked. */
interface Remote {
  args: Parsed;
  io: Io;
  c: Connection;
  app: string;
  org: () => Promise<string>;
}

/** A `policy` command that talks to the gateway: every failure is one line (or a problem list) and exit 2. */
function remote(cmd: Omit<Command, 'run' | 'details'> & { details: string; work: (r: Remote) => Promise<number> }): Command {
  const { work, ...rest } = cmd;
  return {
    ...rest,
    details: `${cmd.details}\n${DETAILS}`,
    async run(args, io) {
      const c = connect(args.values, io.env);
      const app = str(args.values, 'app');
      if (!app) throw new UsageError('--app ID is required (`stepgate admin apps list` lists them)');
      try {
        return await work({ args, io, c, app, org: () => orgOf(c, args.values) });
      } catch (e) {
        if (e instanceof UsageError) throw e;
        const problems = (e instanceof AdminError ? (e.body as { problems?: unknown } | undefined)?.problems : undefined) ?? [];
        if (Array.isArray(problems) && problems.length) {
          io.err(`stepgate ${cmd.name}: the gateway refused the policy:`);
          for (const p of problems) io.err(`  ${String(p)}`);
        } else io.err(`stepgate ${cmd.name}: ${e instanceof Error ? e.message : String(e)}`);
        return EXIT_ERROR;
      }
    },
  };
}

/** The policy FILE, validated here as `stepgate policy check` does; null after printing its problems. */
function localPolicy(args: Parsed, io: Io, what: string): { file: string; document: unknown; policy: Policy } | null {
  const file = args.positionals[0];
  if (!file) throw new UsageError('a policy FILE is required');
  const text = readText(file, io.err);
  if (text === null) return null;
  try {
    const policy = parsePolicy(text, file);
    return { file, document: JSON.parse(text) as unknown, policy };
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    for (const p of e.problems) io.err(formatProblem(p));
    io.err(`${e.problems.length} problem(s); ${what}.`);
    return null;
  }
}

const versionName = (v: number | null, app: string): string => `${v === null ? 'the active version' : `version ${v}`} of app ${app}`;

const pull = remote({
  name: 'policy pull',
  synopsis: ['--app ID [-o FILE] [--org ORG] [--edge URL]'],
  summary: 'Write an app’s active policy to FILE (or print it), to keep in git; says which version it is.',
  details:
    'The document is written as the gateway stores it, as pretty JSON.\n' +
    'Without -o it goes to standard output and the line naming its version to standard error, so `pull > FILE` keeps only the policy.',
  options: { ...REMOTE_OPTIONS, out: { type: 'string', short: 'o', value: 'FILE', help: 'write the policy to FILE (replacing it)' } },
  positionals: 0,
  async work({ args, io, c, app, org }) {
    const a = await fetchActive(c, await org(), app);
    const what = `${versionName(a.version, app)} (${a.hash}, saved ${when(a.updatedAt)} by ${a.updatedBy ?? 'configuration'})`;
    const doc = JSON.stringify(a.document, null, 2);
    const out = str(args.values, 'out');
    if (out === undefined) {
      io.out(doc);
      io.err(`pulled ${what}`);
    } else {
      writeFileSync(out, `${doc}\n`);
      io.out(`wrote ${what} to ${out}`);
    }
    return 0;
  },
});

const MARK: Record<DiffOp, string> = { added: '+', removed: '-', changed: '~', moved: '~' };

const diff = remote({
  name: 'policy diff',
  synopsis: ['FILE --app ID [--org ORG] [--edge URL]'],
  summary: 'Show how FILE differs from the app’s active policy, and whether it weakens protection; exit 0 no change, 1 changes.',
  details:
    'Exit codes: 0 no change, 1 FILE differs (pushing it makes a new version), 2 an error (an invalid FILE, a refusal).\n' +
    'A change that weakens protection is listed with the reasons: pushed, it waits for a second owner or admin.',
  options: REMOTE_OPTIONS,
  positionals: 1,
  async work({ args, io, c, app, org }) {
    const local = localPolicy(args, io, 'nothing was compared');
    if (!local) return EXIT_ERROR;
    const a = await fetchActive(c, await org(), app);
    const entries = diffPolicies(a.policy, local.policy);
    if (entries.length === 0) {
      io.out(`no change: ${local.file} is ${versionName(a.version, app)}`);
      return 0;
    }
    io.out(`${local.file} against ${versionName(a.version, app)}, the active one:`);
    for (const e of entries) io.out(`  ${MARK[e.op]} ${describeDiffEntry(e)}`);
    const change = classifyChange(a.policy, local.policy);
    if (change.weakens) {
      io.out('weakens protection: pushed, it waits for a second owner or admin to approve it, because');
      for (const ch of change.changes.filter((x) => x.kind === 'weakens')) io.out(`  - ${ch.message}`);
    } else io.out(`${change.strengthens ? 'strengthens' : 'neither weakens nor strengthens'} protection: pushed, it is active at once`);
    return 1;
  },
});

const push = remote({
  name: 'policy push',
  synopsis: ['FILE --app ID [-m COMMENT] [--canary PERCENT] [--org ORG] [--edge URL]'],
  summary: 'Make FILE the app’s new policy version: active at once (exit 0), or a proposal when it weakens protection (exit 3).',
  details:
    'FILE is checked here first (the problems `stepgate policy check` lists) and nothing is sent if it is invalid; then the\n' +
    'gateway checks it again, classifies it and records it in the audit log. A version that weakens protection is only a\n' +
    'proposal until a second owner or admin approves it in the console after a fresh step-up.\n' +
    'Exit codes: 0 active, 3 proposed (waiting for a second person), 2 an error (nothing changed).',
  options: {
    ...REMOTE_OPTIONS,
    message: { type: 'string', short: 'm', value: 'COMMENT', help: 'why: kept with the version (at most 500 characters)' },
    canary: { type: 'string', value: 'PERCENT', help: 'enforce it first for PERCENT (1-99) of people, the same people each time' },
  },
  positionals: 1,
  async work({ args, io, c, app, org }) {
    const comment = str(args.values, 'message') ?? '';
    if (comment.length > 500) throw new UsageError(`-m: at most 500 characters (got ${comment.length})`);
    const canary = str(args.values, 'canary');
    // Checked here, so a typo never turns a canary into a change for everyone.
    if (canary !== undefined && !/^[1-9]\d?$/.test(canary))
      throw new UsageError(`--canary: a whole percentage from 1 to 99 (got "${canary}"); for everyone, leave --canary out`);
    const local = localPolicy(args, io, 'nothing was pushed');
    if (!local) return EXIT_ERROR;
    const orgId = await org();
    const r = await pushVersion(c, orgId, app, {
      policy: local.document,
      comment,
      ...(canary === undefined ? {} : { canary_percent: Number(canary) }),
    });
    const page = consolePolicyUrl(c, orgId, app);
    if (r.state === 'proposed') {
      io.out(`proposed as version ${r.version}: a second owner or admin must approve it (weakens: ${r.weakens.join(' ') || 'protection'})`);
      io.out(`approve or reject it at ${page}`);
      return EXIT_PROPOSED;
    }
    io.out(
      canary === undefined
        ? `active as version ${r.version}`
        : `active as version ${r.version} for ${canary}% of people (a canary: widen it or roll back at ${page})`,
    );
    return 0;
  },
});

export const POLICY_REMOTE_COMMANDS: Command[] = [pull, diff, push];
