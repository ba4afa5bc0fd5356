/**
 * @module Browser side of the console's overview and dashboard: "confirm it is you" (console-common.ts),
 * and on the overview the bootstrap claim of the first owner, for the person it is offered to.
 */
import { act } from './console-common';

document.getElementById('claim-owner')?.addEventListener('click', () => {
  void act<{ org: string }>('POST', '/.stepgate/api/admin/bootstrap', {}, 'claim the organisation', (d) => `You own "${d.org}" now.`);
});
