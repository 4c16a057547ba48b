// One Postgres pool per isolate, on the direct connection the platform gives
// every Edge Function (SUPABASE_DB_URL). prepare: false keeps it usable
// behind a transaction-mode pooler (Supavisor), where prepared statements do
// not survive between transactions; postgres.js still sends every query with
// bound parameters, never with values spliced into the SQL.
import postgres from "postgres";

let pool: postgres.Sql | null = null;

export function db(): postgres.Sql {
  if (!pool) {
    const url = Deno.env.get("SUPABASE_DB_URL");
    if (!url) throw new Error("SUPABASE_DB_URL is not set");
    pool = postgres(url, {
      max: Number(Deno.env.get("DB_POOL_SIZE") ?? "10"),
      prepare: false,
      idle_timeout: 20,
      connect_timeout: 10,
      onnotice: () => {},
    });
  }
  return pool;
}
