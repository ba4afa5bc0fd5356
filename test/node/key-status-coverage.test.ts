/**
 * `stepgate keys status` must count every value Stepgate stores under a key id, or "old key unused"
 * would not mean unused. Every call that makes such a value — `seal(`, `sealOwner(`, `blindIndex(`,
 * `signCheckpoint(` — is listed here with the column it writes, and every column must be one that
 * `keyStatus` counts (KEYED_COLUMNS). A new call site, or a new keyed-looking column in a migration,
 * fails this test until it is counted (and re-encrypted) or said why not.
 * (test/edge/key-rotation.test.ts also scans a live D1 for values that name a key id.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEYED_COLUMNS } from '../../edge/audit/key-status';
import { ROOT } from '../support/miniflare-gateway';

/** Written nowhere Stepgate keeps: why such a call site is not counted. */
const NOT_STORED = {
  held: 'not stored in D1: a held request lives sealed in the person’s Durable Object for at most 10 minutes (keys status says so)',
  userHandle: 'not stored: the WebAuthn user handle, kept by the authenticator and never looked up',
  lookup: 'not stored: computed to compare with stored indexes',
  sealOwner: 'the body of sealOwner: its callers below name the column',
  canaryBucket: 'not stored: a person’s canary bucket, computed per request (edge/request-path/canary-policy.ts)',
  streamCursor:
    'not stored: the MAC of an audit stream cursor, held by the client and checked when it comes back (edge/audit/stream-cursor.ts)',
  reportPerson:
    'stored without its key id (policy_report_counts.person_hash), needing no key: only compared with itself to count ' +
    'distinct people, never opened or looked up, pruned after 7 days (edge/policy/report-counter.ts)',
};
const OWNERS = ['totp_factors.sub_sealed', 'webauthn_credentials.sub_sealed', 'recovery_codes.sub_sealed'];

/**
 * Each call site (file, then the call with whitespace collapsed) → what each of its occurrences
 * writes: KEYED_COLUMNS names, or a NOT_STORED reason (in the list too, when one call writes a column and something kept elsewhere).
 */
const CALL_SITES: Record<string, (string[] | string)[]> = {
  "edge/audit/stream-cursor.ts: blindIndex(ring, 'audit-cursor', payload)": [NOT_STORED.streamCursor],
  "edge/audit/stream-cursor.ts: blindIndex(ring, 'audit-cursor', payload, kid)": [NOT_STORED.streamCursor],
  "edge/admin/api-tokens.ts: blindIndex(ring, 'user', sub)": [['api_tokens.user_ref']],
  "edge/admin/api-tokens.ts: seal(ring, 'factor-metadata', sub, apiTokenOwnerAad(id))": [['api_tokens.sub_sealed']],
  "edge/admin/api-tokens.ts: seal(ring, 'factor-metadata', o.label, apiTokenLabelAad(id))": [['api_tokens.label']],
  // Administration (issue 12): role grants and who saved an app's policy.
  "edge/admin/role-store.ts: blindIndex(ring, 'user', g.sub)": [['role_grants.person_ref']], // grantColumns (grants, bootstrap)
  "edge/admin/role-store.ts: seal(ring, 'factor-metadata', g.sub, roleGrantPersonAad(g.id, g.orgId, g.appId ?? '', g.role))": [
    ['role_grants.person_sealed'],
  ],
  "edge/admin/role-store.ts: seal(ring, 'factor-metadata', g.grantedBy, roleGrantGrantorAad(g.id))": [['role_grants.granted_by']],
  "edge/admin/app-store.ts: seal(ring, 'factor-metadata', o.createdBy, appPolicyEditorAad(id, policy.hash))": [
    ['app_policies.updated_by', 'policy_versions.author'],
  ],
  "edge/admin/app-store.ts: blindIndex(ring, 'user', o.createdBy)": [['policy_versions.author_ref']],
  "edge/admin/app-policy-store.ts: seal(ring, 'factor-metadata', o.by, appPolicyEditorAad(o.appId, checked.hash))": [
    ['app_policies.updated_by'],
  ],
  // Factor recovery (issue 12): the person, who started and who approved it, as indexes and sealed; and their re-keying.
  "edge/admin/policy-versions.ts: seal(ring, 'factor-metadata', o.by, appPolicyEditorAad(o.appId, checked.hash))": [
    ['policy_versions.author', 'app_policies.updated_by'],
  ],
  "edge/admin/policy-versions.ts: blindIndex(ring, 'user', o.by)": [['policy_versions.author_ref']],
  "edge/admin/policy-versions.ts: seal(ring, 'factor-metadata', o.by, appPolicyEditorAad(o.appId, v.hash))": [
    ['policy_versions.approved_by'],
  ],
  "edge/admin/recovery-store.ts: blindIndex(ring, 'user', o.person)": [['recoveries.person_ref']],
  "edge/admin/recovery-store.ts: seal(ring, 'factor-metadata', o.person, recoveryPersonAad(id, o.orgId))": [['recoveries.person_sealed']],
  "edge/admin/recovery-store.ts: blindIndex(ring, 'user', o.startedBy)": [['recoveries.started_by_ref']],
  "edge/admin/recovery-store.ts: seal(ring, 'factor-metadata', o.startedBy, recoveryActorAad(id, 'started-by'))": [
    ['recoveries.started_by'],
  ],
  "edge/admin/recovery-store.ts: blindIndex(ring, 'user', o.approvedBy)": [['recoveries.approved_by_ref']],
  "edge/admin/recovery-store.ts: seal(ring, 'factor-metadata', o.approvedBy, recoveryActorAad(o.id, 'approved-by'))": [
    ['recoveries.approved_by'],
  ],
  "edge/audit/recovery-reencryption.ts: blindIndex(keys, 'user', person)": [['recoveries.person_ref']],
  "edge/audit/recovery-reencryption.ts: seal(keys, 'factor-metadata', person, recoveryPersonAad(r.id, r.org_id))": [
    ['recoveries.person_sealed'],
  ],
  "edge/audit/recovery-reencryption.ts: blindIndex(keys, 'user', starter)": [['recoveries.started_by_ref']],
  "edge/audit/recovery-reencryption.ts: seal(keys, 'factor-metadata', starter, recoveryActorAad(r.id, 'started-by'))": [
    ['recoveries.started_by'],
  ],
  "edge/audit/recovery-reencryption.ts: blindIndex(keys, 'user', approver)": [['recoveries.approved_by_ref']],
  "edge/audit/policy-version-reencryption.ts: seal(keys, 'factor-metadata', await open(keys, 'factor-metadata', s, aad), aad)": [
    ['policy_versions.author', 'policy_versions.approved_by'],
  ],
  "edge/audit/policy-version-reencryption.ts: blindIndex(keys, 'user', author)": [['policy_versions.author_ref']],
  // Organisation baselines (issue 13): who saved one, who proposed its waiting change (an index and sealed); and their re-keying.
  "edge/admin/baseline-writes.ts: seal(ring, 'factor-metadata', o.by, baselineEditorAad(o.orgId, hash, 'saved-by'))": [
    ['org_policy_baselines.updated_by'], // the first baseline
    ['org_policy_baselines.updated_by'], // a change that does not weaken it
  ],
  "edge/admin/baseline-writes.ts: seal(ring, 'factor-metadata', o.by, baselineEditorAad(o.orgId, hash, 'proposed-by'))": [
    ['org_policy_baselines.proposed_by'],
  ],
  "edge/admin/baseline-writes.ts: blindIndex(ring, 'user', o.by)": [['org_policy_baselines.proposed_by_ref']],
  "edge/admin/baseline-writes.ts: seal(ring, 'factor-metadata', author, baselineEditorAad(o.orgId, row.proposed_hash, 'saved-by'))": [
    ['org_policy_baselines.updated_by'],
  ],
  "edge/audit/baseline-reencryption.ts: seal(keys, 'factor-metadata', await open(keys, 'factor-metadata', s, aad), aad)": [
    ['org_policy_baselines.updated_by', 'org_policy_baselines.proposed_by'],
  ],
  "edge/audit/baseline-reencryption.ts: blindIndex(keys, 'user', proposer)": [['org_policy_baselines.proposed_by_ref']],
  "edge/audit/recovery-reencryption.ts: seal(keys, 'factor-metadata', approver, recoveryActorAad(r.id, 'approved-by'))": [
    ['recoveries.approved_by'],
  ],
  // Organisation webhooks (issue 14): the URL, the signing secret and who set it, sealed; and their re-keying.
  "edge/notifications/webhook-store.ts: seal(ring, 'factor-metadata', o.url, webhookUrlAad(o.org))": [['org_webhooks.url']],
  "edge/notifications/webhook-store.ts: seal(ring, 'factor-metadata', secret, webhookSecretAad(o.org))": [['org_webhooks.secret']],
  "edge/notifications/webhook-store.ts: seal(ring, 'factor-metadata', o.by, webhookEditorAad(o.org))": [['org_webhooks.updated_by']],
  "edge/audit/webhook-reencryption.ts: seal(keys, 'factor-metadata', await open(keys, 'factor-metadata', sealed, aad), aad)": [
    ['org_webhooks.url', 'org_webhooks.secret', 'org_webhooks.updated_by'],
  ],
  "edge/factors/totp/totp-store.ts: blindIndex(ring, 'user', sub)": [['totp_factors.user_ref']], // createPendingTotp
  "edge/factors/recovery/recovery-code-store.ts: blindIndex(ring, 'user', sub)": [['recovery_codes.user_ref']], // issueRecoveryCodes
  "edge/factors/webauthn/passkey-store.ts: blindIndex(ring, 'user', sub)": [['webauthn_credentials.user_ref']], // addWebauthnCredential
  "edge/factors/invites/invite-store.ts: blindIndex(ring, 'user', sub)": [['enrolment_invites.user_ref']], // issueInvite
  "edge/factors/invites/invite-store.ts: blindIndex(ring, 'user', issuedBy)": [['enrolment_invites.issued_by']],
  "edge/factors/totp/totp-store.ts: seal(ring, 'totp-secret', secret, totpSecretAad(id, userRef))": [['totp_factors.secret']],
  "edge/crypto/encryption-context.ts: seal(ring, 'factor-metadata', sub, ownerAad(table, id))": [NOT_STORED.sealOwner],
  "edge/factors/totp/totp-store.ts: sealOwner(ring, 'totp_factors', id, sub)": [['totp_factors.sub_sealed']],
  "edge/factors/recovery/recovery-code-store.ts: sealOwner(ring, 'recovery_codes', await recoveryHashV2(c), sub)": [
    ['recovery_codes.sub_sealed'],
  ],
  "edge/factors/webauthn/passkey-store.ts: sealOwner(ring, 'webauthn_credentials', c.id, sub)": [['webauthn_credentials.sub_sealed']],
  "edge/factors/webauthn/passkey-store.ts: seal(ring, 'factor-metadata', c.nickname, passkeyNicknameAad(c.id, userRef))": [
    ['webauthn_credentials.nickname'],
  ],
  "edge/factors/webauthn/webauthn.ts: blindIndex(keys, 'user', me.sub)": [NOT_STORED.userHandle],
  // Report-only counts (issue 13): the person as a keyless hash, never re-keyed (reportPersonHash says why).
  "edge/policy/report-counter.ts: blindIndex(ring, 'policy-report', `${appId}\\0${sub}`, kid)": [NOT_STORED.reportPerson],
  // Canary buckets (issue 13): computed per request from the person's key, never stored (canary-policy.ts).
  'edge/request-path/canary-policy.ts: blindIndex(keys, `canary:${appId}`, personKey)': [NOT_STORED.canaryBucket],
  // sealRequest seals both a held navigation (sealHeld: the person's Durable Object, not D1) and the exact request of a
  // dual-control request (edge/request-path/dual-control.ts, AAD approvalAad(id, org, 'request')): one call, both.
  "edge/request-path/held-request.ts: seal(ring, 'held-request', JSON.stringify(wire), aad)": [
    [NOT_STORED.held, 'approval_requests.request'],
  ],
  // Dual control (issue 14): the requester and each approver as blind indexes under the request's key_id, and the
  // sealed parts; and their re-keying (edge/audit/approval-reencryption.ts), a request with all its votes.
  "edge/approvals/approval-flow.ts: blindIndex(d.keys, 'user', o.requesterSub, kid)": [['approval_requests.requester_ref']],
  "edge/approvals/approval-flow.ts: blindIndex(keys, 'user', sub, row.key_id)": [NOT_STORED.lookup], // isRequester
  "edge/approvals/approval-json.ts: blindIndex(ring, 'user', viewer.sub, row.key_id)": [NOT_STORED.lookup],
  "edge/endpoints/approval-list.ts: blindIndex(rt.keys, 'user', viewer.sub, row.key_id)": [NOT_STORED.lookup],
  // checkDecider: compared with requester_ref, then stored as the vote's approver_ref.
  "edge/approvals/approval-votes.ts: blindIndex(d.keys, 'user', me.sub, row.key_id)": [['approval_votes.approver_ref']],
  "edge/approvals/approval-records.ts: seal(ring, 'factor-metadata', JSON.stringify(v), approvalAad(id, orgId, 'view'))": [
    ['approval_requests.view'],
  ],
  "edge/approvals/approval-records.ts: seal(ring, 'factor-metadata', text, approvalAad(id, orgId, 'justification'))": [
    ['approval_requests.justification'],
  ],
  "edge/approvals/approval-records.ts: seal(ring, 'factor-metadata', JSON.stringify(v), approvalVoteAad(approvalId, approverRef))": [
    ['approval_votes.sealed'],
  ],
  'edge/audit/approval-reencryption.ts: seal(keys, purpose, await openBytes(keys, purpose, sealed, from), to)': [
    ['approval_requests.view', 'approval_requests.justification', 'approval_requests.request'],
  ],
  "edge/audit/approval-reencryption.ts: blindIndex(keys, 'user', view.requesterSub, row.key_id)": [NOT_STORED.lookup],
  "edge/audit/approval-reencryption.ts: blindIndex(keys, 'user', view.requesterSub)": [['approval_requests.requester_ref']],
  "edge/audit/approval-reencryption.ts: blindIndex(keys, 'user', sub, refKid(v.approver_ref))": [NOT_STORED.lookup],
  "edge/audit/approval-reencryption.ts: blindIndex(keys, 'user', sub)": [['approval_votes.approver_ref']],
  "edge/audit/approval-reencryption.ts: seal(keys, 'factor-metadata', record, approvalVoteAad(row.id, ref))": [['approval_votes.sealed']],
  'edge/audit/audit-chain.ts: blindIndex(ring, domain, value, kid)': [NOT_STORED.lookup],
  'edge/crypto/blind-index.ts: blindIndex(ring, domain, value, kid)': [NOT_STORED.lookup], // blindIndexes
  "edge/audit/audit-chain.ts: seal(ring, 'audit-encryption', JSON.stringify(event), auditEventAad(tenant, seq))": [['audit_events']],
  "edge/audit/audit-chain.ts: blindIndex(ring, 'user', event.actor)": [['audit_events.actor_ref']],
  "edge/audit/audit-chain.ts: blindIndex(ring, 'ip', event.request.ip)": [['audit_events.ip_ref']],
  // Re-encryption (reencryption.ts) writes the same columns again under the primary key.
  'edge/audit/reencryption.ts: signCheckpoint(keys, payload)': [['audit_checkpoints']],
  "edge/audit/reencryption.ts: blindIndex(keys, 'user', sub)": [
    ['totp_factors.user_ref', 'webauthn_credentials.user_ref', 'recovery_codes.user_ref'], // rekeyOwned
    ['api_tokens.user_ref'], // rekeyTokens
    ['role_grants.person_ref'], // rekeyRoleGrants
  ],
  "edge/audit/reencryption.ts: seal(keys, 'factor-metadata', sub, ownerAad(table, id))": [OWNERS],
  'edge/audit/reencryption.ts: seal(keys, purpose, value, aad(id, ref))': [['totp_factors.secret', 'webauthn_credentials.nickname']],
  "edge/audit/reencryption.ts: seal(keys, 'factor-metadata', sub, apiTokenOwnerAad(t.id))": [['api_tokens.sub_sealed']],
  "edge/audit/reencryption.ts: seal(keys, 'factor-metadata', label, apiTokenLabelAad(t.id))": [['api_tokens.label']],
  "edge/audit/reencryption.ts: seal(keys, 'factor-metadata', sub, roleGrantPersonAad(g.id, g.org_id, g.app_id, g.role))": [
    ['role_grants.person_sealed'],
  ],
  "edge/audit/reencryption.ts: seal(keys, 'factor-metadata', by, roleGrantGrantorAad(g.id))": [['role_grants.granted_by']],
  "edge/audit/reencryption.ts: seal(keys, 'factor-metadata', by, appPolicyEditorAad(a.app_id, a.hash))": [['app_policies.updated_by']],
  ['edge/audit/checkpoint-store.ts: signCheckpoint(ring, { tenant, seq: head.seq, hash: head.hash, ' +
    'time: new Date(now).toISOString(), kind })']: [['audit_checkpoints']],
};

const CALLEES = ['seal', 'sealOwner', 'blindIndex', 'signCheckpoint'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'generated' || e.name === 'client' ? [] : tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The text of a call starting at `open` (the index of its "("), up to the matching ")", strings and templates skipped. */
function callText(src: string, open: number): string {
  let depth = 0;
  let quote: string | null = null;
  for (let i = open; i < src.length; i++) {
    const c = src[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return src.slice(open, i + 1);
  }
  throw new Error('unbalanced call');
}

/** Every call of CALLEES in edge/ (not their definitions), as `file: name(args)`, one entry per occurrence. */
function callSites(): string[] {
  const out: string[] = [];
  for (const file of tsFiles(join(ROOT, 'edge'))) {
    const rel = relative(ROOT, file).replaceAll('\\', '/');
    // Comments out (they mention these calls in prose); a `//` inside a URL string is kept.
    const src = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
    for (const m of src.matchAll(new RegExp(`(?<![\\w.$])(${CALLEES.join('|')})\\(`, 'g'))) {
      const before = src.slice(Math.max(0, m.index - 16), m.index);
      if (/(function|const|export)\s*$/.test(before) || /function\s+$/.test(before)) continue; // a definition
      const text = `${m[1]}${callText(src, m.index + m[1]!.length)}`
        .replace(/\s+/g, ' ')
        .replace(/\( /g, '(')
        .replace(/,? \)/g, ')')
        .replace(/, \}/g, ' }');
      out.push(`${rel}: ${text}`);
    }
  }
  return out;
}

describe('keys status counts every keyed value', () => {
  const found = callSites();

  it('every seal( / sealOwner( / blindIndex( / signCheckpoint( call site is known, with the column it writes', () => {
    const counts = new Map<string, number>();
    for (const f of found) counts.set(f, (counts.get(f) ?? 0) + 1);
    const problems: string[] = [];
    for (const [site, n] of counts) {
      const known = CALL_SITES[site];
      if (!known)
        problems.push(
          `new: ${site} — count its column in KEYED_COLUMNS (edge/audit/key-status.ts), ` +
            're-encrypt it (edge/audit/reencryption.ts), and list it in CALL_SITES',
        );
      else if (known.length !== n) problems.push(`${site}: ${n} call(s), CALL_SITES lists ${known.length}`);
    }
    for (const site of Object.keys(CALL_SITES)) if (!counts.has(site)) problems.push(`gone: ${site} (remove it from CALL_SITES)`);
    expect(problems).toEqual([]);
  });

  it('every column a call site writes is counted by keyStatus, and keyStatus counts nothing no call writes', () => {
    const names = new Set(KEYED_COLUMNS.map((c) => c.name));
    const reasons = new Set<string>(Object.values(NOT_STORED));
    // An occurrence's list may also hold a NOT_STORED reason, when one call writes a column and something kept elsewhere.
    const all = Object.values(CALL_SITES).flatMap((occ) => occ.flatMap((w) => (typeof w === 'string' ? [w] : w)));
    const written = new Set(all.filter((w) => !reasons.has(w)));
    expect([...written].filter((n) => !names.has(n))).toEqual([]);
    expect([...names].filter((n) => !written.has(n))).toEqual([]);
    expect(reasons).toEqual(new Set(all.filter((w) => reasons.has(w))));
  });

  it('every counted column exists in the migrations, and every keyed-looking column there is counted', () => {
    const sql = readdirSync(join(ROOT, 'edge/migrations'))
      .filter((f) => f.endsWith('.sql'))
      .map((f) => readFileSync(join(ROOT, 'edge/migrations', f), 'utf8').replace(/--.*$/gm, ''))
      .join('\n');
    const columns = new Set<string>();
    for (const m of sql.matchAll(/CREATE TABLE IF NOT EXISTS (\w+) \(([^;]*)\)[^;]*;/g)) {
      for (const line of m[2]!.split(',')) {
        const col = /^\s*(\w+)\s+(TEXT|INTEGER|BLOB|REAL)\b/.exec(line);
        if (col) columns.add(`${m[1]}.${col[1]}`);
      }
    }
    for (const m of sql.matchAll(/ALTER TABLE (\w+) ADD COLUMN (\w+)/g)) columns.add(`${m[1]}.${m[2]}`);
    const counted = new Set(KEYED_COLUMNS.flatMap((c) => [`${c.table}.${c.column}`, ...(c.names ? [`${c.table}.${c.names}`] : [])]));
    expect([...counted].filter((c) => !columns.has(c))).toEqual([]);
    // Sealed values, blind indexes (`*_ref`, `issued_by`) and key ids, by their names.
    const keyedLooking = [...columns].filter((c) => /\.(\w+_sealed|sealed|\w+_ref|issued_by|kid|label)$/.test(c));
    expect(keyedLooking.filter((c) => !counted.has(c))).toEqual([]);
  });
});
