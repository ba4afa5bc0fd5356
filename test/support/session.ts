/** @module Demo-app session cookies for tests, signed exactly as the demo app signs them. */
import { SignJWT } from 'jose';

export const TEST_JWT_SECRET = 'test-only-identity-secret-0123456789abcdef';

/** A `demo_session` cookie for `user` in session `sid`. */
export async function sessionCookie(user: string, sid: string = crypto.randomUUID()): Promise<string> {
  const jwt = await new SignJWT({ sid })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .setIssuer('stepgate-demo')
    .setAudience('stepgate-demo')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
  return `demo_session=${jwt}`;
}
