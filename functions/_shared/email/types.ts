// The shape of one claimed notice, as private.email_message_json builds it.
export type EmailKind =
  | "confirmation"
  | "update"
  | "reschedule"
  | "cancellation"
  | "reminder_24h"
  | "reminder_1h"
  | "series_conflict";

export type Locale = "en" | "de";

export interface MeetingSnapshot {
  id: string;
  title: string;
  description: string;
  location: string;
  start: string;
  end: string;
  time_zone: string;
  all_day: boolean;
  start_date: string | null;
  end_date: string | null;
  status: "confirmed" | "cancelled";
  version: number;
  cancel_reason: string | null;
  // Occurrences of a series: which one (its local start as generated, the
  // RECURRENCE-ID).
  series_id?: string | null;
  recurrence_id?: string | null;
}

export interface SeriesSnapshot {
  id: string;
  rrule: string;
  time_zone: string;
  first_start_local: string;
  duration_minutes: number;
  all_day: boolean;
  exdates: string[];
  status: "active" | "cancelled";
  version: number;
}

export interface AttendeeSnapshot {
  email: string;
  name: string;
  role: "organizer" | "required" | "optional";
  response_status: "needs_action" | "accepted" | "declined" | "tentative";
}

export interface EmailMessageData {
  outbox_id: number;
  kind: EmailKind;
  meeting_version: number;
  due_at: string;
  attempt: number;
  late: boolean;
  payload: Record<string, unknown>;
  recipient: {
    email: string;
    name: string;
    // "removed" when the notice is for someone taken off the meeting.
    role: AttendeeSnapshot["role"] | "removed";
    time_zone: string;
    locale: string;
  };
  organizer: { email: string; name: string };
  meeting: MeetingSnapshot;
  // The series the notice is about, or the meeting belongs to.
  series?: SeriesSnapshot | null;
  attendees: AttendeeSnapshot[];
}

export interface ClaimedEmail {
  outboxId: string;
  leaseToken: string;
  data: EmailMessageData;
}
