/**
 * @module What a request asks for, in words, for people: "Delete /api/projects/1", not "DELETE"
 * (an HTTP method is a program's word). Shared by the step-up page, the approval pages and the
 * extension's prompt, so all three say the same thing.
 */

const METHOD_WORDS: Record<string, string> = {
  GET: 'Open',
  HEAD: 'Check',
  POST: 'Send to',
  PUT: 'Replace',
  PATCH: 'Change',
  DELETE: 'Delete',
};

/** The method in words ("Delete"); a method with no word here is shown as it is. */
export const methodWords = (method: string): string => METHOD_WORDS[method.toUpperCase()] ?? method;

const OVERRIDE_VERBS: Record<string, string> = {
  POST: 'send',
  PUT: 'replace',
  PATCH: 'change',
  DELETE: 'delete',
  GET: 'open',
  HEAD: 'check',
};

/**
 * When a form was sent one way and asks for another (a `_method` field: sent as POST, matched as
 * DELETE), one plain line saying so: the page names what the form asks for, and this line says that
 * it is the form asking — the app decides whether to honour it. Null when the two are the same.
 */
export function methodOverrideNote(sentMethod: string, matchedMethod: string): string | null {
  const sent = sentMethod.toUpperCase();
  const matched = matchedMethod.toUpperCase();
  if (sent === matched) return null;
  return `Sent by a form that asks the app to ${OVERRIDE_VERBS[matched] ?? matched.toLowerCase()}.`;
}
