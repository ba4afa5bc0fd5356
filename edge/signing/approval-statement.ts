/**
 * @module Approval statements: when an approver approves a dual-control request, Stepgate signs what
 * was approved — the request's action digest, the approval, the approver, their factors and when —
 * (EdDSA, keyring purpose `approval-signing`, typ `stepgate-approval+jwt`) and records the statement
 * in the audit chain. Its public keys stay published after a key id is retired, so every statement
 * ever recorded still verifies (/.well-known/stepgate/approval-jwks.json).
 */
import { type JWK, SignJWT } from 'jose';
import type { Keyring } from '../crypto/keyring';
import { publicJwks, signingKey } from '../crypto/signing-key';

export const APPROVAL_STATEMENT_TYP = 'stepgate-approval+jwt';
const KID_PREFIX = 'sg-approval-';
const key = (ring: Keyring, kid: string) => signingKey(ring, 'approval-signing', kid, KID_PREFIX);

/** What an approver approved, signed. */
export interface ApprovalStatement {
  /** The approval request's id. */
  approval: string;
  /** The exact action (method, host, path, query, body, rule) the requester asked for. */
  act: string;
  org: string;
  app: string;
  rule: string;
  /** The app's subject of the requester. */
  requester: string;
  /** The app's subject of the approver. */
  approver: string;
  amr: string[];
}

export async function signApprovalStatement(ring: Keyring, s: ApprovalStatement, nowSeconds: number): Promise<string> {
  const { privateKey, jwk } = await key(ring, ring.primary);
  return new SignJWT({ ...s })
    .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid!, typ: APPROVAL_STATEMENT_TYP })
    .setIssuer('stepgate')
    .setIssuedAt(nowSeconds)
    .sign(privateKey);
}

/** The public keys that verify approval statements, retired key ids included. */
export const approvalJwks = (ring: Keyring): Promise<{ keys: JWK[] }> =>
  publicJwks(ring, 'approval-signing', KID_PREFIX, { retired: true });
