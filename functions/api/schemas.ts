// The shapes the API answers with. Requests have their schemas next to their
// routes; these are shared by several routes and by the OpenAPI document,
// and the end-to-end tests check real responses against them.
import { z } from "zod";
import { uuid } from "../_shared/validation.ts";

const instant = () => z.string().meta({ format: "date-time" });
const nullable = <T extends z.ZodType>(t: T) => t.nullable();

export const FieldErrorSchema = z.object({ field: z.string(), message: z.string() });

export const ConflictSchema = z.object({
  meeting_id: nullable(z.string()).meta({
    description: "null when the conflicting meeting is not visible to the caller",
  }),
  user_id: z.string(),
  start: instant(),
  end: instant(),
});

export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string(),
  errors: z.array(FieldErrorSchema),
  conflicts: z.array(ConflictSchema),
  request_id: z.string(),
}).loose().meta({ id: "Problem", description: "RFC 9457 problem details" });

export const AttendeeSchema = z.object({
  id: z.string(),
  user_id: nullable(z.string()),
  email: z.string(),
  display_name: z.string(),
  role: z.enum(["organizer", "required", "optional"]),
  response_status: z.enum(["needs_action", "accepted", "declined", "tentative"]),
  responded_at: nullable(instant()),
});

export const WarningSchema = z.object({
  code: z.string(),
  user_id: z.string(),
  message: z.string(),
});

// A participant's external calendar (issue 6) is busy during the meeting.
export const CalendarWarningSchema = z.object({
  code: z.literal("external_calendar_conflict"),
  user_id: z.string(),
  message: z.string(),
  start: instant(),
  end: instant(),
}).meta({ id: "CalendarWarning" });

export const MeetingSchema = z.object({
  id: z.string(),
  organizer_id: z.string(),
  title: z.string(),
  description: z.string(),
  location: z.string(),
  start: instant(),
  end: instant(),
  time_zone: z.string(),
  all_day: z.boolean(),
  start_date: nullable(z.string()),
  end_date: nullable(z.string()),
  status: z.enum(["confirmed", "cancelled"]),
  version: z.number().int(),
  created_at: instant(),
  updated_at: instant(),
  cancelled_at: nullable(instant()),
  cancel_reason: nullable(z.string()),
  attendees: z.array(AttendeeSchema),
  series_id: nullable(z.string()).meta({
    description: "the series this meeting is an occurrence of",
  }),
  recurrence_id: nullable(z.string()).meta({
    description: "the occurrence's original local start in the series' zone (RECURRENCE-ID)",
  }),
  occurrence_index: nullable(z.number().int()),
  recurrence: nullable(z.string()).meta({ description: "the series' RRULE" }),
  warnings: z.array(WarningSchema).optional(),
  calendar_warnings: z.array(CalendarWarningSchema).optional().meta({
    description: "participants whose connected calendars are busy during the meeting",
  }),
  replayed: z.boolean().optional(),
}).meta({ id: "Meeting" });

export const SeriesSchema = z.object({
  id: z.string(),
  organizer_id: z.string(),
  recurrence: z.string(),
  time_zone: z.string(),
  first_start_local: z.string(),
  all_day: z.boolean(),
  exdates: z.array(z.string()).meta({ description: "local starts left out (EXDATE)" }),
  title: z.string(),
  description: z.string(),
  location: z.string(),
  horizon_until: instant(),
  status: z.enum(["active", "cancelled"]),
  version: z.number().int(),
  created_at: instant(),
  updated_at: instant(),
}).meta({ id: "Series" });

export const OccurrenceSchema = z.object({
  id: z.string(),
  start: instant(),
  end: instant(),
  recurrence_id: z.string(),
  status: z.enum(["confirmed", "cancelled"]).optional(),
});

export const SkippedOccurrenceSchema = z.object({
  occurrence_index: z.number().int(),
  start: instant(),
  end: instant(),
  conflicts: z.array(ConflictSchema),
});

export const SeriesBookingSchema = z.object({
  series: SeriesSchema,
  occurrences: z.array(OccurrenceSchema),
  skipped: z.array(SkippedOccurrenceSchema),
  replayed: z.boolean(),
}).meta({ id: "SeriesBooking" });

export const SeriesWithOccurrencesSchema = z.object({
  series: SeriesSchema,
  occurrences: z.array(OccurrenceSchema),
}).meta({ id: "SeriesWithOccurrences" });

export const MeetingListSchema = z.object({
  meetings: z.array(MeetingSchema),
  next_cursor: nullable(z.string()),
}).meta({ id: "MeetingList" });

export const HistoryEntrySchema = z.object({
  at: instant(),
  actor_id: nullable(z.string()),
  actor_role: z.string(),
  table: z.string(),
  record_id: z.string(),
  action: z.enum(["insert", "update", "delete"]),
  old: nullable(z.record(z.string(), z.unknown())),
  new: nullable(z.record(z.string(), z.unknown())),
});

export const HistorySchema = z.object({
  meeting_id: z.string(),
  events: z.array(HistoryEntrySchema),
}).meta({ id: "MeetingHistory" });

export const SlotSchema = z.object({
  start: instant(),
  end: instant(),
  user_ids: z.array(z.string()).optional().meta({
    description: "who is free, when min_attendees asks for at least N of them",
  }),
});

export const AvailabilitySchema = z.object({
  slots: z.array(SlotSchema),
  next_cursor: nullable(z.string()),
}).meta({ id: "Availability" });

export const CalendarConnectionSchema = z.object({
  id: z.string(),
  owner_id: z.string(),
  provider: z.enum(["google", "outlook", "caldav", "ics"]),
  calendar_ref: z.string(),
  display_name: z.string(),
  priority: z.number().int(),
  status: z.enum(["pending", "active", "error", "disabled"]),
  last_synced_at: nullable(instant()),
  last_error: nullable(z.string()),
  consecutive_failures: z.number().int(),
  next_attempt_at: nullable(instant()),
  sync_requested_at: nullable(instant()),
  created_at: instant(),
  updated_at: instant(),
  deleted: z.boolean().optional(),
}).meta({ id: "CalendarConnection" });

export const CalendarConnectionListSchema = z.object({
  connections: z.array(CalendarConnectionSchema),
}).meta({ id: "CalendarConnectionList" });

export const SyncQueuedSchema = z.object({
  queued: z.array(CalendarConnectionSchema),
  requested_at: instant(),
}).meta({ id: "CalendarSyncQueued" });

export const HealthSchema = z.object({
  status: z.enum(["ok", "degraded"]),
  database: z.enum(["ok", "unreachable"]),
});

export const MeetingIdParams = z.strictObject({ id: uuid() });
