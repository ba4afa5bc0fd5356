/**
 * @module Browser side of the console's audit log: search with filters and a cursor, export links
 * (each format downloads under its own file name, the one the export names), verify the chain. Every cell is text (textContent), one
 * line each: a long one is cut with its whole text on hover.
 */
import { ErrorCode } from '../../shared/errors';
import { displaySegments } from '../../shared/visible-text';
import { $, explain } from './api';
import { askToConfirm, refused, say, send } from './console-common';
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

document.getElementById('verify')?.addEventListener('click', async () => {
  say('Verifying…');
  let from = 1;
  let rows = 0;
  for (;;) {
    const r = await send<{ ok: boolean; rows: number; next: number | null; to: number; seq?: number; problem?: string; detail?: string }>(
      'GET',
      `/.stepgate/api/admin/audit/verify?from=${from}&limit=2000`,
    );
    if (!r.ok) {
      if (r.problem.code === ErrorCode.FreshStepUpRequired) askToConfirm('Confirm it is you, then verify again.');
      else say(explain(r.problem));
      return;
    }
    rows += r.data.rows;
    if (!r.data.ok) {
      say(`Tampering found at event ${r.data.seq}: ${r.data.problem} (${r.data.detail}).`);
      return;
    }
    if (r.data.next === null) {
      say(`The chain is intact: ${rows} events through sequence ${r.data.to}.`);
      return;
    }
    from = r.data.next;
    say(`Verifying… ${rows} events so far`);
  }
});

void load();
