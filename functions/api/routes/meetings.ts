// Meetings: create, list mine, read one, change, cancel, respond, history.
// Every rule (conflicts, permissions, versions, notices) is the SQL
// functions'; these routes validate, translate HTTP into their arguments and
// their answers back into HTTP.
import { z } from "zod";
import { defineRoute, json, type RouteSpec } from "../route.ts";
import {
  HistorySchema,
  MeetingIdParams,
  MeetingListSchema,
  MeetingSchema,
  SeriesBookingSchema,
  SeriesWithOccurrencesSchema,
} from "../schemas.ts";
import { date, dateTime, queryInt, timeZone, uuid } from "../../_shared/validation.ts";
import { fail, type FieldError, invalid } from "../../_shared/problem.ts";
import { parseDate, parseInstant } from "../../_shared/time.ts";

type Meeting = z.infer<typeof MeetingSchema>;
type SeriesBooking = z.infer<typeof SeriesBookingSchema>;

// RRULE text as RFC 5545 writes it; the database checks the rule part by part.
const recurrence = () =>
  z.string().min(1).max(1000).regex(/^(RRULE:)?[A-Za-z0-9=;,:+-]+$/, {
    error: "must be an RRULE such as FREQ=WEEKLY;BYDAY=MO",
  }).meta({ example: "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=20" });

const Scope = z.enum(["this", "this_and_following", "all"]).meta({
  description: "for an occurrence of a series: this one, this and the following ones, or all",
});

// ETags are the meeting's version, so If-Match can carry either.
export const etag = (version: number) => `"${version}"`;

// If-Match: "3", W/"3" or 3. Absent answers null (the SQL function then
// refuses with 428); a value that is no version is the client's mistake.
export function parseIfMatch(header: string | null): number | null {
  if (header === null) return null;
  const v = header.trim();
  if (v === "*") return null;
  const m = v.match(/^(?:W\/)?"?(\d{1,9})"?$/);
  if (!m) {
    fail(400, "invalid_if_match", 'If-Match must be the ETag you last read, such as "3"', {
      errors: [{ field: "If-Match", message: 'must be an ETag such as "3"' }],
    });
  }
  return Number(m[1]);
}

const attendee = z.strictObject({
  email: z.string().max(320).regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, {
    error: "is not a valid e-mail address",
  }).optional(),
  user_id: uuid().optional(),
  role: z.enum(["required", "optional"]).optional(),
  display_name: z.string().max(200).optional(),
}).refine((a) => a.email !== undefined || a.user_id !== undefined, {
  error: "needs an email or a user_id",
});

const meetingFields = {
  title: z.string().min(1).max(300),
  description: z.string().max(10000).optional(),
  location: z.string().max(1000).optional(),
  start: dateTime().optional(),
  end: dateTime().optional(),
  time_zone: timeZone(),
  all_day: z.boolean().optional(),
  start_date: date().optional(),
  end_date: date().optional(),
  attendees: z.array(attendee).max(100).optional(),
};

const CreateMeetingBody = z.strictObject({
  ...meetingFields,
  idempotency_key: z.string().min(1).max(200).optional(),
  recurrence: recurrence().optional().meta({
    description: "an RRULE in time_zone: books a series, every occurrence in the horizon checked",
  }),
  exdates: z.array(dateTime()).max(1000).optional().meta({
    description: "with recurrence: occurrence starts to leave out",
  }),
  on_conflict: z.enum(["fail", "skip"]).optional().meta({
    description: "with recurrence: fail (409 listing every conflicting occurrence, the default) " +
      "or skip those dates",
  }),
}).meta({
  description: "start/end for a timed meeting; all_day with start_date/end_date (end exclusive) " +
    "for whole days; recurrence for a series",
});

const UpdateMeetingBody = z.strictObject({
  ...meetingFields,
  title: meetingFields.title.optional(),
  time_zone: meetingFields.time_zone.optional(),
  recurrence: recurrence().optional().meta({
    description: "with scope all or this_and_following: a new rule for the series",
  }),
}).meta({ description: "Only the fields given change; attendees, when given, replace the list." });

const UpdateQuery = z.strictObject({ scope: Scope.optional() });

// Instants and dates after the schema: a naive time is read in the
// request's zone, and every error is reported at once.
function resolveTimes(
  body: { start?: string; end?: string; start_date?: string; end_date?: string },
  zone: string | undefined,
) {
  const errors: FieldError[] = [];
  const out: Record<string, string | null> = {};
  for (const f of ["start", "end"] as const) {
    const v = body[f];
    if (v === undefined) out[f] = null;
    else {
      const r = parseInstant(v, zone);
      if (r.ok) out[f] = r.value;
      else errors.push({ field: f, message: r.message });
    }
  }
  for (const f of ["start_date", "end_date"] as const) {
    const v = body[f];
    if (v === undefined) out[f] = null;
    else {
      const r = parseDate(v);
      if (r.ok) out[f] = r.value;
      else errors.push({ field: f, message: r.message });
    }
  }
  if (errors.length) invalid(errors);
  return out as {
    start: string | null;
    end: string | null;
    start_date: string | null;
    end_date: string | null;
  };
}

function meetingResponse(m: Meeting, status = 200, extra: Record<string, string> = {}) {
  return json(m, status, { etag: etag(m.version), ...extra });
}

const meetingErrors = [400, 401, 403, 404, 422, 429];

const IdempotencyHeader = {
  name: "Idempotency-Key",
  description: "Retry-safe creation: the same key returns the same meeting, never a second one " +
    "(1-200 characters; or idempotency_key in the body)",
  example: "3f1c9a2e-booking-42",
};

export const createMeeting = defineRoute({
  method: "post",
  path: "/meetings",
  operationId: "createMeeting",
  summary: "Book a meeting",
  description: "Books a meeting for the signed-in organiser. Conflicts with any participant's " +
    "active meetings (buffers included) answer 409 naming them.",
  tag: "meetings",
  auth: "user",
  body: CreateMeetingBody,
  bodyRequired: true,
  headers: [IdempotencyHeader],
  responses: {
    201: {
      description: "Booked (or replayed: same idempotency key, same request): the meeting, or " +
        "with recurrence the series, its occurrences and the dates skipped",
      schema: z.union([MeetingSchema, SeriesBookingSchema]),
      headers: ["ETag", "Location", "Idempotent-Replayed"],
    },
  },
  errors: [...meetingErrors, 409, 413, 415],
  async handle({ body, req, run }) {
    const header = req.headers.get("idempotency-key");
    if (header !== null && (header.length < 1 || header.length > 200)) {
      invalid([{ field: "Idempotency-Key", message: "must be 1 to 200 characters" }]);
    }
    if (header !== null && body.idempotency_key !== undefined && header !== body.idempotency_key) {
      invalid([{
        field: "idempotency_key",
        message: "differs from the Idempotency-Key header; send one or make them equal",
      }]);
    }
    const t = resolveTimes(body, body.time_zone);
    if (
      body.recurrence === undefined &&
      (body.exdates !== undefined || body.on_conflict !== undefined)
    ) {
      invalid([{
        field: body.exdates !== undefined ? "exdates" : "on_conflict",
        message: "only applies with recurrence",
      }]);
    }
    if (body.recurrence !== undefined) {
      const exdates: string[] = [];
      const errors: FieldError[] = [];
      (body.exdates ?? []).forEach((v, i) => {
        const r = parseInstant(v, body.time_zone);
        if (r.ok) exdates.push(r.value);
        else errors.push({ field: `exdates[${i}]`, message: r.message });
      });
      if (errors.length) invalid(errors);
      const series = await run(async (tx) => {
        const [row] = await tx<{ s: SeriesBooking }[]>`select public.book_meeting_series(
          p_title => ${body.title},
          p_recurrence => ${body.recurrence!},
          p_start => ${t.start}::timestamptz,
          p_end => ${t.end}::timestamptz,
          p_time_zone => ${body.time_zone},
          p_attendees => ${tx.json(body.attendees ?? [])}::jsonb,
          p_description => ${body.description ?? ""},
          p_location => ${body.location ?? ""},
          p_all_day => ${body.all_day ?? false},
          p_start_date => ${t.start_date}::date,
          p_end_date => ${t.end_date}::date,
          p_exdates => ${exdates}::timestamptz[],
          p_on_conflict => ${body.on_conflict ?? "fail"},
          p_idempotency_key => ${header ?? body.idempotency_key ?? null}
        ) as s`;
        return row.s;
      });
      return json(series, 201, {
        location: `series/${series.series.id}`,
        ...(series.replayed ? { "idempotent-replayed": "true" } : {}),
      });
    }
    const m = await run(async (tx) => {
      const [row] = await tx<{ m: Meeting }[]>`select public.book_meeting(
        p_title => ${body.title},
        p_start => ${t.start}::timestamptz,
        p_end => ${t.end}::timestamptz,
        p_time_zone => ${body.time_zone},
        p_attendees => ${tx.json(body.attendees ?? [])}::jsonb,
        p_description => ${body.description ?? ""},
        p_location => ${body.location ?? ""},
        p_all_day => ${body.all_day ?? false},
        p_start_date => ${t.start_date}::date,
        p_end_date => ${t.end_date}::date,
        p_idempotency_key => ${header ?? body.idempotency_key ?? null}
      ) as m`;
      return row.m;
    });
    return meetingResponse(m, 201, {
      location: `meetings/${m.id}`,
      ...(m.replayed ? { "idempotent-replayed": "true" } : {}),
    });
  },
});

const ListQuery = z.strictObject({
  from: dateTime().optional().meta({ description: "meetings that end after this instant" }),
  to: dateTime().optional().meta({ description: "meetings that start before this instant" }),
  status: z.enum(["confirmed", "cancelled"]).optional(),
  cursor: z.string().max(300).optional().meta({ description: "next_cursor of the previous page" }),
  limit: queryInt(1, 100).optional().meta({ description: "page size, 1-100 (default 50)" }),
});

// Keyset pagination on (start, id): the cursor carries the last row's key,
// exactly as Postgres printed it (microseconds kept).
export function encodeCursor(start: string, id: string): string {
  return btoa(JSON.stringify([start, id])).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

export function decodeCursor(cursor: string): { start: string; id: string } | null {
  try {
    const text = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const v = JSON.parse(text);
    if (!Array.isArray(v) || v.length !== 2) return null;
    const [start, id] = v;
    if (typeof start !== "string" || typeof id !== "string") return null;
    if (!parseInstant(start).ok) return null;
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
    return { start, id };
  } catch {
    return null;
  }
}

export const listMeetings = defineRoute({
  method: "get",
  path: "/meetings",
  operationId: "listMeetings",
  summary: "List my meetings",
  description: "Meetings the caller organises or attends (RLS decides), ordered by start, " +
    "paginated with a cursor.",
  tag: "meetings",
  auth: "user",
  query: ListQuery,
  responses: { 200: { description: "A page of meetings", schema: MeetingListSchema } },
  errors: [401, 422, 429],
  async handle({ query, run }) {
    const errors: FieldError[] = [];
    const bound = (f: "from" | "to") => {
      const v = query[f];
      if (v === undefined) return null;
      const r = parseInstant(v);
      if (!r.ok) errors.push({ field: f, message: r.message });
      return r.ok ? r.value : null;
    };
    const from = bound("from");
    const to = bound("to");
    const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
    if (query.cursor !== undefined && !after) {
      errors.push({ field: "cursor", message: "is not a cursor this API issued" });
    }
    if (errors.length) invalid(errors);
    if (from && to && Date.parse(from) >= Date.parse(to)) {
      invalid([{ field: "to", message: "must be after from" }]);
    }
    const limit = query.limit ?? 50;
    const rows = await run((tx) =>
      tx<{ meeting: Meeting }[]>`
        select private.meeting_json(m.id) as meeting
        from public.meetings m
        where (${from}::timestamptz is null or m.end_at > ${from}::timestamptz)
          and (${to}::timestamptz is null or m.start_at < ${to}::timestamptz)
          and (${query.status ?? null}::text is null or m.status = ${query.status ?? null}::text)
          and (${after?.start ?? null}::timestamptz is null
               or (m.start_at, m.id) > (${after?.start ?? null}::timestamptz, ${
        after?.id ?? null
      }::uuid))
        order by m.start_at, m.id
        limit ${limit + 1}`
    );
    const page = rows.slice(0, limit).map((r) => r.meeting);
    const last = page[page.length - 1];
    return json({
      meetings: page,
      next_cursor: rows.length > limit && last ? encodeCursor(last.start, last.id) : null,
    });
  },
});

export const getMeeting = defineRoute({
  method: "get",
  path: "/meetings/:id",
  operationId: "getMeeting",
  summary: "Read a meeting",
  description: "404 for a meeting the caller may not see: a stranger cannot tell it exists.",
  tag: "meetings",
  auth: "user",
  params: MeetingIdParams,
  headers: [{ name: "If-None-Match", description: "an ETag; 304 when it is still current" }],
  responses: {
    200: { description: "The meeting", schema: MeetingSchema, headers: ["ETag"] },
    304: { description: "Not modified since the ETag given" },
  },
  errors: [401, 404, 422, 429],
  async handle({ params, req, run }) {
    const m = await run(async (tx) => {
      const [row] = await tx<{ m: Meeting }[]>`select public.get_meeting(${params.id}::uuid) as m`;
      return row.m;
    });
    const inm = req.headers.get("if-none-match");
    if (inm && inm.split(",").map((s) => s.trim().replace(/^W\//, "")).includes(etag(m.version))) {
      return new Response(null, { status: 304, headers: { etag: etag(m.version) } });
    }
    return meetingResponse(m);
  },
});

export const getMeetingHistory = defineRoute({
  method: "get",
  path: "/meetings/:id/history",
  operationId: "getMeetingHistory",
  summary: "A meeting's audit trail",
  tag: "meetings",
  auth: "user",
  params: MeetingIdParams,
  responses: { 200: { description: "Every change, oldest first", schema: HistorySchema } },
  errors: [401, 404, 422, 429],
  async handle({ params, run }) {
    const events = await run(async (tx) => {
      const [row] = await tx<{ h: unknown[] }[]>`
        select public.get_meeting_history(${params.id}::uuid) as h`;
      return row.h;
    });
    return json({ meeting_id: params.id, events });
  },
});

export const updateMeeting = defineRoute({
  method: "put",
  path: "/meetings/:id",
  operationId: "updateMeeting",
  summary: "Change a meeting",
  description: "Organiser only. If-Match with the ETag last read is required (428 without it, " +
    "412 when someone changed the meeting since). A new start without an end keeps the duration.",
  tag: "meetings",
  auth: "user",
  params: MeetingIdParams,
  query: UpdateQuery,
  body: UpdateMeetingBody,
  bodyRequired: true,
  headers: [{
    name: "If-Match",
    required: true,
    description: "the meeting's ETag (its version) as last read",
    example: '"1"',
  }],
  responses: {
    200: { description: "The changed meeting", schema: MeetingSchema, headers: ["ETag"] },
  },
  errors: [...meetingErrors, 409, 412, 413, 415, 428],
  async handle({ params, query, body, req, run }) {
    const version = parseIfMatch(req.headers.get("if-match"));
    const t = resolveTimes(body, body.time_zone);
    if (query.scope !== undefined || body.recurrence !== undefined) {
      const series = ["time_zone", "all_day", "start_date", "end_date"].filter((f) =>
        (body as Record<string, unknown>)[f] !== undefined
      );
      if (series.length) {
        invalid(series.map((field) => ({
          field,
          message: "cannot change with a scope; move the series with start and end",
        })));
      }
      const m = await run(async (tx) => {
        const [row] = await tx<
          { m: { meeting?: Meeting } & Meeting }[]
        >`select public.update_series(
          p_meeting_id => ${params.id}::uuid,
          p_version => ${version}::integer,
          p_scope => ${query.scope ?? "this"},
          p_title => ${body.title ?? null},
          p_description => ${body.description ?? null},
          p_location => ${body.location ?? null},
          p_start => ${t.start}::timestamptz,
          p_end => ${t.end}::timestamptz,
          p_recurrence => ${body.recurrence ?? null},
          p_attendees => ${body.attendees ? tx.json(body.attendees) : null}::jsonb
        ) as m`;
        // Scope "this" answers the meeting; the others the series and the meeting.
        return row.m.meeting ?? row.m;
      });
      return meetingResponse(m);
    }
    const m = await run(async (tx) => {
      const [row] = await tx<{ m: Meeting }[]>`select public.update_meeting(
        p_meeting_id => ${params.id}::uuid,
        p_version => ${version}::integer,
        p_title => ${body.title ?? null},
        p_description => ${body.description ?? null},
        p_location => ${body.location ?? null},
        p_start => ${t.start}::timestamptz,
        p_end => ${t.end}::timestamptz,
        p_time_zone => ${body.time_zone ?? null},
        p_all_day => ${body.all_day ?? null}::boolean,
        p_start_date => ${t.start_date}::date,
        p_end_date => ${t.end_date}::date,
        p_attendees => ${body.attendees ? tx.json(body.attendees) : null}::jsonb
      ) as m`;
      return row.m;
    });
    return meetingResponse(m);
  },
});

const CancelQuery = z.strictObject({
  reason: z.string().max(1000).optional().meta({ description: "told to the attendees" }),
  scope: Scope.optional(),
});
const CancelBody = z.strictObject({ reason: z.string().max(1000).optional() });

export const cancelMeeting = defineRoute({
  method: "delete",
  path: "/meetings/:id",
  operationId: "cancelMeeting",
  summary: "Cancel a meeting",
  description: "Organiser only. A soft delete: the meeting stays, cancelled, its time is freed " +
    "and every attendee gets a cancellation notice. Cancelling twice answers the same. " +
    "If-Match is optional; when given, a stale one answers 412.",
  tag: "meetings",
  auth: "user",
  params: MeetingIdParams,
  query: CancelQuery,
  body: CancelBody,
  headers: [{ name: "If-Match", description: "optional: refuse if the meeting changed since" }],
  responses: {
    200: { description: "The cancelled meeting", schema: MeetingSchema, headers: ["ETag"] },
  },
  errors: [...meetingErrors, 412],
  async handle({ params, query, body, req, run }) {
    if (query.reason !== undefined && body?.reason !== undefined && query.reason !== body.reason) {
      invalid([{ field: "reason", message: "given twice (query and body) with different values" }]);
    }
    const version = parseIfMatch(req.headers.get("if-match"));
    if (query.scope !== undefined) {
      const m = await run(async (tx) => {
        const [row] = await tx<{ m: { meeting: Meeting } }[]>`select public.cancel_series(
          p_meeting_id => ${params.id}::uuid,
          p_scope => ${query.scope!},
          p_reason => ${query.reason ?? body?.reason ?? null},
          p_version => ${version}::integer
        ) as m`;
        return row.m.meeting;
      });
      return meetingResponse(m);
    }
    const m = await run(async (tx) => {
      const [row] = await tx<{ m: Meeting }[]>`select public.cancel_meeting(
        p_meeting_id => ${params.id}::uuid,
        p_reason => ${query.reason ?? body?.reason ?? null},
        p_version => ${version}::integer
      ) as m`;
      return row.m;
    });
    return meetingResponse(m);
  },
});

const ResponseBody = z.strictObject({
  response: z.enum(["accepted", "declined", "tentative"]),
});

export const respondToMeeting = defineRoute({
  method: "post",
  path: "/meetings/:id/responses",
  operationId: "respondToMeeting",
  summary: "RSVP to a meeting",
  description: "For an attendee: accepted, tentative, or declined (which frees their time).",
  tag: "meetings",
  auth: "user",
  params: MeetingIdParams,
  body: ResponseBody,
  bodyRequired: true,
  responses: { 200: { description: "The meeting after the response", schema: MeetingSchema } },
  errors: [...meetingErrors, 409, 413, 415],
  async handle({ params, body, run }) {
    const m = await run(async (tx) => {
      const [row] = await tx<{ m: Meeting }[]>`select public.respond_to_meeting(
        p_meeting_id => ${params.id}::uuid,
        p_response => ${body.response}
      ) as m`;
      return row.m;
    });
    return meetingResponse(m);
  },
});

export const getSeries = defineRoute({
  method: "get",
  path: "/series/:id",
  operationId: "getSeries",
  summary: "Read a series and its occurrences",
  description: "404 for a series the caller is not part of.",
  tag: "meetings",
  auth: "user",
  params: MeetingIdParams,
  responses: { 200: { description: "The series", schema: SeriesWithOccurrencesSchema } },
  errors: [401, 404, 422, 429],
  async handle({ params, run }) {
    const s = await run(async (tx) => {
      const [row] = await tx<{ s: unknown }[]>`select public.get_series(${params.id}::uuid) as s`;
      return row.s;
    });
    return json(s);
  },
});

export const meetingRoutes: RouteSpec[] = [
  createMeeting,
  listMeetings,
  getMeeting,
  getMeetingHistory,
  updateMeeting,
  cancelMeeting,
  respondToMeeting,
  getSeries,
];
