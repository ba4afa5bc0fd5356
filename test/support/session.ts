/** @module Demo-app session cookies for tests and the bench, signed exactly as the demo app signs them. */
import { SignJWT } from 'jose';

export const TEST_JWT_SECRET = 'test-only-identity-secret-0123456789abcdef';

/** A `demo_session` cookie for `user` in session `sid`, signed with `secret` (HS256). */
export async function demoSessionCookie(secret: string, user: string, sid: string): Promise<string> {
  const jwt = await new SignJWT({ sid })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .setIssuer('stepgate-demo')
    .setAudience('stepgate-demo')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
  return `demo_session=${jwt}`;
}

/** A `demo_session` cookie for `user` in session `sid`, with the tests' secret. */
export const sessionCookie = (user: string, sid: string = crypto.randomUUID()): Promise<string> =>
  demoSessionCookie(TEST_JWT_SECRET, user, sid);
