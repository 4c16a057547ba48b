// Free slots for one or several people: public.get_availability does the
// work (working hours, overrides, meetings with buffers, external busy time);
// this route checks the query and renames the SQL arguments in its errors
// back to the query's names.
import { z } from "zod";
import { defineRoute, json, type RouteSpec } from "../route.ts";
import { AvailabilitySchema } from "../schemas.ts";
import { dateTime, queryInt, timeZone } from "../../_shared/validation.ts";
import { type FieldError, invalid, ProblemError } from "../../_shared/problem.ts";
import { parseInstant } from "../../_shared/time.ts";
import { problemFromDbError } from "../../_shared/sql_errors.ts";

export const MAX_AVAILABILITY_USERS = 50;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const AvailabilityQuery = z.strictObject({
  user_ids: z.string().max(MAX_AVAILABILITY_USERS * 37).meta({
    description:
      `comma-separated user ids (or the parameter repeated), 1-${MAX_AVAILABILITY_USERS}`,
  }),
  start: dateTime(),
  end: dateTime(),
  duration_minutes: queryInt(1, 1440),
  step_minutes: queryInt(1, 1440).optional().meta({ description: "defaults to the duration" }),
  tz: timeZone().optional().meta({
    description: "the viewer's IANA zone (default UTC): slot alignment, and how to read a " +
      "start/end given without an offset",
  }),
  min_attendees: queryInt(1, MAX_AVAILABILITY_USERS).optional().meta({
    description: "at least N of the users free (default: all of them)",
  }),
  cursor: z.string().max(500).optional(),
  limit: queryInt(1, 500).optional().meta({ description: "slots per page, 1-500 (default 100)" }),
});

// The SQL function names its arguments; the client knows the query names.
const SQL_TO_QUERY: Record<string, string> = {
  p_user_ids: "user_ids",
  p_start: "start",
  p_end: "end",
  p_duration_minutes: "duration_minutes",
  p_step_minutes: "step_minutes",
  p_time_zone: "tz",
  time_zone: "tz",
  p_min_attendees: "min_attendees",
  p_cursor: "cursor",
  p_limit: "limit",
};

export function renameSqlFields(errors: FieldError[]): FieldError[] {
  return errors.map((e) => {
    const [head, ...rest] = e.field.split(/(?=[.[])/);
    const renamed = SQL_TO_QUERY[head];
    return renamed ? { ...e, field: renamed + rest.join("") } : e;
  });
}

export const getAvailability = defineRoute({
  method: "get",
  path: "/availability",
  operationId: "getAvailability",
  summary: "Free slots",
  description: "Slots of duration_minutes in [start, end) when every user (or min_attendees of " +
    "them) is free, sorted, paginated with a cursor. The window is at most 92 days.",
  tag: "availability",
  auth: "user",
  query: AvailabilityQuery,
  repeatableQuery: ["user_ids"],
  responses: { 200: { description: "A page of free slots", schema: AvailabilitySchema } },
  errors: [401, 422, 429],
  async handle({ query, run }) {
    const errors: FieldError[] = [];
    const ids = query.user_ids.split(",").map((s) => s.trim()).filter(Boolean);
    if (ids.length === 0) errors.push({ field: "user_ids", message: "at least one user id" });
    if (ids.length > MAX_AVAILABILITY_USERS) {
      errors.push({ field: "user_ids", message: `at most ${MAX_AVAILABILITY_USERS} user ids` });
    }
    ids.forEach((id, i) => {
      if (!UUID.test(id)) errors.push({ field: `user_ids[${i}]`, message: "must be a UUID" });
    });
    const unique = [...new Set(ids.map((s) => s.toLowerCase()))];
    const times: Record<"start" | "end", string | null> = { start: null, end: null };
    for (const f of ["start", "end"] as const) {
      const r = parseInstant(query[f], query.tz);
      if (r.ok) times[f] = r.value;
      else errors.push({ field: f, message: r.message });
    }
    if (times.start && times.end && Date.parse(times.end) <= Date.parse(times.start)) {
      errors.push({ field: "end", message: "must be after start" });
    }
    if (query.min_attendees !== undefined && query.min_attendees > unique.length) {
      errors.push({
        field: "min_attendees",
        message: `must be at most the number of users (${unique.length})`,
      });
    }
    if (errors.length) invalid(errors);

    try {
      const result = await run(async (tx) => {
        const [row] = await tx<{ a: unknown }[]>`select public.get_availability(
          p_user_ids => ${unique}::uuid[],
          p_start => ${times.start}::timestamptz,
          p_end => ${times.end}::timestamptz,
          p_duration_minutes => ${query.duration_minutes}::integer,
          p_step_minutes => ${query.step_minutes ?? null}::integer,
          p_time_zone => ${query.tz ?? "UTC"}::text,
          p_min_attendees => ${query.min_attendees ?? null}::integer,
          p_cursor => ${query.cursor ?? null}::text,
          p_limit => ${query.limit ?? 100}::integer
        ) as a`;
        return row.a;
      });
      return json(result);
    } catch (err) {
      // Translated here, where the argument names are known.
      const p = problemFromDbError(err as { code?: string });
      if (p && p.errors?.length) {
        const renamed = renameSqlFields(p.errors);
        throw new ProblemError({
          ...p,
          errors: renamed,
          detail: renamed.map((e) => `${e.field}: ${e.message}`).join("; "),
        });
      }
      throw err;
    }
  },
});

export const availabilityRoutes: RouteSpec[] = [getAvailability];
