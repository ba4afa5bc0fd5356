/** An approval request (dual control) as a Stepgate site sends it, for the extension's tests: well formed, changed by `over`. */
import type { ApprovalJson } from '../../shared/wire-shapes';

export const FIXTURE_NOW = Date.parse('2026-12-01T12:00:00Z');

export function approval(
  over: Partial<Omit<ApprovalJson, 'you'>> & { you?: Partial<ApprovalJson['you']> } = {},
  site = 'http://localhost:8787',
): ApprovalJson {
  const id = over.id ?? 'apr_default_000000000';
  const { you, ...rest } = over;
  return {
    id,
    state: 'pending',
    app: { id: 'bundled', name: 'Demo projects' },
    rule: 'delete-project',
    rule_description: 'Deleting a project needs an admin’s approval.',
    action: {
      method: 'DELETE',
      host: new URL(site).host,
      path: '/api/projects/7',
      query: '',
      bodySha256: '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU',
    },
    matched_method: 'DELETE',
    body: null,
    requester: 'alice',
    requested_from: { page: site, ip: '127.0.0.1', user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0' },
    justification: 'Customer asked for it (ticket 4411).',
    created_at: new Date(FIXTURE_NOW - 60_000).toISOString(),
    expires_at: new Date(FIXTURE_NOW + 3_600_000).toISOString(),
    closed_at: null,
    required: [{ from: 'admins', kind: 'role', count: 1, have: 0 }],
    votes: [],
    status_url: `/.stepgate/api/approvals/${id}`,
    page_url: `/.stepgate/approvals/${id}`,
    ...rest,
    you: { requester: false, can_approve: true, voted: null, why_not: null, ...you },
  };
}
