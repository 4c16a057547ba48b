// Local keys, exactly as the Supabase CLI's local stack makes them: the
// well-known local JWT secret, and anon / service_role keys signed with it.
// Never use these outside a developer machine.
import { SignJWT } from "jose";

export const LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
// Encrypts calendar credentials at rest (pgcrypto); hosted projects set their
// own with `supabase secrets set CALENDAR_CREDENTIALS_KEY=...`.
export const LOCAL_CALENDAR_CREDENTIALS_KEY = "local-calendar-credentials-key-not-for-production";

const secretKey = () => new TextEncoder().encode(LOCAL_JWT_SECRET);

// The CLI's keys carry exactly these claims (and expire in 2032), so signing
// them again yields byte-identical, familiar tokens.
export function signRoleKey(role: "anon" | "service_role"): Promise<string> {
  return new SignJWT({ iss: "supabase-demo", role, exp: 1983812996 })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(secretKey());
}

export interface UserTokenInput {
  id: string;
  email: string;
  apiUrl: string;
  ttlSeconds?: number;
  now?: Date;
}

// A user access token shaped like the ones Supabase Auth issues.
export function signUserToken(user: UserTokenInput): Promise<string> {
  const iat = Math.floor((user.now ?? new Date()).getTime() / 1000);
  return new SignJWT({
    aud: "authenticated",
    sub: user.id,
    email: user.email,
    phone: "",
    app_metadata: { provider: "email", providers: ["email"] },
    user_metadata: {},
    role: "authenticated",
    aal: "aal1",
    amr: [{ method: "password", timestamp: iat }],
    session_id: crypto.randomUUID(),
    is_anonymous: false,
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(`${user.apiUrl}/auth/v1`)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (user.ttlSeconds ?? 7 * 24 * 3600))
    .sign(secretKey());
}
