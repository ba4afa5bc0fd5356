/**
 * @module What the protected-route bench needs before it can load a gateway: a signed-in person (the
 * demo app's `demo_session` JWT) with an authenticator app, and their session grant for the demo
 * policy's `admin-writes` rule (`POST /admin/**`, `bind: "session"`), obtained the way a browser
 * obtains it: the request, its 401 with a challenge, the TOTP answer, the grant cookie.
 */
import { generate } from 'otplib';
import { demoSessionCookie } from '../support/session';

/** The route and body the protected runs send: the demo's settings form, under `admin-writes`. */
export const PROTECTED_PATH = '/admin/settings';
export const PROTECTED_BODY = 'support_email=bench%40example.test';
export const FORM = 'application/x-www-form-urlencoded';

/** A `demo_session` cookie for `user` in session `sid`, signed with `secret` as the demo app signs it. */
export const demoSession = demoSessionCookie;

const postJson = (base: URL, path: string, cookie: string, body: unknown) =>
  fetch(new URL(path, base), {
    method: 'POST',
    headers: { cookie, origin: base.origin, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

async function expectOk(r: Response, what: string): Promise<Response> {
  if (!r.ok) throw new Error(`bench setup: ${what} answered ${r.status}: ${(await r.text()).slice(0, 300)}`);
  return r;
}

/**
 * Sign `user` in, enrol an authenticator app, and step up once for `admin-writes`: the Cookie header
 * that carries the session and its grant (valid for the rule's 5 minutes).
 */
export async function sessionGrantCookie(base: URL, secret: string, user: string): Promise<string> {
  const cookie = await demoSession(secret, user, `${user}-bench`);
  const nowSeconds = () => Math.floor(Date.now() / 1000);
  const start = (await (await expectOk(await postJson(base, '/.stepgate/api/factors/totp', cookie, {}), 'enrolment')).json()) as {
    id: string;
    secret: string;
  };
  // Confirm with the previous time step's code, answer the challenge with the current one: two steps, each spent once.
  const confirmWith = async (epoch: number) =>
    postJson(base, `/.stepgate/api/factors/totp/${start.id}/confirm`, cookie, { code: await generate({ secret: start.secret, epoch }) });
  let confirmEpoch = nowSeconds() - 30;
  let confirmed = await confirmWith(confirmEpoch);
  if (confirmed.status === 400) {
    // A time-step boundary passed between making the code and checking it (seen on a loaded CI run): the
    // previous step is now two back, outside the window. Once more with the new previous step's code.
    confirmEpoch = nowSeconds() - 30;
    confirmed = await confirmWith(confirmEpoch);
  }
  await expectOk(confirmed, 'confirmation');
  const first = await fetch(new URL(PROTECTED_PATH, base), {
    method: 'POST',
    headers: { cookie, 'content-type': FORM },
    body: PROTECTED_BODY,
  });
  if (first.status !== 401) throw new Error(`bench setup: the protected route answered ${first.status}, not 401`);
  const { challenge_id } = (await first.json()) as { challenge_id: string };
  // The current step: later than the confirmation's, so never the same code.
  const code = await generate({ secret: start.secret, epoch: Math.max(nowSeconds(), confirmEpoch + 30) });
  const ok = await expectOk(
    await postJson(base, `/.stepgate/api/challenges/${challenge_id}/verify`, cookie, { method: 'totp', code }),
    'step-up',
  );
  const grant = ok.headers.get('set-cookie')?.split(';')[0];
  if (!grant) throw new Error('bench setup: the step-up set no grant cookie');
  const withGrant = `${cookie}; ${grant}`;
  const check = await fetch(new URL(PROTECTED_PATH, base), {
    method: 'POST',
    headers: { cookie: withGrant, 'content-type': FORM },
    body: PROTECTED_BODY,
  });
  if (check.status !== 200) throw new Error(`bench setup: the grant did not pass (${check.status})`);
  return withGrant;
}
