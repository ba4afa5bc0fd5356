/** @module The `stepgate` command line: policy tools for app owners, audit export and verification, and the keyring's life cycle. */
import { writeFileSync } from 'node:fs';
import { canonicalizeRequest } from '../policy/canonical-request';
import { compilePolicy } from '../policy/compile-policy';
import { policyJsonSchema } from '../policy/schema';
import { formatProblem, parsePolicy, PolicyError } from '../policy/validate-policy';
import { StepgateError } from '../errors';
import { readText, UsageError } from './args';
import { AUDIT_USAGE, auditMain } from './audit-cli';
import { KEYS_USAGE, keysMain } from './keys-cli';

const USAGE = `Usage:
  stepgate policy check FILE               validate a policy file
  stepgate policy test FILE "METHOD URL"   which rule matches a request (URL: /path or https://host/path)
  stepgate policy schema [OUT]             print (or write) the policy JSON Schema
${AUDIT_USAGE}
${KEYS_USAGE}`;

type Out = (line: string) => void;

/** Run the CLI; returns the exit code (0 ok, 1 refused/invalid, 2 usage). */
export async function main(argv: string[], out: Out = console.log, err: Out = console.error): Promise<number> {
  const [group, cmd, ...rest] = argv;
  if (group === 'audit' || group === 'keys') {
    try {
      return await (group === 'audit' ? auditMain : keysMain)(argv.slice(1), out, err);
    } catch (e) {
      if (e instanceof UsageError) {
        err(`stepgate ${group}: ${e.message}`);
        err(USAGE);
        return 2;
      }
      err(`stepgate ${group}: ${e instanceof Error ? e.message : String(e)}`);
      return 1;
    }
  }
  if (group !== 'policy' || !cmd) {
    err(USAGE);
    return 2;
  }
  if (cmd === 'schema') {
    const text = JSON.stringify(policyJsonSchema(), null, 2) + '\n';
    if (rest[0]) writeFileSync(rest[0], text);
    else out(text.trimEnd());
    return 0;
  }
  const file = rest[0];
  if (!file || (cmd !== 'check' && cmd !== 'test') || (cmd === 'test' && !rest[1])) {
    err(USAGE);
    return 2;
  }
  const text = readText(file, err);
  if (text === null) return 1;
  let policy;
  try {
    policy = compilePolicy(parsePolicy(text, file));
  } catch (e) {
    if (e instanceof PolicyError) {
      for (const p of e.problems) err(formatProblem(p));
      err(`${e.problems.length} problem(s); the gateway refuses to start with this policy.`);
      return 1;
    }
    throw e;
  }
  if (cmd === 'check') {
    out(`${file}: ok — ${policy.rules.length} rule(s): ${policy.rules.map((r) => r.id).join(', ') || '(none)'}`);
    const named = policy.rules.filter((r) => r.source.match.host !== undefined);
    if (named.length && !policy.policy.hosts) {
      out(`warning: rule(s) ${named.map((r) => r.id).join(', ')} name a host but "hosts" is not set; requests for other hosts pass through unprotected to ORIGIN_URL.`);
    }
    return 0;
  }
  const m = /^\s*([A-Za-z]+)\s+(\S+)\s*$/.exec(rest[1]!);
  if (!m) {
    err('request: expected "METHOD /path" or "METHOD https://host/path"');
    return 2;
  }
  const url = /^https?:\/\//i.test(m[2]!) ? m[2]! : `https://app.invalid${m[2]!.startsWith('/') ? '' : '/'}${m[2]}`;
  try {
    const c = canonicalizeRequest(m[1]!, url, new Headers(), { caseSensitive: policy.caseSensitive, allowPathInfo: policy.policy.allowPathInfo ?? false });
    out(`canonical: ${c.method} ${c.host}${c.path}${c.query ? `?${c.query}` : ''}`);
    if (!policy.servesHost(c.hostname)) {
      out('refused: 421, this gateway does not serve that host');
      return 0;
    }
    const hit = policy.match(c.hostname, c.methods, c.matchSegments);
    if (!hit) out('no rule matches: passes through to the origin');
    else {
      const r = hit.rule;
      out(`rule: ${r.id} (bind: ${r.bind}, factors: ${r.factors.join(' or ')}, max age: ${r.maxAgeSeconds}s${hit.method !== c.method ? `, matched as ${hit.method}` : ''})`);
    }
    return 0;
  } catch (e) {
    if (e instanceof StepgateError) {
      out(`refused: ${e.status} ${e.code}: ${e.message}`);
      return 0;
    }
    throw e;
  }
}
