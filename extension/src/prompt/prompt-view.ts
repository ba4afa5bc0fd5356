/**
 * @module What the approval window shows of a verified prompt: the facts of the request, and a
 * warning when any of them carries an invisible, bidi or control character (each one shown marked,
 * as `\u{202E}`). The same rows show dual control's approval requests (approval-view.ts). DOM nodes
 * only, built with `h`; no page state, so it renders the same in a test.
 */
import { localTime } from '../../../shared/local-time';
import { methodOverrideNote, methodWords } from '../../../shared/method-words';
import { HIDDEN_CHARACTERS_WARNING, hasHiddenCharacters } from '../../../shared/visible-text';
import type { VerifiedPrompt } from '../../../shared/wire-shapes';
import { h, relative } from '../lib/dom';
import { marked } from '../lib/marked-text';
import { timeText as timeInSentence } from '../lib/time-text';

/** A short browser name from a User-Agent string, for "where the request came from". */
function browserName(ua: string): string {
  const m = /(Firefox|Edg|OPR|Chrome|Chromium|Safari)\/(\d+)/.exec(ua);
  const os = /Windows|Mac OS X|Android|iPhone|iPad|Linux|CrOS/.exec(ua)?.[0]?.replace('Mac OS X', 'macOS').replace('CrOS', 'ChromeOS');
  const name = m ? `${m[1] === 'Edg' ? 'Edge' : m[1] === 'OPR' ? 'Opera' : m[1]} ${m[2]}` : ua.slice(0, 40);
  return os ? `${name} on ${os}` : name;
}

/**
 * The request as both windows show it: a challenge's verified prompt, or an approval request of
 * dual control (ApprovalJson has the same members).
 */
export type RequestFacts = Pick<
  VerifiedPrompt,
  'action' | 'matched_method' | 'body' | 'requested_from' | 'created_at' | 'expires_at' | 'rule'
>;

/**
 * A time as the person reads it: their locale and time zone, how long ago or from now, and the UTC
 * time beside it in small text (also the `title`), so it can be read out or compared with a log.
 */
export function timeText(iso: string, now: number): (HTMLElement | string)[] {
  const t = localTime(iso);
  const shown = h('span', { title: t.utc, text: `${t.local} (${relative(Date.parse(iso) - now)})` });
  // Where the person's own zone is UTC, the UTC time beside it would only repeat it.
  return /\bUTC$/.test(t.local) ? [shown] : [shown, ' ', h('small', { class: 'muted utc', text: t.utc })];
}

/** Whether the page's request is still being held (the edge holds it for a bounded time). */
export const stillHeld = (p: VerifiedPrompt, now: number): boolean => p.held && p.hold_until !== null && Date.parse(p.hold_until) > now;

const target = (p: RequestFacts): string => `${p.action.path}${p.action.query ? `?${p.action.query}` : ''}`;

/**
 * "Delete /api/projects/1": what the request asks for in words, as the step-up page says it
 * (shared/method-words.ts). The path stays as signed, percent-encoded, so nothing hides in it.
 */
const requestWords = (p: RequestFacts): string => `${methodWords(p.matched_method)} ${target(p)}`;

const fromText = (p: RequestFacts): string => {
  const from = p.requested_from;
  return from
    ? [from.page ?? 'unknown page', from.ip, from.user_agent ? browserName(from.user_agent) : null].filter(Boolean).join(' · ')
    : 'Not known';
};

/** Every text of the request the window shows. */
const shownTexts = (p: RequestFacts): string[] => [
  p.action.host,
  requestWords(p),
  p.body?.kind ?? '',
  ...(p.body?.fields.flatMap((f) => [f.name, f.value]) ?? []),
  fromText(p),
  p.rule,
];

/** "This request contains hidden characters…", when it (or one of the `extra` texts shown with it) does; nothing otherwise. */
export const hiddenCharactersWarning = (p: RequestFacts, ...extra: string[]): HTMLElement | null =>
  hasHiddenCharacters(...shownTexts(p), ...extra)
    ? h('p', {
        id: 'hidden-chars',
        class: 'notice hidden-chars',
        role: 'alert',
        text: `${HIDDEN_CHARACTERS_WARNING} If you did not expect them, deny it.`,
      })
    : null;

/**
 * The rows of the request: app, request, body, origin, times, rule. `appName`: the app's name,
 * shown before its host (approval requests name it).
 */
export function requestRows(p: RequestFacts, site: string, now: number, appName?: string): (HTMLElement | null)[] {
  const body = p.body
    ? h(
        'div',
        {},
        h('span', { class: 'muted' }, ...marked(p.body.kind), `, ${p.body.bytes} bytes`),
        p.body.fields.length
          ? h(
              'ul',
              { class: 'plain mono', id: 'body-fields' },
              ...p.body.fields.map((f) => h('li', {}, ...marked(f.name), ' = ', ...marked(f.value))),
            )
          : null,
        p.body.truncated ? h('span', { class: 'muted', text: 'More fields are not shown.' }) : null,
      )
    : h('span', { class: 'muted', text: 'No body' });
  const fromPage = p.requested_from?.page ?? null;
  // Why: a request the site's own pages did not send is worth a second look before approving.
  const foreign = fromPage !== null && fromPage !== new URL(site).origin;
  const override = methodOverrideNote(p.action.method, p.matched_method);
  return [
    h('dt', { text: 'App' }),
    h('dd', { id: 'app', class: 'mono' }, ...(appName ? [...marked(appName), ' · '] : []), ...marked(p.action.host)),
    h('dt', { text: 'Request' }),
    h(
      'dd',
      {},
      h('span', { id: 'request', class: 'request' }, ...marked(requestWords(p))),
      // Why: a form's `_method` asks for more than it was sent as; say so in words, once (as the pages do).
      override ? h('small', { id: 'method-note', class: 'muted method-note', text: override }) : null,
    ),
    h('dt', { text: 'Body' }),
    h('dd', { id: 'body' }, body),
    h('dt', { text: 'From' }),
    h('dd', { id: 'from', class: foreign ? 'error' : '' }, ...marked(fromText(p)), foreign ? ' — not a page of this site' : null),
    h('dt', { text: 'Requested' }),
    h('dd', { id: 'requested' }, ...timeText(p.created_at, now)),
    h('dt', { text: 'Expires' }),
    h('dd', { id: 'expires' }, ...timeText(p.expires_at, now)),
    // The rule's id is the site's internal name: there for whoever asks, not in the way.
    h('dt', { text: 'Rule' }),
    h(
      'dd',
      {},
      h(
        'details',
        // Open when the rule carries a hidden character, so the warning's "shown marked below" holds.
        { id: 'details', open: hasHiddenCharacters(p.rule) },
        h('summary', { text: 'Details' }),
        h('span', { text: 'Rule in the site’s policy: ' }),
        h('span', { id: 'rule', class: 'mono' }, ...marked(p.rule)),
      ),
    ),
  ];
}

/** The facts of the request: app, request, body, origin, times, rule, what approving grants. */
export function facts(p: VerifiedPrompt, site: string, now: number): HTMLElement {
  const grant =
    p.bind === 'action'
      ? p.other_session
        ? 'One-time approval: this exact request, once, in the browser that made it.'
        : 'One-time approval: this exact request, once.'
      : `Session grant: requests under this rule pass for ${Math.round(p.max_age / 60)} min in this browser session.`;
  return h(
    'dl',
    { class: 'facts' },
    ...requestRows(p, site, now),
    h('dt', { text: 'Grants' }),
    h('dd', { id: 'grant', text: grant }),
    p.held ? h('dt', { text: 'Waiting' }) : null,
    p.held
      ? h('dd', {
          id: 'waiting',
          text: stillHeld(p, now)
            ? `A page of this site is waiting for your answer until ${timeInSentence(p.hold_until!)}.`
            : 'The page stopped waiting. Approving now lets this exact request through once if it is sent again.',
        })
      : null,
  );
}
