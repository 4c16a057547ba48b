// Only the service role may run the sender: the platform's wake-ups (pg_net,
// pg_cron) and operators carry the service_role key; a user's token or the
// anon key must not trigger mail.
import { jwtVerify } from "jose";

export type AuthResult = { ok: true } | { ok: false; status: 401 | 403; message: string };

function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  if (x.length !== y.length) return false;
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

// The project's own service key (SUPABASE_SERVICE_ROLE_KEY, which is what
// Vault hands pg_net) is accepted as it is, compared in constant time, so
// keys that are not JWTs work too; any other bearer must be a JWT signed with
// the project's secret whose role is service_role.
export async function requireServiceRole(
  req: Request,
  jwtSecret: string,
  serviceRoleKey = "",
): Promise<AuthResult> {
  const header = req.headers.get("authorization") ?? "";
  const token = header.match(/^Bearer\s+(.+)$/i)?.[1];
  if (!token) return { ok: false, status: 401, message: "missing bearer token" };
  if (serviceRoleKey && sameSecret(token, serviceRoleKey)) return { ok: true };
  if (!jwtSecret) return { ok: false, status: 401, message: "SUPABASE_JWT_SECRET is not set" };
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(jwtSecret), {
      algorithms: ["HS256"],
    });
    if (payload.role !== "service_role") {
      return { ok: false, status: 403, message: "the service_role key is required" };
    }
    return { ok: true };
  } catch {
    return { ok: false, status: 401, message: "invalid or expired token" };
  }
}
