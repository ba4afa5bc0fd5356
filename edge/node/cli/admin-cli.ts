/**
 * @module `stepgate admin …`: the admin API from a terminal, with a personal API token (acting as
 * its owner, with their roles at the moment of use, in the token's organisation): apps, their
 * policies, the roles, a person, the dashboard. Answers in words (--json for the API's JSON).
 * What a person must do in a browser (roles, unlocking, revocation, recovery) is not here: the
 * gateway refuses it to any token.
 */
import { writeFileSync } from 'node:fs';
import { UsageError, type Command, type OptionSpec } from './args';
import { admin, jsonArg, need, request, seg, when } from './admin-client';

interface AppJson {
  id: string;
  name: string;
  hosts: string[];
  /** The app bundled with the deployment: its hosts are the deployment's (policy.json, BUNDLED_APP_HOSTS). */
  bundled?: boolean;
  origin_url: string | null;
  identity: { source: string };
  created_at: string;
  updated_at: string;
}

const API = '/.stepgate/api/admin/orgs';
const hostsOf = (v: string): string[] =>
  v
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);

const showApp = (a: AppJson): string[] => [
  `app ${a.id}: ${a.name}`,
  `  hosts:    ${a.hosts.join(', ')}`,
  `  origin:   ${a.origin_url ?? '(the Cloudflare-proxied origin)'}`,
  `  identity: ${a.identity.source}`,
  `  created:  ${when(a.created_at)}; changed: ${when(a.updated_at)}`,
];

const APP_OPTIONS: Record<string, OptionSpec> = {
  name: { type: 'string', value: 'NAME', help: 'the app’s name' },
  hosts: { type: 'string', value: 'H,...', help: 'the host names it serves, comma-separated' },
  origin: { type: 'string', value: 'URL', help: 'its origin, https://… (or "none": the Cloudflare-proxied origin)' },
  identity: { type: 'string', value: 'FILE|JSON', help: 'its identity configuration, e.g. {"source":"jwt","jwksUrl":"…"}' },
};
const originOf = (v: string): string | null => (v === 'none' ? null : v);

export const ADMIN_COMMANDS: Command[] = [
  admin(
    'whoami',
    '[--edge URL] [--token TOKEN]',
    'Show whose token this is, its organisation, scopes and expiry.',
    {},
    async ({ c, show }) => {
      const t = (await request(c, 'GET', '/.stepgate/api/tokens/current')) as {
        id: string;
        org: string;
        user: string;
        label: string;
        scopes: string[];
        expires_at: string;
      };
      show(t, () => [
        `${t.user} in organisation ${t.org}, with token "${t.label}" (${t.id})`,
        `  scopes:  ${t.scopes.join(', ')}`,
        `  expires: ${when(t.expires_at)}`,
      ]);
    },
  ),
  admin('apps list', '[--org ORG]', 'List the organisation’s apps you may read.', {}, async ({ c, org, show }) => {
    const { apps } = (await request(c, 'GET', `${API}/${seg(await org())}/apps`)) as { apps: AppJson[] };
    show({ apps }, () =>
      apps.length === 0
        ? ['no apps']
        : apps.map((a) => `${a.id}  ${a.name}  (${a.bundled ? 'the deployment’s hosts' : a.hosts.join(', ')})`),
    );
  }),
  admin(
    'apps show',
    'APP [--org ORG]',
    'Show one app: its hosts, origin and identity source.',
    { positionals: 1 },
    async ({ c, org, args, show }) => {
      const { app } = (await request(c, 'GET', `${API}/${seg(await org())}/apps/${seg(need(args, 0, 'APP (the app id)'))}`)) as {
        app: AppJson;
      };
      show({ app }, () => showApp(app));
    },
  ),
  admin(
    'apps create',
    '--name NAME --hosts H,... --identity FILE|JSON --policy FILE [--origin URL] [--org ORG]',
    'Create an app with its hosts, identity configuration and policy.',
    { options: { ...APP_OPTIONS, policy: { type: 'string', value: 'FILE', help: 'its policy (the format of docs/policy.md)' } } },
    async ({ c, org, args: { values: v }, io, show }) => {
      for (const o of ['name', 'hosts', 'identity', 'policy'])
        if (typeof v[o] !== 'string') throw new UsageError('--name, --hosts, --identity and --policy are required');
      const body = {
        name: v.name,
        hosts: hostsOf(v.hosts as string),
        origin_url: typeof v.origin === 'string' ? originOf(v.origin) : null,
        identity: jsonArg('identity', v.identity as string, io),
        policy: jsonArg('policy', v.policy as string, io),
      };
      const r = (await request(c, 'POST', `${API}/${seg(await org())}/apps`, body)) as { app: AppJson; policy_hash: string };
      show(r, () => [`created app ${r.app.id} (${r.app.name}) on ${r.app.hosts.join(', ')}; policy ${r.policy_hash}`]);
    },
  ),
  admin(
    'apps update',
    'APP [--name NAME] [--hosts H,...] [--origin URL|none] [--identity FILE|JSON] [--org ORG]',
    'Change an app’s name, hosts, origin or identity configuration (only what you name).',
    { options: APP_OPTIONS, positionals: 1 },
    async ({ c, org, args, io, show }) => {
      const v = args.values;
      const app = need(args, 0, 'APP (the app id)');
      const body = {
        ...(typeof v.name === 'string' ? { name: v.name } : {}),
        ...(typeof v.hosts === 'string' ? { hosts: hostsOf(v.hosts) } : {}),
        ...(typeof v.origin === 'string' ? { origin_url: originOf(v.origin) } : {}),
        ...(typeof v.identity === 'string' ? { identity: jsonArg('identity', v.identity, io) } : {}),
      };
      if (Object.keys(body).length === 0) throw new UsageError('name at least one of --name, --hosts, --origin, --identity');
      const r = (await request(c, 'PATCH', `${API}/${seg(await org())}/apps/${seg(app)}`, body)) as { app: AppJson };
      show(r, () => [`updated app ${r.app.id}`, ...showApp(r.app).slice(1)]);
    },
  ),
  admin(
    'apps delete',
    'APP --yes [--org ORG]',
    'Delete an app, its hosts, policy and app-admin roles. Asks for --yes.',
    { options: { yes: { type: 'boolean', help: 'yes, delete it (its hosts stop being served at once)' } }, positionals: 1 },
    async ({ c, org, args, show }) => {
      const app = need(args, 0, 'APP (the app id)');
      if (args.values.yes !== true) throw new UsageError(`deleting app ${app} cannot be undone: add --yes`);
      const r = await request(c, 'DELETE', `${API}/${seg(await org())}/apps/${seg(app)}`, {});
      show(r, () => [`deleted app ${app}`]);
    },
  ),
  admin(
    'policy get',
    'APP [--out FILE] [--org ORG]',
    'Print an app’s policy as JSON (or write it to FILE), to edit and put back.',
    { options: { out: { type: 'string', value: 'FILE', help: 'write the policy to FILE' } }, positionals: 1 },
    async ({ c, org, args, io }) => {
      const r = (await request(c, 'GET', `${API}/${seg(await org())}/apps/${seg(need(args, 0, 'APP (the app id)'))}/policy`)) as {
        policy: unknown;
        hash: string;
        updated_at: string;
        updated_by: string | null;
      };
      const text = JSON.stringify(c.json ? r : r.policy, null, 2);
      if (typeof args.values.out !== 'string') return io.out(text);
      writeFileSync(args.values.out, `${text}\n`);
      io.out(`wrote the policy (${r.hash}, saved ${when(r.updated_at)} by ${r.updated_by ?? 'configuration'}) to ${args.values.out}`);
    },
  ),
  admin(
    'policy put',
    'APP --file FILE [--org ORG]',
    'Replace an app’s policy with FILE (checked by the gateway; `stepgate policy check FILE` first).',
    { options: { file: { type: 'string', value: 'FILE', help: 'the policy to save' } }, positionals: 1 },
    async ({ c, org, args, io, show }) => {
      const app = need(args, 0, 'APP (the app id)');
      if (typeof args.values.file !== 'string') throw new UsageError('--file FILE is required');
      const policy = jsonArg('file', args.values.file, io);
      const r = (await request(c, 'PUT', `${API}/${seg(await org())}/apps/${seg(app)}/policy`, { policy })) as {
        hash: string;
        version?: number;
        state?: string;
        changes?: { kind: string; message: string }[];
      };
      // A change that weakens protection is only a proposal until a second person approves it (docs/policy.md, "Versions").
      show(r, () =>
        r.state === 'proposed'
          ? [
              `proposed version ${r.version} of app ${app}'s policy (${r.hash}): it weakens protection,` +
                ' so it waits for a second owner or admin to approve it',
              ...(r.changes ?? []).filter((ch) => ch.kind === 'weakens').map((ch) => `  - ${ch.message}`),
            ]
          : [`saved the policy of app ${app} (${r.hash})`],
      );
    },
  ),
  admin('roles list', '[--org ORG]', 'List who holds which role in the organisation.', {}, async ({ c, org, show }) => {
    const { grants } = (await request(c, 'GET', `${API}/${seg(await org())}/roles`)) as {
      grants: { id: string; person: string; role: string; app_id: string | null; granted_by: string | null; granted_at: string }[];
    };
    show({ grants }, () =>
      grants.length === 0
        ? ['no roles']
        : grants.map(
            (g) =>
              `${g.person}  ${g.role}${g.app_id ? ` of app ${g.app_id}` : ''}  ` +
              `(granted ${when(g.granted_at)} by ${g.granted_by ?? 'configuration'}; grant ${g.id})`,
          ),
    );
  }),
];
