/**
 * @module People by organisation: `Identity.sub` is Stepgate's key for a person — the app's own
 * subject in the organisation "default" (as before organisations existed), `<org id>/<subject>` in
 * any other — so two organisations' "alice" never share factors, challenges or grants.
 * `Identity.subject` keeps the app's own subject (the assertion's `sub`).
 */
import type { IdentityResult, IdentitySource } from '../identity/identity-source';
import { DEFAULT_ORG } from './app-definition';

/**
 * Whether `subject` can name a person of `org`. In the default organisation a subject containing `/`
 * never can: its key would read as another organisation's person (`acme/alice`), now or once that
 * organisation exists.
 */
export const isSubjectOf = (org: string, subject: string): boolean => subject !== '' && !(org === DEFAULT_ORG && subject.includes('/'));

/**
 * Stepgate's key for the person `subject` of organisation `org`: the one place a key is made from a
 * subject, so that every caller refuses what `isSubjectOf` refuses.
 *
 * @throws {TypeError} when `subject` cannot be a person of `org` (callers with input check `isSubjectOf` first)
 */
export function personKey(org: string, subject: string): string {
  if (!isSubjectOf(org, subject)) throw new TypeError(`not a subject of organisation ${org}`);
  return org === DEFAULT_ORG ? subject : `${org}/${subject}`;
}

const INVALID: IdentityResult = { ok: false, reason: 'invalid' };

/**
 * The identity source of an app of `org`: its people keyed by organisation. In the default org a
 * subject containing `/` is refused as invalid: it could read as another organisation's person
 * (`acme/alice`), now or once that organisation exists, so no app subject can take such a key.
 */
export function identitySourceOfOrg(source: IdentitySource, org: string): IdentitySource {
  const identify = async (req: Request): Promise<IdentityResult> => {
    const r = await source(req);
    if (!r.ok) return r;
    const subject = r.identity.subject;
    if (!isSubjectOf(org, subject)) return INVALID;
    if (org === DEFAULT_ORG) return r;
    return { ok: true, identity: { ...r.identity, sub: personKey(org, subject) } };
  };
  return Object.assign(identify, { ambiguity: source.ambiguity });
}
