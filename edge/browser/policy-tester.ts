/**
 * @module Browser side of the policy page's tester: which rule matches a method and address, and
 * what would happen (POST …/policy/test), and the replay of the last hour's recorded routes against
 * the draft (POST …/policy/replay), listed as the routes whose outcome would change. Both use the
 * draft in the editor, or the active version while the draft is unchanged.
 */
import { $ } from './api';
import { refused, send } from './console-common';
import { count, draft, el, outcomeWords, policyApi } from './policy-dom';

interface TestAnswer {
  rule: string | null;
  mode: string;
  outcome: string;
  text: string;
}
interface ReplayAnswer {
  hours: number;
  routes: number;
  changed: { method: string; host: string; path: string; requests: number; from: string; to: string }[];
}

/** The policy to send: none while the draft is unchanged (the active version is used), else the parsed draft. */
function policyToSend(unchanged: () => boolean, out: HTMLElement): { policy?: unknown } | null {
  if (unchanged()) return {};
  const d = draft();
  if (d.ok) return { policy: d.policy };
  out.textContent = `${d.why} Correct it, or start again from the active version.`;
  return null;
}

async function runTest(unchanged: () => boolean): Promise<void> {
  const out = $('test-result');
  out.hidden = false;
  const method = $<HTMLSelectElement>('test-method').value;
  const url = $<HTMLInputElement>('test-url').value.trim();
  if (!/^https?:\/\/[^/\s]+/i.test(url)) {
    out.textContent = 'Enter a whole address, such as https://app.example.com/api/projects.';
    return;
  }
  const p = policyToSend(unchanged, out);
  if (p === null) return;
  out.textContent = 'Testing…';
  const r = await send<TestAnswer>('POST', `${policyApi}/test`, { ...p, method, url });
  if (!r.ok) {
    out.textContent = 'The request could not be tested.';
    refused(r.problem, 'test the request');
    return;
  }
  const d = r.data;
  const rule = d.rule === null ? 'No rule matches it.' : `Rule “${d.rule}” matches it${d.mode === 'report' ? ' (report-only)' : ''}.`;
  out.textContent = `${d.text} ${rule}`;
}

async function replay(unchanged: () => boolean): Promise<void> {
  const summary = $('replay-summary');
  const box = $('replay-box');
  const p = policyToSend(unchanged, summary);
  if (p === null) return;
  if (!('policy' in p)) {
    summary.textContent = 'The draft is the active version: nothing would change. Edit it first.';
    box.hidden = true;
    return;
  }
  summary.textContent = 'Replaying…';
  const r = await send<ReplayAnswer>('POST', `${policyApi}/replay`, p);
  if (!r.ok) {
    summary.textContent = 'The last hour could not be replayed.';
    refused(r.problem, 'replay the last hour');
    return;
  }
  const d = r.data;
  const rows = d.changed.map((c) => {
    const tr = el('tr');
    tr.append(el('td', c.method), el('td', c.host, { class: 'mono' }), el('td', c.path, { class: 'mono' }));
    tr.append(el('td', String(c.requests), { class: 'num' }), el('td', outcomeWords(c.from)), el('td', outcomeWords(c.to)));
    return tr;
  });
  $('replay-rows').replaceChildren(...rows);
  box.hidden = rows.length === 0;
  const last = d.hours === 1 ? 'hour' : `${d.hours} hours`;
  const seen = `${count(d.routes, 'route')} ${d.routes === 1 ? 'was' : 'were'} used in the last ${last}`;
  summary.textContent =
    d.routes === 0
      ? 'No routes were recorded in the last hour, so there is nothing to replay yet.'
      : rows.length === 0
        ? `${seen}; none of them would change with the draft.`
        : `${seen}; ${count(rows.length, 'route')} would change with the draft:`;
}

/** Wire the tester and the replay; `unchanged` says whether the draft is still the active version. */
export function wireTester(unchanged: () => boolean): void {
  $<HTMLFormElement>('test-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void runTest(unchanged);
  });
  $('replay').addEventListener('click', () => void replay(unchanged));
}
