/**
 * @module `stepgate admin people show` and `stepgate admin dashboard`: what the console shows about a
 * person and the organisation's step-ups, failures, denials and lockouts, as text for a terminal.
 */
import type { Command } from './args';
import { admin, need, request, seg, when } from './admin-client';

interface PersonJson {
  user: string;
  factors: { kind: string; label?: string; created_at: string }[];
  locked: { consecutive_failures: number; backoff_until: string | null; locked_out?: boolean };
  roles: { role: string; app_id: string | null; grant: string }[];
  tokens: { id: string; label: string; scopes: string[]; expires_at: string; revoked: boolean }[];
  recovery: null | { id: string; state: string; effective_at: string | null };
}

interface DashboardJson {
  from: number;
  to: number;
  days: { day: string; app: string; stepUps: number; failures: number; denials: number; lockouts: number }[];
  apps: string[];
  topDeniedRoutes: { route: string; count: number }[];
  topDeniedPeople: { person: string; count: number }[];
}

const API = '/.stepgate/api/admin/orgs';

const factorOf = (f: PersonJson['factors'][number]) => `${f.kind}${f.label ? ` "${f.label}"` : ''} (${when(f.created_at)})`;
const recoveryOf = (r: NonNullable<PersonJson['recovery']>) => `${r.state}${r.effective_at ? `, effective ${when(r.effective_at)}` : ''}`;

function personLines(p: PersonJson): string[] {
  const lock = p.locked.locked_out
    ? 'locked out (someone must unlock them)'
    : p.locked.backoff_until
      ? `backing off until ${when(p.locked.backoff_until)}`
      : 'not locked';
  return [
    `${p.user}`,
    `  factors:  ${p.factors.length === 0 ? 'none' : p.factors.map(factorOf).join('; ')}`,
    `  sign-in:  ${lock}; ${p.locked.consecutive_failures} failure(s) in a row`,
    `  roles:    ${p.roles.length === 0 ? 'none' : p.roles.map((r) => `${r.role}${r.app_id ? ` of app ${r.app_id}` : ''}`).join(', ')}`,
    `  tokens:   ${
      p.tokens.length === 0
        ? 'none'
        : p.tokens.map((t) => `"${t.label}" ${t.scopes.join('+')} ${t.revoked ? 'revoked' : `until ${when(t.expires_at)}`}`).join('; ')
    }`,
    `  recovery: ${p.recovery === null ? 'none open' : recoveryOf(p.recovery)}`,
  ];
}

function dashboardLines(d: DashboardJson): string[] {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const totals = new Map<string, { stepUps: number; failures: number; denials: number; lockouts: number }>();
  for (const r of d.days) {
    const t = totals.get(r.day) ?? { stepUps: 0, failures: 0, denials: 0, lockouts: 0 };
    totals.set(r.day, {
      stepUps: t.stepUps + r.stepUps,
      failures: t.failures + r.failures,
      denials: t.denials + r.denials,
      lockouts: t.lockouts + r.lockouts,
    });
  }
  const row = (cells: (string | number)[]) => cells.map((c, i) => (i === 0 ? String(c).padEnd(12) : String(c).padStart(10))).join('');
  return [
    `from ${day(d.from)} to ${day(d.to - 1)} (UTC), apps: ${d.apps.length === 0 ? 'none with events' : d.apps.join(', ')}`,
    '',
    row(['day', 'step-ups', 'failures', 'denials', 'lockouts']),
    ...[...totals].map(([k, t]) => row([k, t.stepUps, t.failures, t.denials, t.lockouts])),
    '',
    'most denied routes:',
    ...(d.topDeniedRoutes.length === 0 ? ['  none'] : d.topDeniedRoutes.map((r) => `  ${String(r.count).padStart(6)}  ${r.route}`)),
    'most denied people:',
    ...(d.topDeniedPeople.length === 0 ? ['  none'] : d.topDeniedPeople.map((r) => `  ${String(r.count).padStart(6)}  ${r.person}`)),
  ];
}

export const ADMIN_REPORT_COMMANDS: Command[] = [
  admin(
    'people show',
    'USER [--org ORG]',
    'Show a person: their factors, lockout, roles, tokens and any open recovery.',
    { positionals: 1 },
    async ({ c, org, args, show }) => {
      const p = (await request(
        c,
        'GET',
        `${API}/${seg(await org())}/people/${seg(need(args, 0, 'USER (their user id in the app)'))}`,
      )) as PersonJson;
      show(p, () => personLines(p));
    },
  ),
  admin(
    'dashboard',
    '[--from DAY] [--to DAY] [--org ORG]',
    'Step-ups, failures, denials and lockouts per day, and the most denied routes and people.',
    {
      options: {
        from: { type: 'string', value: 'DAY', help: 'first day, YYYY-MM-DD (default: 14 days ago; at most 90 days)' },
        to: { type: 'string', value: 'DAY', help: 'last day, YYYY-MM-DD (default: today)' },
      },
    },
    async ({ c, org, args: { values: v }, show }) => {
      const q = new URLSearchParams();
      if (typeof v.from === 'string') q.set('from', v.from);
      // The API's `to` is exclusive: the day after the last day asked for.
      if (typeof v.to === 'string')
        q.set('to', /^\d{4}-\d\d-\d\d$/.test(v.to) ? new Date(Date.parse(v.to) + 86_400_000).toISOString().slice(0, 10) : v.to);
      const d = (await request(c, 'GET', `${API}/${seg(await org())}/dashboard${q.toString() ? `?${q}` : ''}`)) as DashboardJson;
      show(d, () => dashboardLines(d));
    },
  ),
];
