/**
 * @module Browser side of the console's apps page: create or change an app (its fields, and the
 * fields of the chosen identity source only), edit its policy, delete it — each sent to the admin
 * API, the outcome said in words.
 */
import { act, orgApi, say } from './console-common';

/** The identity configuration from the fieldset of the chosen source: only the fields filled in. */
function identityOf(form: HTMLFormElement): Record<string, unknown> {
  const source = form.querySelector<HTMLSelectElement>('[data-field="source"]')!.value;
  const out: Record<string, unknown> = { source };
  const set = form.querySelector<HTMLFieldSetElement>(`fieldset[data-source="${source}"]`);
  for (const input of set?.querySelectorAll<HTMLInputElement>('input[data-key]') ?? []) {
    const key = input.dataset.key!;
    if (input.dataset.kind === 'checkbox') {
      if (input.checked) out[key] = true;
    } else if (input.value.trim() !== '') {
      out[key] = input.dataset.kind === 'number' ? Number(input.value) : input.value.trim();
    }
  }
  const login = form.querySelector<HTMLInputElement>('[data-field="loginUrl"]')!.value.trim();
  if (login) out.loginUrl = login;
  return out;
}

const field = (form: HTMLFormElement, name: string): string =>
  (form.querySelector<HTMLInputElement | HTMLTextAreaElement>(`[data-field="${name}"]`)?.value ?? '').trim();

/** Parse a policy the person wrote; null (and why, said) when it is not JSON. */
function policyFrom(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    say(`The policy is not valid JSON: ${(e as Error).message}. Correct it and save again.`);
    return null;
  }
}

for (const form of document.querySelectorAll<HTMLFormElement>('form.app-form')) {
  const select = form.querySelector<HTMLSelectElement>('[data-field="source"]')!;
  select.addEventListener('change', () => {
    for (const set of form.querySelectorAll<HTMLFieldSetElement>('fieldset[data-source]')) set.hidden = set.dataset.source !== select.value;
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const appId = form.dataset.app ?? '';
    const origin = field(form, 'origin');
    const body: Record<string, unknown> = {
      name: field(form, 'name'),
      hosts: field(form, 'hosts')
        .split(/[\s,]+/)
        .filter(Boolean),
      origin_url: origin === '' ? null : origin,
      identity: identityOf(form),
    };
    if (appId === '') {
      const policy = policyFrom(field(form, 'policy'));
      if (policy === null) return;
      void act<{ app: { name: string } }>(
        'POST',
        `${orgApi}/apps`,
        { ...body, policy },
        'create the app',
        (d) => `The app “${d.app.name}” was created.`,
      );
    } else {
      void act<{ app: { name: string } }>(
        'PATCH',
        `${orgApi}/apps/${encodeURIComponent(appId)}`,
        body,
        'save the app',
        (d) => `“${d.app.name}” was saved.`,
      );
    }
  });
}

for (const form of document.querySelectorAll<HTMLFormElement>('form.policy-form')) {
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const policy = policyFrom(form.querySelector('textarea')!.value);
    if (policy === null) return;
    const path = `${orgApi}/apps/${encodeURIComponent(form.dataset.app!)}/policy`;
    void act('PUT', path, { policy }, 'save the policy', () => 'The policy was saved. It applies to the next request.');
  });
}

for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-delete-app]')) {
  button.addEventListener('click', () => {
    const name = button.dataset.name ?? 'this app';
    if (!window.confirm(`Delete “${name}”? Stepgate stops serving its hosts, and its app admins lose their role.`)) return;
    const path = `${orgApi}/apps/${encodeURIComponent(button.dataset.deleteApp!)}`;
    void act('DELETE', path, {}, 'delete the app', () => `“${name}” was deleted.`);
  });
}
