/**
 * @module Browser side of the console's audit log: search with filters and a cursor, export links
 * (each format downloads under its own file name, the one the export names), verify the chain. Every cell is text (textContent), one
 * line each: a long one is cut with its whole text on hover.
 */
import { ErrorCode } from '../../shared/errors';
import { verifyPages } from '../../shared/audit-verify-pages';
import { displaySegments } from '../../shared/visible-text';
import { $, explain } from './api';
import { type ConsoleProblem, askToConfirm, refused, say, send } from './console-common';
import { showLocalTimes, timeNode } from './local-time';

interface AuditEvent {
  seq: number;
  time: string;
  type: string;
  outcome: string;
  actor: string | null;
  via?: string;
  target?: string;
  app?: string | null;
  request?: { method: string; path: string; ip: string | null };
  rule?: string;
  factor?: string;
  reason?: string;
}

/** Events per verify page, as the CLI asks. */
const VERIFY_PAGE = 2000;

const tbody = $('events').querySelector('tbody')!;
let cursor: string | null = null;

function query(): URLSearchParams {
  const q = new URLSearchParams();
  for (const k of ['user', 'app', 'type', 'outcome']) {
    const v = $<HTMLInputElement>(`f-${k}`).value.trim();
    if (v) q.set(k, v);
  }
  for (const k of ['from', 'to']) {
    const v = $<HTMLInputElement>(`f-${k}`).value;
    // The person's own time, as the table shows it (a datetime-local value without a zone is local).
    if (v) q.set(k, new Date(v).toISOString());
  }
  return q;
}

/** The export formats (each link downloads under the name the server gives its format). */
const FORMATS = ['ndjson', 'csv', 'ocsf'];

/** A one-line cell of text; invisible, bidi and control characters shown as marked escapes; the whole text on hover. */
const cell = (text: string, clip = false): HTMLTableCellElement => {
  const td = document.createElement('td');
  if (clip) {
    td.className = 'clip';
    td.title = text;
  }
  for (const s of displaySegments(text)) {
    if (!s.hidden) {
      td.appendChild(document.createTextNode(s.text));
      continue;
    }
    const mark = document.createElement('mark');
    mark.className = 'hidden-char';
    mark.title = s.label;
    mark.textContent = s.text;
    td.appendChild(mark);
  }
  return td;
};

/** The event's time: local, with the UTC time beside it (showLocalTimes, once the rows are in). */
const timeCell = (iso: string): HTMLTableCellElement => {
  const td = document.createElement('td');
  td.append(timeNode(iso));
  return td;
};

async function load(more = false): Promise<void> {
  if (!more) {
    cursor = null;
    tbody.replaceChildren();
  }
  const q = query();
  q.set('limit', '50');
  if (cursor) q.set('cursor', cursor);
  for (const f of FORMATS) {
    const link = document.getElementById(`x-${f}`) as HTMLAnchorElement | null;
    if (!link) continue;
    const x = query();
    x.set('format', f);
    link.href = `/.stepgate/api/admin/audit/export?${x}`;
  }
  say('Loading…');
  const r = await send<{ events: { event: AuditEvent }[]; next_cursor: string | null }>('GET', `/.stepgate/api/admin/audit/events?${q}`);
  if (!r.ok) {
    refused(r.problem, 'search');
    return;
  }
  for (const { event: e } of r.data.events) {
    const tr = document.createElement('tr');
    tr.className = e.outcome;
    tr.replaceChildren(
      cell(String(e.seq)),
      timeCell(e.time),
      cell(e.type + (e.reason ? ` (${e.reason})` : ''), true),
      cell(e.outcome),
      cell((e.actor ?? (e.via === 'system' ? 'system' : 'anonymous')) + (e.target ? ` → ${e.target}` : ''), true),
      cell(e.app ?? '', true),
      cell(e.request ? `${e.request.method} ${e.request.path}` : '', true),
      cell(e.request?.ip ?? ''),
      cell([e.rule, e.factor].filter(Boolean).join(' · '), true),
    );
    tbody.appendChild(tr);
  }
  showLocalTimes(tbody);
  cursor = r.data.next_cursor;
  $('more').hidden = cursor === null;
  say(tbody.children.length ? '' : 'No events match. Widen the search.');
}

$<HTMLFormElement>('filters').addEventListener('submit', (e) => {
  e.preventDefault();
  void load();
});
$('more').addEventListener('click', () => void load(true));

/** The API's refusal of a verify page (not a verdict on the chain): shown as the console shows any refusal. */
class VerifyRefused extends Error {
  constructor(readonly problem: ConsoleProblem) {
    super('verify refused');
  }
}

// Page by page, with the same checks as `stepgate audit verify --edge` (shared/audit-verify-pages.ts):
// each page must begin where the one before ended, by sequence and by hash, so no page is skipped.
document.getElementById('verify')?.addEventListener('click', async () => {
  say('Verifying…');
  const fetchPage = async (from: number): Promise<unknown> => {
    const r = await send<unknown>('GET', `/.stepgate/api/admin/audit/verify?from=${from}&limit=${VERIFY_PAGE}`);
    if (!r.ok) throw new VerifyRefused(r.problem);
    return r.data;
  };
  try {
    const r = await verifyPages(fetchPage, {
      parallel: 1,
      pageSize: VERIFY_PAGE,
      onPage: (to, head) => say(`Verifying… through event ${to} of ${head}`),
    });
    if (r.ok) say(`The chain is intact: ${r.rows} events through sequence ${r.to}.`);
    else if (r.refused) say(`The log could not be verified: ${r.detail}. Verify again; if it persists, use stepgate audit verify.`);
    else say(`Tampering found at event ${r.seq}: ${r.problem} (${r.detail}).`);
  } catch (e) {
    if (!(e instanceof VerifyRefused)) throw e;
    if (e.problem.code === ErrorCode.FreshStepUpRequired) askToConfirm('Confirm it is you, then verify again.');
    else say(explain(e.problem));
  }
});

void load();
