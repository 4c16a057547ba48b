// Test support: connections to the test stack's database and actors created
// through the platform itself (an auth.users insert; the trigger makes the
// profile), acting exactly as PostgREST does.
import postgres from "postgres";

export function env(name: string): string {
  const v = Deno.env.get(name);
  if (!v) throw new Error(`${name} is not set; run the suites through \`npm test\``);
  return v;
}

export function adminDb(max = 4) {
  return postgres(env("ADMIN_DB_URL"), { max, onnotice: () => {} });
}

// PostgREST logs in as authenticator and switches role per request.
export function authenticatorDb(max = 10) {
  return postgres(env("AUTHENTICATOR_DB_URL"), { max, onnotice: () => {}, prepare: false });
}

export interface TestUser {
  id: string;
  email: string;
}

export async function createUser(
  admin: postgres.Sql,
  label: string,
  timeZone = "UTC",
): Promise<TestUser> {
  const id = crypto.randomUUID();
  const email = `${label}-${id.slice(0, 8)}@race.test`;
  await admin`
    insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data,
                            email_confirmed_at, created_at, updated_at)
    values ('00000000-0000-0000-0000-000000000000', ${id}, 'authenticated', 'authenticated', ${email},
            '{"provider": "email"}', ${admin.json({ display_name: label, time_zone: timeZone })},
            now(), now(), now())`;
  return { id, email };
}

// Run `fn` in one transaction as the given user, the way PostgREST does.
export async function asUser<T>(
  sql: postgres.Sql | postgres.ReservedSql,
  user: TestUser,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  const claims = JSON.stringify({ sub: user.id, role: "authenticated", email: user.email });
  const body = async (tx: postgres.TransactionSql) => {
    await tx`select set_config('role', 'authenticated', true),
                    set_config('request.jwt.claims', ${claims}, true)`;
    return await fn(tx);
  };
  if ("release" in sql) {
    // A reserved connection has no begin(); drive the transaction by hand.
    await sql`begin`;
    try {
      // The same query interface as a transaction's, minus savepoints we do not use.
      const out = await body(sql as unknown as postgres.TransactionSql);
      await sql`commit`;
      return out;
    } catch (e) {
      await sql`rollback`;
      throw e;
    }
  }
  return await sql.begin((tx) => body(tx)) as T;
}

export interface PgError {
  code: string;
  message: string;
  detail?: string;
}

export function isPgError(e: unknown): e is PgError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}
