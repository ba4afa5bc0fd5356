/**
 * @module Browser side of the recovery banner (edge/pages/recovery-banner.ts), on the step-up and
 * enrolment pages: Cancel posts the person's cancellation; Complete (enrolment page) removes their
 * old factors and hands the invitation for a new first factor to the page.
 */
import type { RecoveryCompleted } from '../../shared/wire-shapes';
import { $, explain, post } from './api';

/** Wire the banner's buttons, if the page shows one. `completed` receives the invitation after a completion. */
export function wireRecoveryNotice(completed?: (r: RecoveryCompleted) => void): void {
  const banner = document.getElementById('recovery-notice');
  if (!banner) return;
  const id = encodeURIComponent(banner.dataset.recovery ?? '');
  const status = $('recovery-status');
  const buttons = [...banner.querySelectorAll('button')];
  const busy = (on: boolean) => {
    for (const b of buttons) b.disabled = on;
  };

  $('recovery-cancel').addEventListener('click', async () => {
    busy(true);
    status.textContent = 'Cancelling…';
    const r = await post<{ cancelled: true }>(`/.stepgate/api/me/recoveries/${id}/cancel`);
    if (!r.ok) {
      status.textContent = explain(r.problem);
      busy(false);
      return;
    }
    status.textContent = 'The recovery is cancelled. Nothing about your factors changed. Tell your administrator if you did not expect it.';
  });

  document.getElementById('recovery-complete')?.addEventListener('click', async () => {
    busy(true);
    status.textContent = 'Removing your old factors…';
    const r = await post<RecoveryCompleted>(`/.stepgate/api/me/recoveries/${id}/complete`);
    if (!r.ok) {
      status.textContent = explain(r.problem);
      busy(false);
      return;
    }
    status.textContent = 'Your old factors are removed. Now add a passkey or set up an authenticator app below.';
    completed?.(r.data);
  });
}
