// Only the service role may run the sender: the platform's wake-ups (pg_net,
// pg_cron) and operators carry the service_role key; a user's token or the
// anon key must not trigger mail.
import { jwtVerify } from "jose";

export type AuthResult = { ok: true } | { ok: false; status: 401 | 403; message: string };

export async function requireServiceRole(req: Request, jwtSecret: string): Promise<AuthResult> {
  const header = req.headers.get("authorization") ?? "";
  const token = header.match(/^Bearer\s+(.+)$/i)?.[1];
  if (!token) return { ok: false, status: 401, message: "missing bearer token" };
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
