// Request validation with zod: the same schemas generate the OpenAPI
// document. Zod's issues become the API's field errors, worded for people
// and named with the paths the SQL functions use (attendees[0].email).
import { z } from "zod";
import { type FieldError, invalid } from "./problem.ts";
import { isKnownTimeZone } from "./time.ts";

export function fieldPath(path: PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue & { input?: unknown }): string {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "is required";
      if (issue.expected === "int") return "must be a whole number";
      if (issue.expected === "number") return "must be a number";
      return `must be ${issue.expected === "object" ? "an object" : `a ${issue.expected}`}`;
    case "too_small": {
      const n = Number(issue.minimum);
      if (issue.origin === "string") {
        return n === 1 ? "must not be empty" : `at least ${n} characters`;
      }
      if (issue.origin === "array") return `at least ${n} item${n === 1 ? "" : "s"}`;
      return `must be at least ${n}`;
    }
    case "too_big": {
      const n = Number(issue.maximum);
      if (issue.origin === "string") return `at most ${n} characters`;
      if (issue.origin === "array") return `at most ${n} item${n === 1 ? "" : "s"}`;
      return `must be at most ${n}`;
    }
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => String(v)).join(", ")}`;
    case "invalid_format":
      return issue.message && !issue.message.startsWith("Invalid")
        ? issue.message
        : `must be a valid ${issue.format}`;
    default:
      return issue.message;
  }
}

export function toFieldErrors(error: z.ZodError, root = "body"): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        out.push({ field: fieldPath([...issue.path, key]), message: "is not a known field" });
      }
      continue;
    }
    out.push({ field: fieldPath(issue.path) || root, message: describeIssue(issue) });
  }
  return out;
}

export function parseOrFail<T extends z.ZodType>(
  schema: T,
  input: unknown,
  root = "body",
): z.output<T> {
  const r = schema.safeParse(input, { reportInput: true });
  if (!r.success) invalid(toFieldErrors(r.error, root));
  return r.data;
}

// Building blocks shared by the schemas -------------------------------------

const UUID_PATTERN =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export const uuid = () =>
  z.string().regex(UUID_PATTERN, { error: "must be a UUID" }).meta({ format: "uuid" });

export const timeZone = () =>
  z.string().max(64).refine(isKnownTimeZone, {
    error: "must be an IANA time zone name such as Europe/Berlin",
  }).meta({ examples: ["Europe/Berlin"] });

// Shape only; whether an offset is needed depends on the request's zone and
// is checked with parseInstant after the schema.
export const dateTime = () =>
  z.string().max(40).regex(/^\d{4}-\d{2}-\d{2}T[0-9:.]+([Zz]|[+-]\d{2}:\d{2})?$/, {
    error: "must be an ISO-8601 date-time such as 2027-03-14T09:30:00+01:00",
  }).meta({
    format: "date-time",
    description:
      "ISO-8601 with an offset; a local time without one is read in the request's time zone",
  });

export const date = () =>
  z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: "must be a date such as 2027-03-14" }).meta({
    format: "date",
  });

// Query parameters arrive as text; coercion keeps the bounds visible in the
// OpenAPI document (an integer with minimum and maximum).
export const queryInt = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
