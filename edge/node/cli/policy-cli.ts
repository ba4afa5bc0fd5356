/**
 * @module `stepgate policy check|test|schema`: what app owners run before deploying a policy; with
 * `pull|diff|push` (policy-remote-cli.ts) for an app's live policy on a gateway.
 */
import { writeFileSync } from 'node:fs';
import { StepgateError } from '../../http/stepgate-error';
import { canonicalizeRequest } from '../../policy/canonical-request';
import { compilePolicy, type CompiledPolicy } from '../../policy/compile-policy';
import { policyJsonSchema } from '../../policy/schema';
import { formatProblem, parsePolicy, PolicyError } from '../../policy/validate-policy';
import { readText, str, UsageError, type Command, type Io, type Parsed } from './args';
import { POLICY_REMOTE_COMMANDS } from './policy-remote-cli';

const FILE = { type: 'string', value: 'FILE', help: 'the policy file (or give it as the first argument)' } as const;
const JSON_OUT = { type: 'boolean', help: 'print the result as JSON' } as const;

/** The policy file: `--file FILE` or the first positional. */
function policyFile(a: Parsed): { file: string; rest: string[] } {
  const file = str(a.values, 'file');
  if (file !== undefined) return { file, rest: a.positionals };
  const [first, ...rest] = a.positionals;
  if (!first) throw new UsageError('a policy FILE is required');
  return { file: first, rest };
}

/** Load and compile a policy, or print its problems (as JSON on stdout with `json`) and return null. */
function load(file: string, io: Io, json = false): CompiledPolicy | null {
  const text = readText(file, io.err);
  if (text === null) return null;
  try {
    return compilePolicy(parsePolicy(text, file));
  } catch (e) {
    if (e instanceof PolicyError) {
      if (json) io.out(JSON.stringify({ file, ok: false, problems: e.problems.map(formatProblem) }));
      for (const p of e.problems) io.err(formatProblem(p));
      io.err(`${e.problems.length} problem(s); the gateway refuses to start with this policy.`);
      return null;
    }
    throw e;
  }
}

const check: Command = {
  name: 'policy check',
  synopsis: ['FILE [--json]', '--file FILE [--json]'],
  summary: 'Validate a policy file: every problem with its rule and field; exit 1 if there is any.',
  options: { file: FILE, json: JSON_OUT },
  positionals: 1,
  async run(a, io) {
    const { file, rest } = policyFile(a);
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const policy = load(file, io, a.values.json === true);
    if (!policy) return 1;
    const named = policy.rules.filter((r) => r.source.match.host !== undefined);
    const warning =
      named.length && !policy.policy.hosts
        ? `rule(s) ${named.map((r) => r.id).join(', ')} name a host but "hosts" is not set; ` +
          `requests for other hosts pass through unprotected to ORIGIN_URL.`
        : null;
    if (a.values.json) {
      io.out(JSON.stringify({ file, ok: true, rules: policy.rules.map((r) => r.id), warnings: warning ? [warning] : [] }));
      return 0;
    }
    io.out(`${file}: ok — ${policy.rules.length} rule(s): ${policy.rules.map((r) => r.id).join(', ') || '(none)'}`);
    if (warning) io.out(`warning: ${warning}`);
    return 0;
  },
};

const test: Command = {
  name: 'policy test',
  synopsis: ['FILE "METHOD URL" [--json]', '--file FILE "METHOD URL" [--json]'],
  summary: 'Show which rule a request matches, after the same canonicalization the gateway applies.',
  details:
    'URL is a path (/api/projects/7) or an absolute URL (https://app.example.com/api/projects/7).\n' +
    'Only enforced rules are shown: a report-only rule ("mode": "report") never challenges, so the request passes.\n' +
    'Example: stepgate policy test edge/config/policy.json "DELETE /api/projects/7"',
  options: { file: FILE, json: JSON_OUT },
  positionals: 2,
  async run(a, io) {
    const { file, rest } = policyFile(a);
    if (rest.length !== 1) throw new UsageError(rest.length ? `unexpected argument "${rest[1]}"` : 'a request "METHOD URL" is required');
    const m = /^\s*([A-Za-z]+)\s+(\S+)\s*$/.exec(rest[0]!);
    if (!m) throw new UsageError('request: expected "METHOD /path" or "METHOD https://host/path"');
    const policy = load(file, io);
    if (!policy) return 1;
    const lines: string[] = [];
    const result: Record<string, unknown> = {};
    const url = /^https?:\/\//i.test(m[2]!) ? m[2]! : `https://app.invalid${m[2]!.startsWith('/') ? '' : '/'}${m[2]}`;
    try {
      const c = canonicalizeRequest(m[1]!, url, new Headers(), {
        caseSensitive: policy.caseSensitive,
        allowPathInfo: policy.policy.allowPathInfo ?? false,
      });
      result.canonical = `${c.method} ${c.host}${c.path}${c.query ? `?${c.query}` : ''}`;
      lines.push(`canonical: ${result.canonical as string}`);
      if (!policy.servesHost(c.hostname)) {
        result.refused = { status: 421, detail: 'this gateway does not serve that host' };
        lines.push('refused: 421, this gateway does not serve that host');
      } else {
        const hit = policy.match(c.hostname, c.methods, c.matchSegments);
        if (!hit) {
          result.rule = null;
          lines.push('no rule matches: passes through to the origin');
        } else {
          const r = hit.rule;
          result.rule = { id: r.id, bind: r.bind, factors: r.factors, maxAgeSeconds: r.maxAgeSeconds, matchedAs: hit.method };
          lines.push(
            `rule: ${r.id} (bind: ${r.bind}, factors: ${r.factors.join(' or ')}, ` +
              `max age: ${r.maxAgeSeconds}s${hit.method !== c.method ? `, matched as ${hit.method}` : ''})`,
          );
        }
      }
    } catch (e) {
      if (!(e instanceof StepgateError)) throw e;
      result.refused = { status: e.status, code: e.code, detail: e.message };
      lines.push(`refused: ${e.status} ${e.code}: ${e.message}`);
    }
    if (a.values.json) io.out(JSON.stringify(result));
    else for (const l of lines) io.out(l);
    return 0;
  },
};

const schema: Command = {
  name: 'policy schema',
  synopsis: ['[OUT]', '--out FILE'],
  summary: 'Print the policy JSON Schema, or write it to a file (also served at /.stepgate/api/policy.schema.json).',
  options: { out: { type: 'string', value: 'FILE', help: 'write it to FILE (or give FILE as the argument)' } },
  positionals: 1,
  async run(a, io) {
    if (str(a.values, 'out') !== undefined && a.positionals.length) throw new UsageError(`unexpected argument "${a.positionals[0]}"`);
    const out = str(a.values, 'out') ?? a.positionals[0];
    const text = `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
    if (out) writeFileSync(out, text);
    else io.out(text.trimEnd());
    return 0;
  },
};

export const POLICY_COMMANDS: Command[] = [check, test, schema, ...POLICY_REMOTE_COMMANDS];
