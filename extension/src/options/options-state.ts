/** @module The options page's state: one card per paired site, what it shows, and how it is redrawn. */
import type { FactorList } from '../../../shared/wire-shapes';
import type { SiteStatus } from '../lib/messages';

/** What one site's card shows besides its status: transient, never stored. */
export interface SiteUi {
  status: SiteStatus;
  factors: FactorList | null;
  totpSetup: { id: string; secret: string; qrSvg: string } | null;
  /** Shown once, right after the first factor; gone when the page closes. */
  recoveryCodes: string[] | null;
  message: { text: string; kind: 'ok' | 'error' | 'muted' } | null;
  stepUp: { challengeId: string; resolve: (ok: boolean) => void; error: string | null; busy: boolean } | null;
  busy: boolean;
}

/** The cards, by site origin, in the order the sites were listed. */
export const ui = new Map<string, SiteUi>();

let draw: () => void = () => undefined;
/** Set by the page (index.ts): the views call the actions, so the actions cannot import the views. */
export const setRender = (fn: () => void): void => {
  draw = fn;
};
/** Redraw every card from `ui`. */
export const render = (): void => draw();

/** Show a message on a site's card. */
export const say = (origin: string, text: string, kind: 'ok' | 'error' | 'muted' = 'muted') => {
  const s = ui.get(origin);
  if (s) s.message = { text, kind };
  render();
};

/** Run one action on a site's card at a time, its buttons disabled meanwhile. */
export async function busyWhile(origin: string, fn: () => Promise<void>): Promise<void> {
  const s = ui.get(origin)!;
  if (s.busy) return;
  s.busy = true;
  s.message = null;
  render();
  try {
    await fn();
  } finally {
    s.busy = false;
    render();
  }
}
