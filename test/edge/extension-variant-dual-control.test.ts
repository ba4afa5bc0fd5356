/**
 * The first rule in file order wins over a path and its extension-less variant alike, through the
 * real gateway and the demo policy: `DELETE /api/projects/4.json`, which an app routing
 * `(.:format)` (Rails) treats as project 4, is held by the dual-control rule
 * `delete-production-project` (`/api/projects/4`, earlier in the file), not by the later
 * `delete-project` (`/api/projects/*`, which matches `4.json` directly and asks no approval). It
 * used to be the other way round: one person's step-up deleted project 4.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Actor, actor, approvalAs, ask, type Clocked, clockedGateway, seen, send } from './dual-control-harness';
import { seedRole } from './seed-roles';

let g: Clocked;
let alice: Actor;
let bob: Actor;

beforeAll(async () => {
  g = clockedGateway();
  alice = await actor(g, 'xv-alice');
  bob = await actor(g, 'xv-bob');
  await seedRole('xv-bob', 'admin');
});

describe('a format suffix does not get around dual control', () => {
  it.each(['/api/projects/4.json', '/api/projects/4.xml', '/API/Projects/4.JSON'])(
    'DELETE %s waits for an admin after the step-up, and nothing reaches the app',
    async (path) => {
      const marker = `m=xv-${path.slice(-4).toLowerCase()}-${path.charCodeAt(1)}`;
      const r = await ask(g, alice, 'DELETE', `${path}?${marker}`);
      expect(r.status).toBe(202);
      const { approval_id: id } = (await r.json()) as { approval_id: string };
      expect(await approvalAs(g, bob, id)).toMatchObject({ state: 'pending', rule: 'delete-production-project' });
      expect(await seen(marker)).toEqual([]);
      // Asked again without an approval: still waiting, still not forwarded.
      expect((await send(g, alice, 'DELETE', `${path}?${marker}`)).status).toBe(202);
      expect(await seen(marker)).toEqual([]);
    },
  );

  it('another project with a suffix is still the one-person rule: forwarded after the step-up', async () => {
    const r = await ask(g, alice, 'DELETE', '/api/projects/7.json?m=xv-seven');
    expect(r.status).not.toBe(202);
    expect(await seen('m=xv-seven')).toHaveLength(1);
  });
});
