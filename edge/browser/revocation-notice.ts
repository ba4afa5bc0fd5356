/**
 * @module Browser side of the revocation banner (edge/pages/revocation-banner.ts), on the step-up and
 * enrolment pages: Dismiss posts the person's dismissal and hides the banner.
 */
import { $, explain, post } from './api';

/** Wire the banner's Dismiss button, if the page shows one. */
export function wireRevocationNotice(): void {
  const banner = document.getElementById('revocation-notice');
  if (!banner) return;
  const id = encodeURIComponent(banner.dataset.notice ?? '');
  const button = $<HTMLButtonElement>('revocation-dismiss');
  const status = $('revocation-status');
  button.addEventListener('click', async () => {
    button.disabled = true;
    const r = await post<{ dismissed: true }>(`/.stepgate/api/me/notices/${id}/dismiss`);
    if (!r.ok) {
      status.textContent = explain(r.problem);
      button.disabled = false;
      return;
    }
    banner.hidden = true;
  });
}
