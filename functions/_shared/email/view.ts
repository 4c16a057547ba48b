// What a template sees for one notice: the meeting in the recipient's time
// zone and language, who organises it, who attends, and the kind-specific
// details (previous time of a reschedule, reason of a cancellation, time
// left before a reminded meeting).
import type { EmailMessageData } from "./types.ts";
import { formatMeetingTimes, formatStartsIn } from "./time_format.ts";
import { describeRule } from "./recurrence.ts";

export const SUPPORTED_LOCALES = ["en", "de"] as const;

export function templateName(kind: EmailMessageData["kind"]): string {
  return kind === "reminder_24h" || kind === "reminder_1h" ? "reminder" : kind;
}

export function recipientLocale(data: EmailMessageData): string {
  return (SUPPORTED_LOCALES as readonly string[]).includes(data.recipient.locale)
    ? data.recipient.locale
    : "en";
}

export function buildView(data: EmailMessageData, now: Date): Record<string, unknown> {
  const locale = recipientLocale(data);
  const { meeting, recipient } = data;
  const times = formatMeetingTimes(
    {
      start: meeting.start,
      end: meeting.end,
      allDay: meeting.all_day,
      startDate: meeting.start_date,
      endDate: meeting.end_date,
      meetingTimeZone: meeting.time_zone,
    },
    locale,
    recipient.time_zone,
  );
  const view: Record<string, unknown> = {
    recipient_name: recipient.name || recipient.email,
    recipient_email: recipient.email,
    organizer_name: data.organizer.name || data.organizer.email,
    organizer_email: data.organizer.email,
    title: meeting.title,
    description: meeting.description,
    location: meeting.location,
    when: times.when,
    time_zone: times.timeZone,
    all_day: meeting.all_day,
    attendees: data.attendees.map((a) => ({
      name: a.name || a.email,
      email: a.email,
      optional: a.role === "optional",
    })),
    // A notice to someone taken off a meeting that goes on reads differently
    // from the meeting being called off.
    removed: recipient.role === "removed" && meeting.status !== "cancelled",
    is_organizer: recipient.role === "organizer",
    // Notices about a series, or an occurrence of one, say how it repeats.
    recurrence: data.series ? describeRule(data.series.rrule, locale) : "",
  };
  if (data.kind === "reschedule") {
    const p = data.payload;
    const previous = formatMeetingTimes(
      {
        start: String(p.previous_start ?? meeting.start),
        end: String(p.previous_end ?? meeting.end),
        allDay: Boolean(p.previous_all_day ?? meeting.all_day),
        meetingTimeZone: String(p.previous_time_zone ?? meeting.time_zone),
      },
      locale,
      recipient.time_zone,
    );
    view.previous_when = previous.when;
    view.previous_time_zone = previous.timeZone;
    view.previous_all_day = Boolean(p.previous_all_day ?? meeting.all_day);
  }
  if (data.kind === "cancellation") {
    view.reason = String(data.payload.reason ?? meeting.cancel_reason ?? "");
  }
  if (data.kind === "reminder_24h" || data.kind === "reminder_1h") {
    view.starts_in = formatStartsIn(meeting.start, now, locale);
  }
  if (data.kind === "series_conflict") {
    const skipped = Array.isArray(data.payload.series_conflicts)
      ? data.payload.series_conflicts as { start: string; end: string }[]
      : [];
    view.conflicts = skipped.map((c) => {
      const t = formatMeetingTimes(
        { start: c.start, end: c.end, allDay: meeting.all_day, meetingTimeZone: meeting.time_zone },
        locale,
        recipient.time_zone,
      );
      return { when: t.when, time_zone: t.timeZone };
    });
    view.conflict_count = skipped.length;
  }
  return view;
}
