// Helpers for the end-to-end suites: real users in the throw-away stack's
// database, real tokens signed like Supabase Auth's, real HTTP to the API.
import postgres from "postgres";
import { SignJWT } from "jose";
import { assert, assertEquals } from "./assert.ts";

export const env = (name: string): string => {
  const v = Deno.env.get(name);
  if (!v) throw new Error(`${name} is not set; run the suites through npm test`);
  return v;
};

export const API_URL = () => env("API_URL");

let admin: postgres.Sql | null = null;

// supabase_admin, as the platform itself: creates auth users, reads private
// tables to check what the API wrote.
export function adminSql(): postgres.Sql {
  admin ??= postgres(env("ADMIN_DB_URL"), { max: 4, onnotice: () => {} });
  return admin;
}

export async function closeAdmin() {
  if (admin) await admin.end({ timeout: 1 });
  admin = null;
}

export interface TestUser {
  id: string;
  email: string;
  token: string;
}

const secret = () => new TextEncoder().encode(env("SUPABASE_JWT_SECRET"));

export function signToken(
  claims: Record<string, unknown>,
  opts: { expiresIn?: number; secret?: Uint8Array; alg?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: opts.alg ?? "HS256", typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + (opts.expiresIn ?? 3600))
    .sign(opts.secret ?? secret());
}

export function userToken(id: string, email: string, expiresIn = 3600): Promise<string> {
  return signToken({
    sub: id,
    email,
    role: "authenticated",
    aud: "authenticated",
    app_metadata: { provider: "email" },
  }, { expiresIn });
}

// A new auth user (the trigger gives them a profile) and their access token.
export async function createUser(
  name = "user",
  opts: { timeZone?: string; id?: string; email?: string } = {},
): Promise<TestUser> {
  const id = opts.id ?? crypto.randomUUID();
  const email = opts.email ?? `${name}-${id.slice(0, 8)}@e2e.example`;
  await adminSql()`
    insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data,
                            raw_user_meta_data, email_confirmed_at, created_at, updated_at)
    values ('00000000-0000-0000-0000-000000000000', ${id}, 'authenticated', 'authenticated',
            ${email}, '{"provider": "email"}',
            ${
    adminSql().json({ display_name: name, time_zone: opts.timeZone ?? "UTC" })
  }, now(), now(), now())
    on conflict (id) do nothing`;
  return { id, email, token: await userToken(id, email) };
}

// Each suite claims its own client address (X-Forwarded-For) so that the
// per-IP limit of one suite never throttles another.
export function freshIp(): string {
  const b = crypto.getRandomValues(new Uint8Array(2));
  return `2001:db8::${b[0].toString(16)}:${b[1].toString(16)}`;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
  text: string;
}

export async function api(
  method: string,
  path: string,
  opts: {
    token?: string | null;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
    ip?: string;
  } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.ip) headers["x-forwarded-for"] = opts.ip;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await fetch(`${API_URL()}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch { /* not JSON: left null, the text is kept */ }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

// An RFC 9457 answer in the API's shape, with this status and code.
export function assertProblem(res: ApiResponse, status: number, code?: string) {
  assertEquals(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  const b = res.body;
  assert(b && typeof b === "object", `problem body is not an object: ${res.text}`);
  assertEquals(b.status, status);
  assert(typeof b.type === "string" && b.type.length > 0, "type");
  assert(typeof b.title === "string" && b.title.length > 0, "title");
  assert(typeof b.detail === "string" && b.detail.length > 0, "detail");
  assert(typeof b.code === "string", "code");
  assert(Array.isArray(b.errors), "errors");
  assert(Array.isArray(b.conflicts), "conflicts");
  assertEquals(b.request_id, res.headers.get("x-request-id"));
  if (code) assertEquals(b.code, code, res.text);
}

export function fieldErrors(res: ApiResponse): string[] {
  return (res.body?.errors ?? []).map((e: { field: string }) => e.field);
}

// A wall-clock instant `days` from now at hh:mm UTC, as ISO-8601.
export function future(days: number, hh = 9, mm = 0): string {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + days);
  d.setUTCHours(hh, mm, 0, 0);
  return d.toISOString();
}

export function addMinutes(iso: string, minutes: number): string {
  return new Date(Date.parse(iso) + minutes * 60_000).toISOString();
}

// Deno.test for suites that keep a database pool across steps.
export function e2e(name: string, fn: () => Promise<void>) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}
