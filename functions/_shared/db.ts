// One Postgres pool per isolate, on the connection the platform gives every
// Edge Function (SUPABASE_DB_URL). Every query is sent with bound parameters,
// never with values spliced into the SQL. Named prepared statements (half
// the round trips) are used on a direct or session connection; behind a
// transaction-mode pooler (Supavisor, port 6543) they would not survive
// between transactions, so there the driver uses unnamed ones. DB_PREPARE
// (true/false) overrides the guess.
import postgres from "postgres";
import type { Caller } from "./auth.ts";
import { isRetryable } from "./sql_errors.ts";

let pool: postgres.Sql | null = null;

export function db(): postgres.Sql {
  if (!pool) {
    const url = Deno.env.get("SUPABASE_DB_URL");
    if (!url) throw new Error("SUPABASE_DB_URL is not set");
    pool = postgres(url, {
      max: Number(Deno.env.get("DB_POOL_SIZE") ?? "10"),
      prepare: usePreparedStatements(url, Deno.env.get("DB_PREPARE")),
      idle_timeout: 20,
      connect_timeout: 10,
      onnotice: () => {},
    });
  }
  return pool;
}

export function usePreparedStatements(url: string, setting: string | undefined): boolean {
  if (setting === "true" || setting === "false") return setting === "true";
  try {
    return new URL(url).port !== "6543";
  } catch {
    return false;
  }
}

export type Tx = postgres.TransactionSql;

export interface RequestFacts {
  method: string;
  path: string;
  // Lower-cased names; credentials already removed (see requestFacts).
  headers: Record<string, string>;
}

// Headers that carry credentials stay out of the database session: the
// verified claims are there instead, and a setting is one `show` away from
// any function that might log it.
const CREDENTIAL_HEADERS = new Set(["authorization", "apikey", "cookie", "proxy-authorization"]);

export function requestFacts(req: Request, path: string): RequestFacts {
  const headers: Record<string, string> = {};
  req.headers.forEach((value, name) => {
    if (!CREDENTIAL_HEADERS.has(name)) headers[name] = value;
  });
  return { method: req.method, path, headers };
}

const STATEMENT_TIMEOUT = Deno.env.get("API_STATEMENT_TIMEOUT") ?? "8s";

// Run `fn` in one transaction as the caller, the way PostgREST does: the
// JWT's role as the current role and its claims in request.jwt.claims, so
// auth.uid(), RLS and every SQL rule see exactly what they see through
// supabase-js. A serialization failure or deadlock rolls the whole
// transaction back, so it is retried as a whole.
export async function asCaller<T>(
  caller: Caller,
  facts: RequestFacts,
  fn: (tx: Tx) => Promise<T>,
  attempts = 3,
): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await db().begin(async (tx) => {
        // Sent without waiting: postgres.js pipelines it with fn's first
        // query on the same connection, saving a round trip.
        const setup = tx`select
          set_config('role', ${caller.role}, true),
          set_config('request.jwt.claims', ${JSON.stringify(caller.claims)}, true),
          set_config('request.method', ${facts.method}, true),
          set_config('request.path', ${facts.path}, true),
          set_config('request.headers', ${JSON.stringify(facts.headers)}, true),
          set_config('statement_timeout', ${STATEMENT_TIMEOUT}, true),
          set_config('timezone', 'UTC', true)`.execute();
        const work = fn(tx);
        // If setup fails, work fails too; setup's error is the one to raise.
        work.catch(() => {});
        await setup;
        return await work;
      }) as T;
    } catch (err) {
      if (attempt < attempts && isRetryable(err as { code?: string })) continue;
      throw err;
    }
  }
}
