/**
 * @module Browser side of the approval queue (edge/pages/approvals-page.ts): keeps its times in
 * words, and asks the approval API for the queue every 2 seconds; when it differs from what the page
 * shows (a new request, a decision, a state), the page is shown anew — the server renders it, so the
 * queue has one wording. Nothing is typed on this page, so showing it again loses nothing.
 */
import { queueSignature } from '../../shared/approval-words';
import type { ApprovalList } from '../../shared/wire-shapes';
import { explain } from './api';
import { poll, startClock } from './approval-live';
import { say, send } from './console-common';

/** GET /.stepgate/api/approvals: the caller's queue. */
const QUEUE_API = '/.stepgate/api/approvals';

const root = document.getElementById('approvals-page');
if (root) {
  const shown = root.dataset.signature ?? '';
  let failing = false;
  startClock();
  poll(async () => {
    const r = await send<ApprovalList>('GET', QUEUE_API);
    if (!r.ok) {
      // Said once, and the page keeps asking: a dropped connection comes back.
      if (!failing) say(`The queue could not be updated: ${explain(r.problem)}`);
      failing = true;
      return r.status !== 401 && r.status !== 403;
    }
    if (failing) say('');
    failing = false;
    if (queueSignature(r.data) === shown) return true;
    location.reload();
    return false;
  });
}
