/**
 * @module Browser side of the audit console: confirm it is you, list with filters and a cursor,
 * export, verify, create a token; for a person with no role the bootstrap claim, for an owner or
 * admin a role grant. Everything is rendered with textContent.
 */
import { startAuthentication, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { ErrorCode } from '../../shared/errors';
import { displaySegments } from '../../shared/visible-text';
import type { FreshStepUpChallenge } from '../../shared/wire-shapes';
import { $, explain, get, post } from './api';

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

/** GET /.stepgate/api/admin/me: the caller's organisations and roles. */
interface Me {
  person: string;
  org: string;
  orgs: { id: string; roles: { role: string; app_id: string | null }[] }[];
}

const status = $('status');
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
    if (v) q.set(k, new Date(`${v}Z`).toISOString());
  }
  return q;
}

/** A table cell of text; invisible, bidi and control characters (in a path, a name) shown as marked escapes. */
const cell = (text: string): HTMLTableCellElement => {
  const td = document.createElement('td');
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

async function load(more = false): Promise<void> {
  if (!more) {
    cursor = null;
    tbody.replaceChildren();
  }
  const q = query();
  q.set('limit', '50');
  if (cursor) q.set('cursor', cursor);
  for (const f of ['ndjson', 'csv', 'ocsf']) {
    const x = query();
    x.set('format', f);
    $<HTMLAnchorElement>(`x-${f}`).href = `/.stepgate/api/admin/audit/export?${x}`;
  }
  const r = await get<{ events: { event: AuditEvent }[]; next_cursor: string | null }>(`/.stepgate/api/admin/audit/events?${q}`);
  if (!r.ok) {
    if (r.problem.code === ErrorCode.FreshStepUpRequired) askToConfirm('Confirm it is you to read the audit log.');
    else if (r.problem.code === ErrorCode.Forbidden) await whoAmI(explain(r.problem));
    else status.textContent = explain(r.problem);
    return;
  }
  $('confirm').hidden = true;
  if (!more) void whoAmI();
  for (const { event: e } of r.data.events) {
    const tr = document.createElement('tr');
    tr.className = e.outcome;
    tr.replaceChildren(
      cell(String(e.seq)),
      cell(e.time.replace('T', ' ').replace('Z', '')),
      cell(e.type + (e.reason ? ` (${e.reason})` : '')),
      cell(e.outcome),
      cell((e.actor ?? (e.via === 'system' ? 'system' : 'anonymous')) + (e.target ? ` → ${e.target}` : '')),
      cell([e.app, e.request ? `${e.request.method} ${e.request.path}` : '', e.request?.ip ?? ''].filter(Boolean).join(' ')),
      cell([e.rule, e.factor].filter(Boolean).join(' · ')),
    );
    tbody.appendChild(tr);
  }
  cursor = r.data.next_cursor;
  $('more').hidden = cursor === null;
  status.textContent = tbody.children.length ? '' : 'No events match.';
}

function askToConfirm(why: string): void {
  $('confirm').hidden = false;
  status.textContent = why;
}

/** The caller's organisation, once GET me has answered. */
let org: string | null = null;

/**
 * Ask GET me for the caller's roles: none offers the bootstrap claim (with `refused`, why the log
 * was refused); owner or admin shows the role grant.
 */
async function whoAmI(refused?: string): Promise<void> {
  const r = await get<Me>('/.stepgate/api/admin/me');
  if (!r.ok) {
    if (r.problem.code === ErrorCode.FreshStepUpRequired) askToConfirm('Confirm it is you to see your roles here.');
    else status.textContent = refused ?? explain(r.problem);
    return;
  }
  $('confirm').hidden = true;
  org = r.data.org;
  const roles = (r.data.orgs.find((o) => o.id === r.data.org)?.roles ?? []).map((x) => x.role);
  $('claim').hidden = roles.length > 0;
  $('grant').hidden = !roles.some((x) => x === 'owner' || x === 'admin');
  if (refused !== undefined)
    status.textContent = roles.length ? refused : `${refused} You (${r.data.person}) hold no role in "${r.data.org}".`;
}

$('claim-owner').addEventListener('click', async () => {
  const r = await post<{ org: string }>('/.stepgate/api/admin/bootstrap', {});
  if (!r.ok) {
    if (r.problem.code === ErrorCode.FreshStepUpRequired) askToConfirm('Confirm it is you to claim ownership.');
    else status.textContent = explain(r.problem);
    return;
  }
  $('claim').hidden = true;
  await load();
  status.textContent = `You own "${r.data.org}" now.`;
});

$<HTMLFormElement>('grant-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const person = $<HTMLInputElement>('grant-person').value.trim();
  const role = $<HTMLSelectElement>('grant-role').value;
  if (!person || !org) return;
  const r = await post(`/.stepgate/api/admin/orgs/${encodeURIComponent(org)}/roles`, { person, role });
  if (!r.ok) {
    if (r.problem.code === ErrorCode.FreshStepUpRequired) askToConfirm('Confirm it is you to grant a role.');
    else status.textContent = explain(r.problem);
    return;
  }
  status.textContent = `${person} is ${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role} of "${org}" now.`;
});

/** Start a "confirm it is you" challenge; returns its id. */
async function challenge(): Promise<string | null> {
  const r = await post<FreshStepUpChallenge>('/.stepgate/api/factors/step-up');
  if (!r.ok) {
    status.textContent = explain(r.problem);
    return null;
  }
  return r.data.challenge_id;
}

$<HTMLFormElement>('confirm-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const id = await challenge();
  if (!id) return;
  const code = $<HTMLInputElement>('confirm-code').value.trim();
  const method = /^\d{6,8}$/.test(code) ? 'totp' : 'recovery';
  const r = await post(`/.stepgate/api/challenges/${id}/verify`, { method, code });
  if (!r.ok) status.textContent = explain(r.problem);
  else await load();
});

$('confirm-passkey').addEventListener('click', async () => {
  const id = await challenge();
  if (!id) return;
  const options = await post<PublicKeyCredentialRequestOptionsJSON>(`/.stepgate/api/challenges/${id}/webauthn/options`);
  if (!options.ok) {
    status.textContent = explain(options.problem);
    return;
  }
  try {
    const response = await startAuthentication({ optionsJSON: options.data });
    const r = await post(`/.stepgate/api/challenges/${id}/verify`, { method: 'webauthn', response });
    if (!r.ok) status.textContent = explain(r.problem);
    else await load();
  } catch (err) {
    status.textContent = `The passkey prompt was closed or failed (${(err as Error).name}).`;
  }
});

$<HTMLFormElement>('filters').addEventListener('submit', (e) => {
  e.preventDefault();
  void load();
});
$('more').addEventListener('click', () => void load(true));

$('verify').addEventListener('click', async () => {
  status.textContent = 'Verifying…';
  let from = 1;
  let rows = 0;
  for (;;) {
    const r = await get<{
      ok: boolean;
      rows: number;
      next: number | null;
      to: number;
      seq?: number;
      problem?: string;
      detail?: string;
      checkpoints: number;
    }>(`/.stepgate/api/admin/audit/verify?from=${from}&limit=2000`);
    if (!r.ok) {
      status.textContent = explain(r.problem);
      return;
    }
    rows += r.data.rows;
    if (!r.data.ok) {
      status.textContent = `Tampering found at sequence ${r.data.seq}: ${r.data.problem} (${r.data.detail}).`;
      return;
    }
    if (r.data.next === null) {
      status.textContent = `The chain is intact: ${rows} events through sequence ${r.data.to}.`;
      return;
    }
    from = r.data.next;
    status.textContent = `Verifying… ${rows} events so far`;
  }
});

$<HTMLFormElement>('token-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await post<{ token: string }>('/.stepgate/api/tokens', {
    scopes: ['audit:read'],
    ttl_days: 7,
    label: $<HTMLInputElement>('token-label').value.trim() || 'stepgate CLI',
  });
  if (!r.ok) status.textContent = explain(r.problem);
  else $('token').textContent = r.data.token;
});

void load();
