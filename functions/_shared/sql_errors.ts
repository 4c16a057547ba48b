// SQLSTATE -> HTTP problem. The SQL functions raise PT<status> with a JSON
// detail {code, errors?, conflicts?, ...} (PostgREST's convention), so most
// answers pass straight through; the rest are the database's own errors on
// input that slipped past validation, or a real fault (null: answer 500).
import type { Conflict, FieldError, Problem } from "./problem.ts";

// The parts of a postgres.js PostgresError we read.
export interface DbError {
  code?: string;
  message?: string;
  detail?: string;
  constraint_name?: string;
  column_name?: string;
}

function parseDetail(detail: string | undefined): Record<string, unknown> {
  if (!detail) return {};
  try {
    const v = JSON.parse(detail);
    return v && typeof v === "object" && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

const asArray = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

// Serialization failures and deadlocks are safe to retry: the transaction
// rolled back whole.
export function isRetryable(err: DbError): boolean {
  return err.code === "40001" || err.code === "40P01";
}

export function problemFromDbError(err: DbError): Problem | null {
  const code = err.code ?? "";
  const message = err.message ?? "";

  const pt = code.match(/^PT(\d{3})$/);
  if (pt) {
    const status = Number(pt[1]);
    const { code: appCode, errors, conflicts, ...extra } = parseDetail(err.detail);
    // A PT5xx is a fault raised on purpose (a missing key, say): it keeps
    // its code for the client and is logged as the fault it is.
    if (status < 400 || status > 599) return null;
    return {
      status,
      code: typeof appCode === "string" ? appCode : `http_${status}`,
      detail: message,
      errors: asArray<FieldError>(errors),
      conflicts: asArray<Conflict>(conflicts),
      extra,
    };
  }

  switch (code) {
    case "23P01":
      return {
        status: 409,
        code: "meeting_conflict",
        detail: "the time overlaps another active meeting of one of the participants",
      };
    case "23505":
      return {
        status: 409,
        code: "already_exists",
        detail: `a record with these values already exists${
          err.constraint_name ? ` (${err.constraint_name})` : ""
        }`,
      };
    case "23503":
      return {
        status: 422,
        code: "reference_not_found",
        detail: "a referenced record does not exist",
      };
    case "23502":
      return {
        status: 422,
        code: "validation_failed",
        detail: `${err.column_name ?? "a field"} is required`,
        errors: [{ field: err.column_name ?? "body", message: "is required" }],
      };
    case "23514":
      return {
        status: 422,
        code: "validation_failed",
        detail: `a value is out of the allowed range${
          err.constraint_name ? ` (${err.constraint_name})` : ""
        }`,
      };
    case "42501":
      return { status: 403, code: "forbidden", detail: "permission denied" };
    case "40001":
    case "40P01":
    case "55P03":
      return {
        status: 503,
        code: "busy",
        detail: "the database is busy with a competing change; retry shortly",
        headers: { "retry-after": "1" },
      };
    case "57014":
      return {
        status: 503,
        code: "timeout",
        detail: "the request took too long and was cancelled; retry with a smaller window",
        headers: { "retry-after": "1" },
      };
  }
  // Data exceptions (class 22: bad number, bad date, string too long, ...)
  // come from input the API let through; the client still gets the reason.
  if (code.startsWith("22")) {
    return { status: 422, code: "invalid_input", detail: message || "invalid input" };
  }
  return null;
}
