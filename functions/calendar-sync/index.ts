// The calendar-sync Edge Function (service role only): woken by pg_net when
// a connection becomes due and by pg_cron every minute, it syncs the due
// connections. Body (optional JSON): {"connection_ids": [...], "limit": n}.
import { db } from "../_shared/db.ts";
import { endpointsFromEnv } from "../_shared/calendar/connection.ts";
// The e-mail sender's check: the project's service key as it is, or a
// service_role JWT.
import { requireServiceRole } from "../_shared/email/service_auth.ts";
import { runDueSyncs } from "../_shared/calendar/worker.ts";

const env = (name: string) => Deno.env.get(name);
const MAX_LIMIT = 50;
const RUN_BUDGET_MS = 60_000;

Deno.serve(async (req) => {
  if (req.method !== "POST") {
    return Response.json({ error: "method_not_allowed", message: "use POST" }, { status: 405 });
  }
  const auth = await requireServiceRole(
    req,
    env("SUPABASE_JWT_SECRET") ?? "",
    env("SUPABASE_SERVICE_ROLE_KEY") ?? "",
  );
  if (!auth.ok) {
    return Response.json({ error: "unauthorized", message: auth.message }, { status: auth.status });
  }
  const key = env("CALENDAR_CREDENTIALS_KEY") ?? "";
  if (key.length < 32) {
    return Response.json(
      {
        error: "calendar_key_missing",
        message: "CALENDAR_CREDENTIALS_KEY is not set (at least 32 characters)",
      },
      { status: 500 },
    );
  }
  let body: { connection_ids?: unknown; limit?: unknown } = {};
  const text = await req.text();
  if (text.trim() !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      return Response.json({ error: "invalid_body", message: "the body must be JSON" }, {
        status: 400,
      });
    }
  }
  const errors: { field: string; message: string }[] = [];
  const ids = body.connection_ids;
  if (
    ids !== undefined &&
    (!Array.isArray(ids) || ids.length > MAX_LIMIT ||
      ids.some((v) => typeof v !== "string" || !/^[0-9a-f-]{36}$/i.test(v)))
  ) {
    errors.push({
      field: "connection_ids",
      message: `must be an array of at most ${MAX_LIMIT} connection ids (uuid)`,
    });
  }
  const limit = body.limit;
  if (
    limit !== undefined &&
    (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_LIMIT)
  ) {
    errors.push({ field: "limit", message: `must be an integer from 1 to ${MAX_LIMIT}` });
  }
  if (errors.length) {
    return Response.json({ error: "invalid_request", errors }, { status: 422 });
  }
  const deps = {
    sql: db(),
    endpoints: endpointsFromEnv(env),
    credentialsKey: key,
    // Where providers send change notifications: this project's webhook.
    webhookUrl: env("CALENDAR_WEBHOOK_URL") ?? null,
  };
  const batch = (limit as number | undefined) ?? 5;
  const outcomes = [];
  if (ids !== undefined) {
    const named = ids as string[];
    outcomes.push(...await runDueSyncs(deps, { limit: named.length, connectionIds: named }));
  } else {
    // Keep claiming while connections are due, within a time budget well
    // under the platform's wall-clock limit; what is left waits for the
    // next wake-up or tick.
    const started = Date.now();
    while (Date.now() - started < RUN_BUDGET_MS) {
      const done = await runDueSyncs(deps, { limit: batch });
      outcomes.push(...done);
      if (done.length < batch) break;
    }
  }
  return Response.json({ synced: outcomes });
});
