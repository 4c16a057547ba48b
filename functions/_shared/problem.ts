// Errors in one shape: RFC 9457 application/problem+json, with the fields
// the SQL functions raise ({code, errors, conflicts}) always present so a
// client can read them without checking for absence.

export interface FieldError {
  field: string;
  message: string;
}

export interface Conflict {
  meeting_id: string | null;
  user_id: string;
  start: string;
  end: string;
}

export interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: FieldError[];
  conflicts?: Conflict[];
  // Extension members (meeting_id, current_version, ...), passed through.
  extra?: Record<string, unknown>;
  headers?: Record<string, string>;
}

// Thrown anywhere below a route; the app turns it into a response.
export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
}

export const PROBLEM_TYPE_BASE = "https://meeting-scheduler.invalid/problems/";
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  428: "Precondition Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export function titleFor(status: number): string {
  return TITLES[status] ?? (status >= 500 ? "Server Error" : "Client Error");
}

// Members that a problem's extra data may not overwrite.
const RESERVED = new Set([
  "type",
  "title",
  "status",
  "detail",
  "code",
  "errors",
  "conflicts",
  "request_id",
]);

export function problemBody(p: Problem, requestId: string): Record<string, unknown> {
  const extra = Object.fromEntries(
    Object.entries(p.extra ?? {}).filter(([k]) => !RESERVED.has(k)),
  );
  return {
    type: PROBLEM_TYPE_BASE + p.code,
    title: titleFor(p.status),
    status: p.status,
    detail: p.detail,
    code: p.code,
    errors: p.errors ?? [],
    conflicts: p.conflicts ?? [],
    ...extra,
    request_id: requestId,
  };
}

export function problemResponse(p: Problem, requestId: string): Response {
  const headers = new Headers(p.headers);
  headers.set("content-type", PROBLEM_CONTENT_TYPE);
  return new Response(JSON.stringify(problemBody(p, requestId)), { status: p.status, headers });
}

export function fail(
  status: number,
  code: string,
  detail: string,
  more: Omit<Problem, "status" | "code" | "detail"> = {},
): never {
  throw new ProblemError({ status, code, detail, ...more });
}

export function invalid(errors: FieldError[], code = "validation_failed"): never {
  fail(422, code, errors.map((e) => `${e.field}: ${e.message}`).join("; "), { errors });
}
