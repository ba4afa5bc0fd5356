/**
 * @module What the background needs from the browser, injected: storage, permissions, marker
 * rules, windows, the badge, fetch and the clock. background/index.ts passes the browser's APIs;
 * tests pass fakes, so the background's logic runs in Node.
 */
import type { MarkerRule } from '../lib/sites';
import type { PromptVerifier } from '../lib/verify-prompt';

/** A key-value area (`storage.local` / `storage.session`). */
export interface Area {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
}

/** What the background needs from the browser. */
export interface Platform {
  version: string;
  now(): number;
  fetch: typeof fetch;
  /** Lasting state: the paired sites. */
  local: Area;
  /** State that dies with the browser session: pending prompts, opened windows, throttling. */
  session: Area;
  permissions: { contains(pattern: string): Promise<boolean>; remove(pattern: string): Promise<boolean> };
  rules: { installed(): Promise<number[]>; update(add: MarkerRule[], removeIds: number[]): Promise<void> };
  windows: {
    /**
     * Open the prompt page in its own small window, for a challenge or (`mode: 'approval'`) for
     * an approval request of dual control; its id.
     */
    open(site: string, id: string, mode?: 'challenge' | 'approval'): Promise<number | null>;
    /** Bring a window forward; false when it no longer exists. */
    focus(windowId: number): Promise<boolean>;
  };
  badge(text: string): Promise<void>;
  verifier: PromptVerifier;
  log(message: string): void;
}
