/**
 * @module Browser side of the console's organisation baseline page: save the baseline (the JSON in
 * the editor, PUT …/policy-baseline), approve or reject the change waiting for a second person; the
 * outcome said in words, problems listed by rule and field. Everything is set with textContent.
 */
import { $ } from './api';
import { act, doneAndReload, orgApi, refused, say, send } from './console-common';

const api = `${orgApi}/policy-baseline`;
type Saved = { state: 'active' | 'proposed'; changes: { kind: string; message: string }[] };

function listProblems(items: readonly string[]): void {
  const list = $('baseline-problems');
  list.replaceChildren(
    ...items.map((text) => {
      const li = document.createElement('li');
      li.textContent = text;
      return li;
    }),
  );
}

document.getElementById('baseline-form')?.addEventListener('submit', async (e) => {
  e.preventDefault();
  listProblems([]);
  let policy: unknown;
  try {
    policy = JSON.parse($<HTMLTextAreaElement>('baseline-text').value);
  } catch (err) {
    say('The baseline is not valid JSON.');
    listProblems([err instanceof Error ? err.message : 'not valid JSON']);
    return;
  }
  say('Working…');
  const r = await send<Saved>('PUT', api, { policy });
  if (!r.ok) {
    const problems = (r.problem as { problems?: unknown }).problems;
    if (Array.isArray(problems)) listProblems(problems.map(String));
    refused(r.problem, 'save the baseline');
    return;
  }
  if (r.data.state === 'active') {
    doneAndReload('The baseline is saved and applies to every app within seconds.');
    return;
  }
  const why = r.data.changes.filter((c) => c.kind === 'weakens').map((c) => c.message);
  doneAndReload(
    'Your change weakens the baseline or an app of the organisation, so it waits for another owner or admin to approve it. ' +
      why.join(' '),
  );
});

for (const [id, path, what, done] of [
  ['approve', 'approve', 'approve the change', 'The change is approved and applies to every app within seconds.'],
  ['reject', 'reject', 'reject the change', 'The change was rejected: the baseline stays as it was.'],
] as const) {
  const button = document.getElementById(id) as HTMLButtonElement | null;
  button?.addEventListener('click', () => {
    void act('POST', `${api}/${path}`, { hash: button.dataset.hash }, what, () => done);
  });
}
