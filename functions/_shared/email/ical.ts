// iCalendar invitations (RFC 5545 / iTIP RFC 5546) so mail clients add,
// update and remove the meeting in the recipient's calendar: METHOD:REQUEST
// for an invitation or a change, METHOD:CANCEL for a cancellation. The UID is
// stable per meeting and SEQUENCE follows the meeting's version, so a client
// applies a newer message over an older one and never the other way round.
import type { AttendeeSnapshot, MeetingSnapshot, SeriesSnapshot } from "./types.ts";
import { addLocalMinutes, localStamp, vtimezone } from "./recurrence.ts";

export type ItipMethod = "REQUEST" | "CANCEL";

// What the invitation describes: a lone meeting; a whole series (one VEVENT
// with RRULE and EXDATE); or one occurrence of a series (RECURRENCE-ID, with
// RANGE=THISANDFUTURE when it and the following ones are meant).
export type InvitationTarget =
  | { kind: "meeting" }
  | { kind: "series"; series: SeriesSnapshot }
  | { kind: "occurrence"; series: SeriesSnapshot; recurrenceId: string; thisAndFuture?: boolean };

export interface InvitationInput {
  method: ItipMethod;
  meeting: MeetingSnapshot;
  organizer: { email: string; name: string };
  // For CANCEL to someone removed from a meeting that goes on, only them.
  attendees: Pick<AttendeeSnapshot, "email" | "name" | "role" | "response_status">[];
  uidDomain: string;
  stamp: Date;
  target?: InvitationTarget;
}

export function seriesUid(seriesId: string, uidDomain: string): string {
  return `series-${seriesId}@${uidDomain}`;
}

export function meetingUid(meetingId: string, uidDomain: string): string {
  return `meeting-${meetingId}@${uidDomain}`;
}

// TEXT values escape backslash, semicolon, comma and newlines (RFC 5545 3.3.11).
function escapeText(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/;/g, "\\;").replace(/,/g, "\\,")
    .replace(/\r\n|\r|\n/g, "\\n");
}

// Parameter values with : ; , must be quoted; quotes themselves cannot appear.
function paramValue(value: string): string {
  const clean = value.replace(/"/g, "'").replace(/[\r\n]+/g, " ");
  return /[:;,]/.test(clean) ? `"${clean}"` : clean;
}

function utcStamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

function dateValue(date: string): string {
  return date.replace(/-/g, "");
}

const encoder = new TextEncoder();

// Content lines are folded at 75 octets (RFC 5545 3.1), never inside a
// multi-byte character.
export function foldLine(line: string): string {
  if (encoder.encode(line).length <= 75) return line;
  const out: string[] = [];
  let current = "";
  let currentBytes = 0;
  for (const ch of line) {
    const bytes = encoder.encode(ch).length;
    const limit = out.length === 0 ? 75 : 74; // continuation lines start with a space
    if (currentBytes + bytes > limit) {
      out.push(current);
      current = "";
      currentBytes = 0;
    }
    current += ch;
    currentBytes += bytes;
  }
  out.push(current);
  return out.join("\r\n ");
}

const PARTSTAT: Record<AttendeeSnapshot["response_status"], string> = {
  needs_action: "NEEDS-ACTION",
  accepted: "ACCEPTED",
  declined: "DECLINED",
  tentative: "TENTATIVE",
};

export function buildInvitation(input: InvitationInput): string {
  const { meeting, method } = input;
  const target = input.target ?? { kind: "meeting" };
  const cancelled = method === "CANCEL";
  const lines = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//meeting-scheduler//email//EN",
    "CALSCALE:GREGORIAN",
    `METHOD:${method}`,
  ];
  if (target.kind !== "meeting" && !target.series.all_day) {
    // Local times with TZID need the zone's definition in the same object.
    const first = new Date(`${target.series.first_start_local.slice(0, 10)}T00:00:00Z`);
    lines.push(...vtimezone(target.series.time_zone, first));
  }
  lines.push("BEGIN:VEVENT");
  if (target.kind === "meeting") {
    lines.push(`UID:${meetingUid(meeting.id, input.uidDomain)}`, `SEQUENCE:${meeting.version}`);
  } else {
    const sequence = target.kind === "series" ? target.series.version : meeting.version;
    lines.push(`UID:${seriesUid(target.series.id, input.uidDomain)}`, `SEQUENCE:${sequence}`);
  }
  lines.push(`DTSTAMP:${utcStamp(input.stamp)}`);

  if (target.kind === "series") {
    const s = target.series;
    if (s.all_day) {
      const first = s.first_start_local.slice(0, 10);
      const days = Math.round(s.duration_minutes / 1440);
      lines.push(`DTSTART;VALUE=DATE:${dateValue(first)}`);
      lines.push(
        `DTEND;VALUE=DATE:${dateValue(addLocalMinutes(first + "T00:00:00", days * 1440))}`,
      );
      lines.push(`RRULE:${s.rrule}`);
      if (s.exdates.length) {
        lines.push(
          `EXDATE;VALUE=DATE:${s.exdates.map((d) => dateValue(d.slice(0, 10))).join(",")}`,
        );
      }
    } else {
      const tz = paramValue(s.time_zone);
      lines.push(`DTSTART;TZID=${tz}:${localStamp(s.first_start_local)}`);
      lines.push(
        `DTEND;TZID=${tz}:${localStamp(addLocalMinutes(s.first_start_local, s.duration_minutes))}`,
      );
      lines.push(`RRULE:${s.rrule}`);
      if (s.exdates.length) {
        lines.push(`EXDATE;TZID=${tz}:${s.exdates.map(localStamp).join(",")}`);
      }
    }
  } else {
    if (target.kind === "occurrence") {
      const range = target.thisAndFuture ? ";RANGE=THISANDFUTURE" : "";
      if (target.series.all_day) {
        lines.push(
          `RECURRENCE-ID;VALUE=DATE${range}:${dateValue(target.recurrenceId.slice(0, 10))}`,
        );
      } else {
        lines.push(
          `RECURRENCE-ID;TZID=${paramValue(target.series.time_zone)}${range}:${
            localStamp(target.recurrenceId)
          }`,
        );
      }
    }
    if (meeting.all_day && meeting.start_date && meeting.end_date) {
      lines.push(`DTSTART;VALUE=DATE:${dateValue(meeting.start_date)}`);
      lines.push(`DTEND;VALUE=DATE:${dateValue(meeting.end_date)}`);
    } else {
      lines.push(`DTSTART:${utcStamp(new Date(meeting.start))}`);
      lines.push(`DTEND:${utcStamp(new Date(meeting.end))}`);
    }
  }
  lines.push(`SUMMARY:${escapeText(meeting.title)}`);
  if (meeting.description) lines.push(`DESCRIPTION:${escapeText(meeting.description)}`);
  if (meeting.location) lines.push(`LOCATION:${escapeText(meeting.location)}`);
  lines.push(`STATUS:${cancelled ? "CANCELLED" : "CONFIRMED"}`);
  lines.push(
    `ORGANIZER;CN=${
      paramValue(input.organizer.name || input.organizer.email)
    }:mailto:${input.organizer.email}`,
  );
  for (const a of input.attendees) {
    if (a.role === "organizer") continue;
    const role = a.role === "optional" ? "OPT-PARTICIPANT" : "REQ-PARTICIPANT";
    lines.push(
      `ATTENDEE;CN=${paramValue(a.name || a.email)};ROLE=${role};PARTSTAT=${
        PARTSTAT[a.response_status]
      };RSVP=${cancelled ? "FALSE" : "TRUE"}:mailto:${a.email}`,
    );
  }
  lines.push("END:VEVENT", "END:VCALENDAR");
  return lines.map(foldLine).join("\r\n") + "\r\n";
}
