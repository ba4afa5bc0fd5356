/**
 * @module The OpenAPI paths of dual control (docs/approvals.md): the requests waiting for the caller,
 * one request, the approver's step-up (answering it approves), deny, cancel, the requester's reason,
 * carrying an approved request out from its page, and the keys that verify approval statements.
 */
import { jsonBody, op, pathParam, responses, str, type Paths } from './openapi-builders';

const APPROVAL =
  '`{id, state, app, rule, rule_description, action, matched_method, body, requester, requested_from, justification, ' +
  'created_at, expires_at, closed_at, required: [{from, kind, count, have}], votes: [{person, vote, at, factor, reason}], ' +
  'you: {requester, can_approve, voted, why_not}, status_url, page_url}` (`ApprovalJson`)';
/** An empty JSON object, or no body at all. */
const NO_BODY = { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false } } } };

export const approvalPaths: Paths = {
  '/.stepgate/approvals': {
    get: op('Your approvals (HTML): requests waiting for your decision, and your own requests', responses({ '200': 'HTML page' }, 401)),
  },
  '/.stepgate/approvals/{id}': {
    get: op(
      'One request for approval (HTML): what it is, who must approve, the live state; approve, deny, cancel or carry it out',
      responses({ '200': 'HTML page' }, 401, 404),
      { parameters: [pathParam()] },
    ),
  },
  '/.stepgate/api/approvals': {
    get: op(
      'Requests waiting for your approval, and your own requests (the extension polls this)',
      responses({ '200': `\`{awaiting_you: [...], yours: [...]}\`, each ${APPROVAL}` }, 400, 401),
      {
        description:
          'People of the app’s organisation. `awaiting_you`: pending requests one of whose approver groups you are in, that you did ' +
          'not ask for and have not decided on. `yours`: your requests, newest first. At most 50 each.',
      },
    ),
  },
  '/.stepgate/api/approvals/{id}': {
    get: op(
      'One request for approval: what it is, who must approve, who has, and what you may do',
      responses({ '200': APPROVAL }, 400, 401, 404),
      {
        description:
          'For the requester, the people who may decide on it, and the organisation’s owners, admins and auditors; 404 for anyone else.',
        parameters: [pathParam()],
      },
    ),
  },
  '/.stepgate/api/approvals/{id}/step-up': {
    post: op(
      'Approvers: open your own step-up for this request; answering it (`POST /.stepgate/api/challenges/{id}/verify`) approves',
      responses({ '201': '`{challenge_id, challenge_url, factors}`' }, 400, 401, 403, 404, 409, 413, 415, 429),
      {
        description:
          'A passkey where you have one (`factors` is then `["webauthn"]`). Never the requester (403 `ERR_APPROVAL_SELF`, from any ' +
          'session, token or role), only people of the rule’s approver groups (403 `ERR_APPROVAL_NOT_ELIGIBLE`), only while pending ' +
          '(409). The verify answer carries `approval`, the request as it now stands; approving is audited as `approval.approved` ' +
          'with Stepgate’s signed statement of what was approved.',
        parameters: [pathParam()],
        requestBody: NO_BODY,
      },
    ),
  },
  '/.stepgate/api/approvals/{id}/deny': {
    post: op(
      'Approvers: deny the request (it is closed and never forwarded)',
      responses({ '200': APPROVAL }, 400, 401, 403, 404, 409, 413, 415),
      {
        description:
          'No step-up: denying is a safety action. An optional reason (at most 500 characters) is shown to the requester. ' +
          'Audited as `approval.denied`.',
        parameters: [pathParam()],
        requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: { reason: str } } } } },
      },
    ),
  },
  '/.stepgate/api/approvals/{id}/cancel': {
    post: op(
      'The requester: cancel your waiting (or approved, not yet carried out) request',
      responses({ '200': APPROVAL }, 400, 401, 404, 409, 413, 415),
      {
        description: 'Audited as `approval.cancelled`.',
        parameters: [pathParam()],
        requestBody: NO_BODY,
      },
    ),
  },
  '/.stepgate/api/approvals/{id}/justification': {
    post: op('The requester: say why (once, while nobody has decided)', responses({ '200': APPROVAL }, 400, 401, 404, 409, 413, 415), {
      description: 'At most 500 characters; shown to approvers with the request.',
      parameters: [pathParam()],
      requestBody: jsonBody(['text'], { text: str }),
    }),
  },
  '/.stepgate/approvals/{id}/carry-out': {
    post: op(
      'The requester’s page: carry out the approved request, once (a form POST from the page; answered by the app itself)',
      responses(
        {
          '200': 'the app’s own answer to the exact request that waited',
          '303': 'back to the request’s page when it cannot be carried out',
        },
        403,
      ),
      {
        description: 'Same origin, the session that asked. The app gets a `Stepgate-Assertion` naming the requester and every approver.',
        parameters: [pathParam()],
      },
    ),
  },
  '/.well-known/stepgate/approval-jwks.json': {
    get: op(
      'The public keys that verify approval statements (`approval.approved` `details.signature`), retired key ids included',
      responses({ '200': '`{keys: [...]}`' }),
    ),
  },
};
