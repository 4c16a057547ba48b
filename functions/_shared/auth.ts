// Who is calling: the Supabase JWT in `Authorization: Bearer`, verified here
// (the gateway's verify_jwt is off for the API so every 401 has our shape).
// HS256 tokens are checked with the project's JWT secret; asymmetric tokens
// (ES256/RS256, Supabase's JWT signing keys) against the JWKS when one is
// configured. Only the three API roles are accepted: the role claim becomes
// the database role, so anything else would be a privilege escalation.
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  type JWTPayload,
  jwtVerify,
} from "jose";
import type { ApiConfig } from "./config.ts";
import { createHs256Verifier, type DecodedJwt, decodeJwt } from "./hs256.ts";
import { fail } from "./problem.ts";

export type ApiRole = "anon" | "authenticated" | "service_role";

export interface Caller {
  role: ApiRole;
  userId: string | null;
  claims: JWTPayload;
}

const API_ROLES = new Set<ApiRole>(["anon", "authenticated", "service_role"]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ASYMMETRIC = new Set(["ES256", "RS256", "EdDSA"]);

type Verify = (token: string) => Promise<JWTPayload>;

function unauthorized(code: string, detail: string): never {
  fail(401, code, detail, { headers: { "www-authenticate": 'Bearer realm="api"' } });
}

export function createVerifier(config: ApiConfig): Verify {
  const hs256 = config.jwtSecret ? createHs256Verifier(config.jwtSecret) : null;
  const jwks = config.jwks
    ? createLocalJWKSet(config.jwks as Parameters<typeof createLocalJWKSet>[0])
    : config.jwksUrl
    ? createRemoteJWKSet(new URL(config.jwksUrl))
    : null;

  return async (token: string) => {
    let jwt: DecodedJwt;
    try {
      jwt = decodeJwt(token);
    } catch {
      unauthorized("invalid_token", "the bearer token is not a JWT");
    }
    const alg = jwt.header.alg;
    try {
      if (alg === "HS256") {
        if (!hs256) unauthorized("invalid_token", "HS256 tokens are not accepted here");
        return hs256(jwt);
      }
      if (alg && ASYMMETRIC.has(alg)) {
        if (!jwks) unauthorized("invalid_token", `${alg} tokens need a JWKS, none is configured`);
        return (await jwtVerify(token, jwks, { algorithms: [...ASYMMETRIC] })).payload;
      }
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) {
        unauthorized("token_expired", "the access token has expired; sign in again or refresh it");
      }
      if (err instanceof joseErrors.JWTClaimValidationFailed) {
        unauthorized("invalid_token", `the token's ${err.claim} claim is not valid`);
      }
      if (
        err instanceof joseErrors.JWSSignatureVerificationFailed ||
        err instanceof joseErrors.JWKSNoMatchingKey
      ) {
        unauthorized("invalid_token", "the token's signature does not verify");
      }
      if (err instanceof joseErrors.JOSEError) {
        unauthorized("invalid_token", "the bearer token is malformed");
      }
      throw err;
    }
    unauthorized("invalid_token", `tokens signed with ${alg ?? "no algorithm"} are not accepted`);
  };
}

// The caller, or null when no Authorization header is sent. A header that
// is present but wrong is always a 401, never silently ignored.
export async function authenticate(
  header: string | null,
  verify: Verify,
): Promise<Caller | null> {
  if (header === null || header.trim() === "") return null;
  const m = header.match(/^Bearer\s+([A-Za-z0-9\-_.=]+)\s*$/i);
  if (!m) unauthorized("invalid_authorization", "the Authorization header must be 'Bearer <JWT>'");
  const claims = await verify(m[1]);
  const role = claims.role;
  if (typeof role !== "string" || !API_ROLES.has(role as ApiRole)) {
    unauthorized(
      "invalid_role",
      "the token's role must be anon, authenticated or service_role",
    );
  }
  let userId: string | null = null;
  if (role === "authenticated") {
    if (typeof claims.sub !== "string" || !UUID.test(claims.sub)) {
      unauthorized("invalid_token", "an authenticated token needs a user id (sub) that is a UUID");
    }
    userId = claims.sub.toLowerCase();
  }
  return { role: role as ApiRole, userId, claims };
}

// Routes that act for a user accept only a user's token.
export function requireUser(caller: Caller | null): Caller & { userId: string } {
  if (!caller) {
    unauthorized(
      "missing_token",
      "this route needs a user's access token: Authorization: Bearer <access_token>",
    );
  }
  if (caller.role === "anon") {
    unauthorized(
      "user_token_required",
      "the anon key reaches only /health and /openapi.json; send a signed-in user's access token",
    );
  }
  if (caller.role !== "authenticated" || !caller.userId) {
    // A valid key, just not one that is a user: forbidden, not unauthenticated.
    fail(
      403,
      "user_token_required",
      "the service_role key cannot act as a user; send a user's access token",
    );
  }
  return caller as Caller & { userId: string };
}
