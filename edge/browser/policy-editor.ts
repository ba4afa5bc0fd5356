/**
 * @module Browser side of the console's policy page (edge/pages/policy-page.ts): loads the active
 * version into the editor, checks the draft as it is typed (debounced, POST …/policy/check: problems
 * by rule and field, the changes against the active version, whether it weakens protection, what the
 * organisation's baseline refuses), and saves it (PUT …/policy, with a comment and optionally as a
 * canary). The tester, the report panel and the history are wired by their own modules. Answers that
 * need a fresh step-up open "confirm it is you" (console-common.ts).
 */
import { $ } from './api';
import { act, refused, send } from './console-common';
import { draft, el, fillList, page, policyApi, type VersionAnswer, versionDone } from './policy-dom';
import { loadHistory } from './policy-history';
import { diffLine } from './proposal-changes';
import { loadReport } from './policy-report';
import { wireTester } from './policy-tester';

interface ActiveAnswer {
  policy: { rules?: { id: string; mode?: string }[] };
  canary?: { percent: number; base_version: number } | null;
}
interface CheckAnswer {
  valid: boolean;
  problems: { rule: string | null; field: string | null; message: string }[];
  diff: { kind: 'added' | 'removed' | 'changed'; rule: string; text: string }[];
  change: { weakening: boolean; reasons: string[] };
  baseline: string[];
}

/** How long typing must pause before the draft is checked. */
const CHECK_DELAY_MS = 500;
const text = $<HTMLTextAreaElement>('policy-text');
const state = $('check-state');

/** The active version as the editor first showed it: the draft is "unchanged" while it reads the same. */
let activeText = '';
/** Answers arrive out of order: only the newest check is shown. */
let checkSeq = 0;
let timer: ReturnType<typeof setTimeout> | undefined;

const problemWords = (p: CheckAnswer['problems'][number]): string => {
  const where = [p.rule === null ? '' : `Rule “${p.rule}”`, p.field === null ? '' : `field ${p.field}`].filter(Boolean).join(', ');
  return where ? `${where}: ${p.message}` : p.message;
};

function clearCheck(): void {
  fillList('check-problems', []);
  fillList('weakens-reasons', []);
  $('weakens').hidden = true;
  $('baseline-box').hidden = true;
  $('diff').replaceChildren();
  $('diff-none').hidden = false;
}

function showCheck(d: CheckAnswer): void {
  fillList('check-problems', d.problems.map(problemWords));
  const diff = d.diff.map((x) => el('li', diffLine(x)));
  $('diff').replaceChildren(...diff);
  $('diff-none').hidden = diff.length > 0;
  $('weakens').hidden = !d.change.weakening;
  $('weakens-text').textContent = d.change.weakening
    ? 'This change weakens protection. Saving it makes a proposal: a second owner or admin (not you) must approve it before it applies.'
    : '';
  fillList('weakens-reasons', d.change.weakening ? d.change.reasons : []);
  $('baseline-box').hidden = d.baseline.length === 0;
  fillList('baseline-problems', d.baseline);
  const n = d.problems.length === 1 ? 'a problem' : `${d.problems.length} problems`;
  if (!d.valid) state.textContent = `The draft has ${n}: it cannot be saved as it is.`;
  else if (d.baseline.length) state.textContent = 'The draft is valid, but the organisation’s baseline refuses it (see below).';
  else state.textContent = diff.length ? 'The draft is valid.' : 'The draft is valid and changes nothing.';
}

/** Check the draft now: locally that it is JSON, then with the gateway (the same checks as `stepgate policy check`). */
async function check(): Promise<void> {
  const seq = ++checkSeq;
  if (text.value === activeText) {
    clearCheck();
    state.textContent = 'This is the active version, unchanged.';
    return;
  }
  const d = draft();
  if (!d.ok) {
    clearCheck();
    state.textContent = d.why;
    return;
  }
  state.textContent = 'Checking…';
  const r = await send<CheckAnswer>('POST', `${policyApi}/check`, { policy: d.policy });
  if (seq !== checkSeq) return;
  if (!r.ok) {
    state.textContent = 'The draft could not be checked.';
    refused(r.problem, 'check the draft');
    return;
  }
  showCheck(r.data);
}

const scheduleCheck = (): void => {
  clearTimeout(timer);
  timer = setTimeout(() => void check(), CHECK_DELAY_MS);
};

function wireSave(): void {
  const form = document.getElementById('save-form') as HTMLFormElement | null;
  if (!form) return;
  const canary = $<HTMLInputElement>('canary-start');
  canary.addEventListener('change', () => {
    $('canary-start-box').hidden = !canary.checked;
  });
  $('revert').addEventListener('click', () => {
    text.value = activeText;
    void check();
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const result = $('save-result');
    const d = draft();
    if (!d.ok) {
      result.textContent = d.why;
      return;
    }
    if (text.value === activeText) {
      result.textContent = 'Nothing to save: the draft is the active version.';
      return;
    }
    const body: Record<string, unknown> = { policy: d.policy, comment: $<HTMLInputElement>('save-comment').value.trim() };
    if (canary.checked) {
      const raw = $<HTMLInputElement>('canary-start-percent').value.trim();
      if (!/^[1-9]\d?$/.test(raw)) {
        result.textContent = 'The canary share is a whole number of percent from 1 to 99.';
        return;
      }
      body.canary_percent = Number(raw);
    }
    result.textContent = 'Saving…';
    void act<VersionAnswer>('PUT', policyApi, body, 'save the policy', versionDone).then((ok) => {
      if (!ok) result.textContent = 'Not saved: see the message at the top of the page.';
    });
  });
}

async function loadActive(): Promise<void> {
  const r = await send<ActiveAnswer>('GET', policyApi);
  if (!r.ok) {
    state.textContent = 'The active version could not be read, so the editor stays closed.';
    refused(r.problem, 'open this page');
    // The report and the history do not depend on it.
    void loadReport(null);
    void loadHistory(null);
    return;
  }
  activeText = JSON.stringify(r.data.policy, null, 2);
  text.value = activeText;
  text.disabled = false;
  state.textContent = 'This is the active version, unchanged.';
  const reportOnly = (r.data.policy.rules ?? []).filter((x) => x.mode === 'report').map((x) => x.id);
  void loadReport(reportOnly);
  void loadHistory(r.data.canary ?? null);
}

if (page.present) {
  text.addEventListener('input', scheduleCheck);
  wireSave();
  wireTester(() => text.value === activeText);
  void loadActive();
}
