/**
 * @module The console's app form (create an app, or change one): name, hosts, origin and how the
 * app says who is signed in, one set of fields per identity source (edge/identity/identity-config.ts),
 * each named in words. The page script (edge/browser/apps.ts) reads the fields of the chosen source
 * by their `data-key` and sends them to the admin API, which validates everything again.
 */
import { html } from 'hono/html';
import type { App } from '../admin/app-store';
import type { IdentityConfig } from '../identity/identity-config';

type Source = IdentityConfig['source'];
interface Field {
  key: string;
  label: string;
  kind: 'text' | 'url' | 'number' | 'checkbox';
  hint?: string;
}

/** The identity sources, in words, and their fields (`loginUrl` is common to all). */
const SOURCES: { source: Source; label: string; fields: Field[]; devOnly?: boolean }[] = [
  {
    source: 'jwt',
    label: 'A session token (JWT) the app sets',
    fields: [
      { key: 'cookie', label: 'Cookie holding the token', kind: 'text', hint: 'e.g. session' },
      { key: 'bearer', label: 'Also read the Authorization: Bearer header', kind: 'checkbox' },
      { key: 'jwksUrl', label: 'Where the signing keys are (JWKS address)', kind: 'url' },
      { key: 'issuer', label: 'Issuer the token names', kind: 'text' },
      { key: 'audience', label: 'Audience the token names', kind: 'text' },
      { key: 'userClaim', label: 'Claim naming the person (default sub)', kind: 'text' },
      { key: 'clockToleranceSeconds', label: 'Clock skew tolerated, seconds (default 30)', kind: 'number' },
    ],
  },
  {
    source: 'introspect',
    label: 'The app’s own “who am I” endpoint (server-side sessions)',
    fields: [
      { key: 'cookie', label: 'The app’s session cookie', kind: 'text', hint: 'e.g. sessionid' },
      { key: 'url', label: 'Address of the “who am I” endpoint', kind: 'url' },
      { key: 'userField', label: 'Field naming the person in its answer (default id)', kind: 'text' },
      { key: 'cacheSeconds', label: 'Keep an answer for, seconds (default 30)', kind: 'number' },
      { key: 'timeoutMs', label: 'Wait for it at most, milliseconds (default 2000)', kind: 'number' },
    ],
  },
  {
    source: 'cloudflareAccess',
    label: 'Cloudflare Access',
    fields: [
      { key: 'teamDomain', label: 'Team domain', kind: 'url', hint: 'https://yourteam.cloudflareaccess.com' },
      { key: 'audience', label: 'Application audience (AUD) tag', kind: 'text' },
    ],
  },
  {
    source: 'dev',
    label: 'A header naming the person (development only)',
    devOnly: true,
    fields: [{ key: 'header', label: 'Header', kind: 'text' }],
  },
];

/** How an app says who is signed in, in one sentence. */
export function identityWords(i: IdentityConfig): string {
  const login = i.loginUrl ? ` People who are not signed in are sent to ${i.loginUrl}.` : '';
  switch (i.source) {
    case 'jwt': {
      const cookie = i.cookie ? `the cookie “${i.cookie}”` : '';
      const where = [cookie, i.bearer ? 'the Authorization header' : ''].filter(Boolean).join(' or ');
      const keys = i.jwksUrl ? `keys from ${i.jwksUrl}` : 'the deployment’s shared secret';
      const by = `issued by “${i.issuer ?? '?'}” for “${i.audience ?? '?'}”`;
      return `A session token in ${where}, ${by}, checked with ${keys}.${login}`;
    }
    case 'introspect':
      return (
        `The app’s “who am I” endpoint ${i.url}, asked with the cookie “${i.cookie}”; ` +
        `the person is its field “${i.userField ?? 'id'}”.${login}`
      );
    case 'cloudflareAccess':
      return `Cloudflare Access of ${i.teamDomain} (audience ${i.audience}).${login}`;
    case 'dev':
      return `Development only: the header “${i.header ?? 'Stepgate-Dev-User'}” names the person.${login}`;
  }
}

const settingOf = (i: IdentityConfig | undefined, key: string): unknown =>
  i === undefined ? undefined : (i as unknown as Record<string, unknown>)[key];

const fieldHtml = (prefix: string, source: Source, f: Field, current: IdentityConfig | undefined) => {
  const id = `${prefix}-${source}-${f.key}`;
  const v = current?.source === source ? settingOf(current, f.key) : undefined;
  if (f.kind === 'checkbox') {
    const checked = v === true ? html` checked` : '';
    return html`<label class="check"><input type="checkbox" id="${id}" data-key="${f.key}" data-kind="checkbox"${checked}>
${f.label}</label>`;
  }
  return html`<label for="${id}">${f.label}</label>
<input id="${id}" data-key="${f.key}" data-kind="${f.kind}" type="${f.kind === 'number' ? 'number' : 'text'}"
 value="${v === undefined ? '' : String(v)}"${f.hint ? html` placeholder="${f.hint}"` : ''} autocomplete="off" spellcheck="false">`;
};

/**
 * The form for a new app (`app` undefined) or for changing `app`. `prefix` makes its ids unique on
 * the page; `development` offers the dev source.
 */
export function appForm(o: { prefix: string; app?: App; development: boolean }) {
  const a = o.app;
  const sources = SOURCES.filter((s) => !s.devOnly || o.development || a?.identity.source === s.source);
  const chosen = a?.identity.source ?? 'jwt';
  const options = sources.map((s) =>
    s.source === chosen
      ? html`<option value="${s.source}" selected>${s.label}</option>`
      : html`<option value="${s.source}">${s.label}</option>`,
  );
  const sets = sources.map(
    (s) => html`<fieldset class="identity-fields" data-source="${s.source}"${s.source === chosen ? '' : html` hidden`}>
<legend>${s.label}</legend>
${s.fields.map((f) => fieldHtml(o.prefix, s.source, f, a?.identity))}
</fieldset>`,
  );
  const p = o.prefix;
  return html`<form class="app-form stack" data-app="${a?.id ?? ''}" novalidate>
<label for="${p}-name">Name</label>
<input id="${p}-name" data-field="name" maxlength="100" value="${a?.name ?? ''}" required autocomplete="off">
<label for="${p}-hosts">Hosts it is served on (separate them with spaces)</label>
<input id="${p}-hosts" data-field="hosts" value="${a?.hosts.join(' ') ?? ''}" required autocomplete="off" spellcheck="false"
 placeholder="app.example.com">
<label for="${p}-origin">Origin to forward to (leave empty for the Cloudflare-proxied origin)</label>
<input id="${p}-origin" data-field="origin" value="${a?.originUrl ?? ''}" autocomplete="off" spellcheck="false"
 placeholder="https://origin.example.com">
<label for="${p}-source">How the app says who is signed in</label>
<select id="${p}-source" data-field="source">${options}</select>
${sets}
<label for="${p}-login">Where people who are not signed in go (optional, a path such as /login)</label>
<input id="${p}-login" data-field="loginUrl" value="${a?.identity.loginUrl ?? ''}" autocomplete="off" spellcheck="false">
${
  a
    ? ''
    : html`<label for="${p}-policy">Policy (the format of the policy guide; you can change it later)</label>
<textarea id="${p}-policy" data-field="policy" rows="10" spellcheck="false">${STARTER_POLICY}</textarea>`
}
<p><button type="submit">${a ? 'Save changes' : 'Create the app'}</button></p>
</form>`;
}

/** The policy a new app starts with: every write needs a passkey or an authenticator app, for 5 minutes. */
const STARTER_POLICY = JSON.stringify(
  {
    version: 1,
    rules: [
      {
        id: 'writes',
        match: { methods: ['POST', 'PUT', 'PATCH', 'DELETE'], path: '/**' },
        require: { factors: ['webauthn', 'totp'], bind: 'session', maxAge: '5m' },
      },
    ],
  },
  null,
  2,
);
