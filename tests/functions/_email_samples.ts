// Sample notices for the pure e-mail modules: one per kind, with the fields
// private.email_message_json produces.
import type { EmailKind, EmailMessageData } from "../../functions/_shared/email/types.ts";

export const KINDS: EmailKind[] = [
  "confirmation",
  "update",
  "reschedule",
  "cancellation",
  "reminder_24h",
  "reminder_1h",
  "series_conflict",
];

// A weekly series in Berlin at 09:00 local from 2027-03-01, one date left out.
export const SERIES = {
  id: "5e71e500-0000-4000-8000-000000000001",
  rrule: "FREQ=WEEKLY;BYDAY=MO",
  time_zone: "Europe/Berlin",
  first_start_local: "2027-03-01T09:00:00",
  duration_minutes: 60,
  all_day: false,
  exdates: ["2027-03-15T09:00:00"],
  status: "active" as const,
  version: 2,
};

export function sample(
  kind: EmailKind,
  overrides: {
    locale?: string;
    timeZone?: string;
    allDay?: boolean;
    role?: EmailMessageData["recipient"]["role"];
    status?: "confirmed" | "cancelled";
  } = {},
): EmailMessageData {
  const allDay = overrides.allDay ?? false;
  return {
    outbox_id: 42,
    kind,
    meeting_version: 3,
    due_at: "2027-03-14T14:00:00Z",
    attempt: 1,
    late: false,
    payload: kind === "reschedule"
      ? {
        previous_start: "2027-03-12T09:00:00Z",
        previous_end: "2027-03-12T10:00:00Z",
        previous_time_zone: "Europe/Berlin",
        previous_all_day: false,
      }
      : kind === "cancellation"
      ? { reason: 'Room unavailable; sorry, "team"' }
      : kind === "series_conflict"
      ? {
        series_id: SERIES.id,
        series_conflicts: [
          { start: "2028-01-10T14:00:00Z", end: "2028-01-10T15:00:00Z", occurrence_index: 52 },
        ],
      }
      : {},
    recipient: {
      email: "bob@example.com",
      name: "Bob Brown",
      role: overrides.role ?? "required",
      time_zone: overrides.timeZone ?? "America/New_York",
      locale: overrides.locale ?? "en",
    },
    organizer: { email: "alice@example.com", name: "Alice Adler" },
    meeting: {
      id: "7d0f3c52-8a1e-4d6b-9f1e-2b3c4d5e6f70",
      title: 'Design review, Q2; <budget> & "scope"',
      description: "Agenda:\n1. numbers\n2. next steps",
      location: "Room 4, Berlin",
      start: allDay ? "2027-03-14T23:00:00Z" : "2027-03-15T14:00:00Z",
      end: allDay ? "2027-03-16T23:00:00Z" : "2027-03-15T15:00:00Z",
      time_zone: "Europe/Berlin",
      all_day: allDay,
      start_date: allDay ? "2027-03-15" : null,
      end_date: allDay ? "2027-03-17" : null,
      status: overrides.status ?? (kind === "cancellation" ? "cancelled" : "confirmed"),
      version: 3,
      cancel_reason: null,
    },
    series: kind === "series_conflict" ? SERIES : null,
    attendees: [
      {
        email: "alice@example.com",
        name: "Alice Adler",
        role: "organizer",
        response_status: "accepted",
      },
      {
        email: "bob@example.com",
        name: "Bob Brown",
        role: "required",
        response_status: "needs_action",
      },
      { email: "guest@example.org", name: "", role: "optional", response_status: "tentative" },
    ],
  };
}
