// HS256 JWTs (Supabase's project-secret tokens) verified with node:crypto's
// HMAC. jose does the same check through WebCrypto, whose every call is an
// asynchronous round through Deno's crypto ops: about 110 µs of CPU per token
// against 15 µs here, paid on every API request. The checks are jose's
// (jwtVerify without options), and failures throw jose's own error classes,
// so callers map them exactly as before.
import { Buffer } from "node:buffer";
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";
import { errors, type JWTPayload, type ProtectedHeaderParameters } from "jose";

export interface DecodedJwt {
  header: ProtectedHeaderParameters;
  signingInput: string;
  payloadPart: string;
  signature: string;
}

// Splits a compact JWS and reads its protected header; anything that is not
// three base64url parts with a JSON object header is not a JWT.
export function decodeJwt(token: string): DecodedJwt {
  const first = token.indexOf(".");
  const last = token.lastIndexOf(".");
  if (first <= 0 || last === first || token.indexOf(".", first + 1) !== last) {
    throw new errors.JWSInvalid("Invalid Compact JWS");
  }
  const header = parseJsonObject(token.slice(0, first));
  if (!header) throw new errors.JWSInvalid("JWS Protected Header incorrect type");
  return {
    header: header as ProtectedHeaderParameters,
    signingInput: token.slice(0, last),
    payloadPart: token.slice(first + 1, last),
    signature: token.slice(last + 1),
  };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function parseJsonObject(part: string): Record<string, unknown> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) return null;
  try {
    const value = JSON.parse(utf8.decode(Buffer.from(part, "base64url")));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

function numericDate(claims: JWTPayload, claim: "iat" | "nbf" | "exp"): number | undefined {
  const value = claims[claim];
  if (value === undefined) return undefined;
  if (typeof value !== "number") {
    throw new errors.JWTClaimValidationFailed(
      `"${claim}" claim must be a number`,
      claims,
      claim,
      "invalid",
    );
  }
  return value;
}

export function createHs256Verifier(secret: string): (jwt: DecodedJwt) => JWTPayload {
  const key: KeyObject = createSecretKey(new TextEncoder().encode(secret));
  return (jwt) => {
    const { header } = jwt;
    if (header.alg !== "HS256") throw new errors.JOSEAlgNotAllowed('"alg" is not HS256');
    // No extension is understood here, so none may be critical (RFC 7515
    // 4.1.11); b64=false payloads are not JWTs (RFC 7797).
    if (header.crit !== undefined || header.b64 !== undefined) {
      throw new errors.JOSENotSupported("JWS extensions are not supported");
    }
    // The expected signature, compared in constant time as its canonical
    // base64url text: a differently padded or non-canonical encoding of the
    // right bytes is refused too.
    const expected = Buffer.from(
      createHmac("sha256", key).update(jwt.signingInput).digest("base64url"),
    );
    const given = Buffer.from(jwt.signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new errors.JWSSignatureVerificationFailed();
    }
    const claims = parseJsonObject(jwt.payloadPart) as JWTPayload | null;
    if (!claims) throw new errors.JWTInvalid("JWT Claims Set must be a top-level JSON object");
    const now = Math.floor(Date.now() / 1000);
    numericDate(claims, "iat");
    const nbf = numericDate(claims, "nbf");
    if (nbf !== undefined && nbf > now) {
      throw new errors.JWTClaimValidationFailed(
        '"nbf" claim timestamp check failed',
        claims,
        "nbf",
        "check_failed",
      );
    }
    const exp = numericDate(claims, "exp");
    if (exp !== undefined && exp <= now) {
      throw new errors.JWTExpired(
        '"exp" claim timestamp check failed',
        claims,
        "exp",
        "check_failed",
      );
    }
    return claims;
  };
}
