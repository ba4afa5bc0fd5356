/**
 * @module The encryption contexts (AES-GCM additional data) of every sealed column, in one place:
 * the writer, the reader and key-rotation re-encryption must build exactly the same string, or a
 * row no longer opens. Each names its table and row, so a ciphertext moved elsewhere fails to open.
 */
import { seal } from './aead';
import type { Keyring } from './keyring';

/** A TOTP secret (`totp_factors.secret_sealed`), bound to its factor and owner. */
export const totpSecretAad = (id: string, userRef: string): string => `totp|${id}|${userRef}`;

/** A passkey's nickname (`webauthn_credentials.nickname_sealed`). */
export const passkeyNicknameAad = (id: string, userRef: string): string => `webauthn-nickname|${id}|${userRef}`;

/** The owner's user id sealed beside a factor row (`sub_sealed`), for re-keying its blind index. */
export const ownerAad = (table: string, id: string): string => `owner|${table}|${id}`;

/** An API token's owner (`api_tokens.sub_sealed`). */
export const apiTokenOwnerAad = (id: string): string => `api-token|${id}`;

/** An API token's label (`api_tokens.label`). */
export const apiTokenLabelAad = (id: string): string => `api-token-label|${id}`;

/**
 * The person a role is granted to (`role_grants.person_sealed`), bound to the grant's row, organisation,
 * app ('' for the whole organisation) and role: a grant cannot be forged, or moved to another role or
 * organisation, by editing D1 without the keyring (the person is checked against the blind index on read).
 */
export const roleGrantPersonAad = (id: string, orgId: string, appId: string, role: string): string =>
  `role-grant|${id}|${orgId}|${appId}|${role}`;

/** Who granted a role (`role_grants.granted_by_sealed`). */
export const roleGrantGrantorAad = (id: string): string => `role-grant-by|${id}`;

/** Who saved an app's policy (`app_policies.updated_by_sealed`), bound to the app and the document's hash. */
export const appPolicyEditorAad = (appId: string, hash: string): string => `app-policy-by|${appId}|${hash}`;

/**
 * Who saved an organisation's policy baseline (`org_policy_baselines.updated_by_sealed`, part 'saved-by')
 * or proposed its waiting change (`proposed_by_sealed`, part 'proposed-by'), bound to the organisation and that document's hash.
 */
export const baselineEditorAad = (orgId: string, hash: string, part: 'saved-by' | 'proposed-by'): string =>
  `baseline-${part}|${orgId}|${hash}`;

/**
 * The person a factor recovery is for (`recoveries.person_sealed`), bound to the row and organisation:
 * a recovery cannot be moved to another person or organisation by editing D1 without the keyring.
 */
export const recoveryPersonAad = (id: string, orgId: string): string => `recovery|${id}|${orgId}`;

/** Who started or approved a recovery (`recoveries.started_by_sealed`, `approved_by_sealed`), bound to the row and the part. */
export const recoveryActorAad = (id: string, part: 'started-by' | 'approved-by'): string => `recovery-${part}|${id}`;

/** An audit event's body (`audit_events.sealed`), bound to its tenant and place in the chain. */
export const auditEventAad = (tenant: string, seq: number): string => `audit|${tenant}|${seq}`;

/** A held request (sealed in the person's Durable Object), bound to its challenge. */
export const heldRequestAad = (challenge: string): string => `held|${challenge}`;

/**
 * A dual-control request's sealed parts (`approval_requests.request_sealed`, `view_sealed`,
 * `justification_sealed`), bound to the request's id, organisation and part: a request cannot be
 * moved to another organisation, or one part passed off as another, without the keyring.
 */
export const approvalAad = (id: string, orgId: string, part: 'request' | 'view' | 'justification'): string =>
  `approval-${part}|${id}|${orgId}`;

/** An approver's decision (`approval_votes.sealed`), bound to the request and the approver's index. */
export const approvalVoteAad = (approvalId: string, approverRef: string): string => `approval-vote|${approvalId}|${approverRef}`;

/** Seal the owner of a factor row (see `ownerAad`). */
export const sealOwner = (ring: Keyring, table: string, id: string, sub: string): Promise<string> =>
  seal(ring, 'factor-metadata', sub, ownerAad(table, id));
