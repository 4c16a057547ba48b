// JWT verification: HS256 with the project secret, ES256 through a JWKS, and
// every refusal a ProblemError with a specific code.
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { authenticate, createVerifier, requireUser } from "../../functions/_shared/auth.ts";
import { loadConfig } from "../../functions/_shared/config.ts";
import { ProblemError } from "../../functions/_shared/problem.ts";
import { assert, assertEquals } from "../e2e/_support/assert.ts";

const SECRET = "a-test-secret-that-is-at-least-32-characters";
const USER = "0b6f7c2e-3a8d-4e2f-9c1a-5d4e3f2a1b0c";

function hs256(claims: Record<string, unknown>, secret = SECRET, expiresIn = 600) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuedAt(now)
    .setExpirationTime(now + expiresIn).sign(new TextEncoder().encode(secret));
}

async function refusal(p: Promise<unknown>): Promise<[number, string]> {
  try {
    await p;
  } catch (err) {
    assert(err instanceof ProblemError, String(err));
    return [err.problem.status, err.problem.code];
  }
  throw new Error("expected a refusal");
}

const verify = createVerifier(loadConfig({ SUPABASE_JWT_SECRET: SECRET }));

Deno.test("an HS256 user token gives the caller, role and claims", async () => {
  const c = await authenticate(
    `Bearer ${await hs256({ sub: USER, role: "authenticated" })}`,
    verify,
  );
  assertEquals([c?.role, c?.userId], ["authenticated", USER]);
  assertEquals(requireUser(c).userId, USER);
  assertEquals(await authenticate(null, verify), null);
});

Deno.test("refusals: header shape, signature, expiry, role, subject", async () => {
  assertEquals(await refusal(authenticate("Token abc", verify)), [401, "invalid_authorization"]);
  assertEquals(await refusal(authenticate("Bearer abc.def", verify)), [401, "invalid_token"]);
  const forged = await hs256(
    { sub: USER, role: "authenticated" },
    "another-secret-another-secret-1234",
  );
  assertEquals(await refusal(authenticate(`Bearer ${forged}`, verify)), [401, "invalid_token"]);
  const old = await hs256({ sub: USER, role: "authenticated" }, SECRET, -10);
  assertEquals(await refusal(authenticate(`Bearer ${old}`, verify)), [401, "token_expired"]);
  const admin = await hs256({ sub: USER, role: "supabase_admin" });
  assertEquals(await refusal(authenticate(`Bearer ${admin}`, verify)), [401, "invalid_role"]);
  const noSub = await hs256({ role: "authenticated" });
  assertEquals(await refusal(authenticate(`Bearer ${noSub}`, verify)), [401, "invalid_token"]);
  const none = `${btoa('{"alg":"none"}')}.${btoa(`{"sub":"${USER}","role":"authenticated"}`)}.`;
  assertEquals(await refusal(authenticate(`Bearer ${none}`, verify)), [401, "invalid_token"]);
});

Deno.test("anon cannot act as a user (401); service_role is forbidden to (403)", async () => {
  const anon = await authenticate(`Bearer ${await hs256({ role: "anon" })}`, verify);
  assertEquals(await refusal(Promise.resolve().then(() => requireUser(anon))), [
    401,
    "user_token_required",
  ]);
  const svc = await authenticate(`Bearer ${await hs256({ role: "service_role" })}`, verify);
  assertEquals(await refusal(Promise.resolve().then(() => requireUser(svc))), [
    403,
    "user_token_required",
  ]);
  assertEquals(await refusal(Promise.resolve().then(() => requireUser(null))), [
    401,
    "missing_token",
  ]);
});

Deno.test("ES256 tokens verify against the configured JWKS, and only with it", async () => {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  const withJwks = createVerifier(loadConfig({ SUPABASE_JWKS: JSON.stringify({ keys: [jwk] }) }));
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ sub: USER, role: "authenticated" })
    .setProtectedHeader({ alg: "ES256", kid: "k1" }).setIssuedAt(now).setExpirationTime(now + 60)
    .sign(privateKey);
  const c = await authenticate(`Bearer ${token}`, withJwks);
  assertEquals(c?.userId, USER);
  assertEquals(await refusal(authenticate(`Bearer ${token}`, verify)), [401, "invalid_token"]);
  // A JWKS-only verifier accepts no HS256 token.
  const hs = await hs256({ sub: USER, role: "authenticated" });
  assertEquals(await refusal(authenticate(`Bearer ${hs}`, withJwks)), [401, "invalid_token"]);
});
