/** @module The codes the extension gives itself, beside the edge's `ErrorCode` (shared/errors.ts): EXT_… where ERR_… come from the site. */

/** Every refusal the extension makes without a site having said so. Contexts switch on these, never on the sentence. */
export const ExtensionCode = {
  /** The site could not be reached or did not answer JSON. */
  Unreachable: 'EXT_UNREACHABLE',
  /** The site answered something that is not Stepgate's. */
  NotStepgate: 'EXT_NOT_STEPGATE',
  /** The prompt's signature or claims did not verify. */
  BadPrompt: 'EXT_BAD_PROMPT',
  /** The person refused the browser's permission prompt. */
  PermissionRefused: 'EXT_PERMISSION_REFUSED',
  /** A message carried something the extension does not accept. */
  BadInput: 'EXT_BAD_INPUT',
  /** The browser's passkey prompt was closed or failed. */
  CeremonyFailed: 'EXT_CEREMONY_FAILED',
} as const;

export type ExtensionCode = (typeof ExtensionCode)[keyof typeof ExtensionCode];
