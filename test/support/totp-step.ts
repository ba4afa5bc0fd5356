/** @module TOTP timing for browser tests. */

/**
 * Wait, if needed, until at least 8 s remain in the current 30 s time step. A test that confirms
 * with the previous step's code and then spends the next two must not see the step change while a
 * page submits the first one: the previous step would fall out of the server's ±1 window.
 */
export async function awaitRoomInStep(): Promise<void> {
  const into = Date.now() % 30_000;
  if (into > 22_000) await new Promise((r) => setTimeout(r, 30_000 - into + 250));
}
