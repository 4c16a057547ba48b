// The email-sender Edge Function's HTTP surface. POST with the service_role
// key; an optional JSON body {now?: ISO-8601, max_batches?: 1-1000} pins the
// clock or bounds the run. Answers a summary of what the run did.
import type postgres from "postgres";
import type { SenderConfig } from "./config.ts";
import { runSender } from "./sender.ts";
import { requireServiceRole } from "./service_auth.ts";
import type { Templates } from "./templates.ts";

export interface HandlerDeps {
  config: SenderConfig;
  jwtSecret: string;
  serviceRoleKey?: string;
  sql: () => postgres.Sql;
  templates: () => Promise<Templates>;
}

function problem(status: number, code: string, message: string, extra: object = {}) {
  return Response.json({ code, message, ...extra }, { status });
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

type Parsed = { now?: Date; maxBatches?: number } | {
  errors: { field: string; message: string }[];
};

async function parseBody(req: Request): Promise<Parsed> {
  const text = await req.text();
  if (!text.trim()) return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { errors: [{ field: "body", message: "must be a JSON object" }] };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { errors: [{ field: "body", message: "must be a JSON object" }] };
  }
  const b = body as Record<string, unknown>;
  const errors: { field: string; message: string }[] = [];
  let now: Date | undefined;
  let maxBatches: number | undefined;
  if (b.now !== undefined && b.now !== null) {
    if (typeof b.now !== "string" || !ISO_INSTANT.test(b.now) || Number.isNaN(Date.parse(b.now))) {
      errors.push({
        field: "now",
        message: "must be an ISO-8601 instant with a zone, e.g. 2027-03-15T14:00:00Z",
      });
    } else now = new Date(b.now);
  }
  if (b.max_batches !== undefined && b.max_batches !== null) {
    if (
      !Number.isInteger(b.max_batches) || (b.max_batches as number) < 1 ||
      (b.max_batches as number) > 1000
    ) {
      errors.push({ field: "max_batches", message: "must be an integer between 1 and 1000" });
    } else maxBatches = b.max_batches as number;
  }
  return errors.length ? { errors } : { now, maxBatches };
}

export function createEmailSenderHandler(deps: HandlerDeps) {
  return async (req: Request): Promise<Response> => {
    if (req.method !== "POST") {
      return problem(405, "method_not_allowed", "use POST", { allow: "POST" });
    }
    const auth = await requireServiceRole(req, deps.jwtSecret, deps.serviceRoleKey);
    if (!auth.ok) {
      return problem(auth.status, auth.status === 401 ? "unauthorized" : "forbidden", auth.message);
    }
    const parsed = await parseBody(req);
    if ("errors" in parsed) {
      return problem(
        422,
        "validation_failed",
        parsed.errors.map((e) => `${e.field}: ${e.message}`).join("; "),
        {
          errors: parsed.errors,
        },
      );
    }
    if (!deps.config.postmarkServerToken) {
      // Nothing is claimed, so nothing waits on a lease: mail stays queued
      // until the token is set.
      return problem(
        503,
        "not_configured",
        "POSTMARK_SERVER_TOKEN is not set; no mail was claimed",
      );
    }
    try {
      const summary = await runSender(
        { sql: deps.sql(), templates: await deps.templates(), config: deps.config },
        parsed,
      );
      return Response.json(summary);
    } catch (err) {
      console.error(JSON.stringify({ level: "error", fn: "email-sender", msg: String(err) }));
      return problem(
        503,
        "sender_failed",
        "the run stopped early; claimed mail is retried when its lease expires",
      );
    }
  };
}
