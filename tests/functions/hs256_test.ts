// The node:crypto HS256 verifier against jose's jwtVerify, the reference it
// replaces on the API's hot path: the same tokens pass, the same tokens fail
// with the same error class, and it is never more permissive.
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { jwtVerify, SignJWT } from "jose";
import { createHs256Verifier, decodeJwt } from "../../functions/_shared/hs256.ts";
import { assert, assertEquals } from "../e2e/_support/assert.ts";

const SECRET = "a-test-secret-that-is-at-least-32-characters";
const KEY = new TextEncoder().encode(SECRET);
const verify = createHs256Verifier(SECRET);
const now = () => Math.floor(Date.now() / 1000);

function sign(claims: Record<string, unknown>, header: Record<string, unknown> = {}) {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", ...header }).sign(KEY);
}

// Signed by hand, for headers jose will not produce.
function rawToken(header: Record<string, unknown>, claims: unknown) {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${part(header)}.${part(claims)}`;
  return `${input}.${createHmac("sha256", KEY).update(input).digest("base64url")}`;
}

// "ok" or the name of the error class each verifier throws.
async function reference(token: string): Promise<string> {
  try {
    await jwtVerify(token, KEY, { algorithms: ["HS256"] });
    return "ok";
  } catch (err) {
    return (err as Error).constructor.name;
  }
}

function ours(token: string): string {
  try {
    verify(decodeJwt(token));
    return "ok";
  } catch (err) {
    return (err as Error).constructor.name;
  }
}

Deno.test("HS256: the outcomes jose gives, case by case", async () => {
  const t = now();
  const cases: [string, string][] = [
    [await sign({ sub: "u", exp: t + 60 }), "ok"],
    [await sign({ sub: "u" }), "ok"],
    [await sign({ exp: t - 1 }), "JWTExpired"],
    [await sign({ exp: t }), "JWTExpired"],
    [await sign({ nbf: t + 60 }), "JWTClaimValidationFailed"],
    [await sign({ iat: "yesterday" }), "JWTClaimValidationFailed"],
    [await sign({ exp: "tomorrow" }), "JWTClaimValidationFailed"],
    [rawToken({ alg: "HS256", crit: ["exp"], exp: 1 }, { sub: "u" }), "notok"],
    [rawToken({ alg: "HS256", b64: false, crit: ["b64"] }, { sub: "u" }), "notok"],
    [rawToken({ alg: "HS256" }, [1, 2]), "JWTInvalid"],
    [rawToken({ alg: "HS256" }, { sub: "u" }), "ok"],
    [
      await new SignJWT({ sub: "u" }).setProtectedHeader({ alg: "HS256" }).sign(
        new TextEncoder().encode("another-secret-another-secret-1234"),
      ),
      "JWSSignatureVerificationFailed",
    ],
  ];
  for (const [token, expected] of cases) {
    const [mine, theirs] = [ours(token), await reference(token)];
    if (expected === "notok") {
      assert(mine !== "ok" && theirs !== "ok", `${token}: ${mine} / ${theirs}`);
    } else {
      assertEquals([mine, theirs], [expected, expected], token);
    }
  }
  // Claims come back as signed.
  const claims = verify(decodeJwt(await sign({ sub: "u", role: "authenticated", n: [1] })));
  assertEquals([claims.sub, claims.role, claims.n], ["u", "authenticated", [1]]);
});

Deno.test("HS256: a tampered token is never accepted where jose refuses it", async () => {
  const token = await sign({ sub: "0b6f7c2e-3a8d-4e2f-9c1a-5d4e3f2a1b0c", exp: now() + 600 });
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
  await fc.assert(
    fc.asyncProperty(
      fc.nat(token.length - 1),
      fc.constantFrom(...alphabet),
      async (at, ch) => {
        const mutated = token.slice(0, at) + ch + token.slice(at + 1);
        const mine = ours(mutated);
        const theirs = await reference(mutated);
        // Stricter than jose on one point only: a signature must be in its
        // canonical base64url form.
        if (mine === "ok") assertEquals(theirs, "ok", mutated);
        if (theirs !== "ok") assert(mine !== "ok", mutated);
      },
    ),
    { numRuns: 1000 },
  );
});
