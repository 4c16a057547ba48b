// Our meetings as iCalendar objects, for CalDAV PUT. Times are written in
// UTC (no VTIMEZONE needed), all-day meetings as dates; ical.js does the
// escaping and line folding. The UID and X-SCHEDULER-MEETING-ID mark the
// event as ours so that a later pull does not take it for foreign busy time.
import ICAL from "ical.js";
import { MEETING_ID_PROPERTY, MEETING_UID_SUFFIX, type OutgoingEvent } from "./types.ts";
import { localDate } from "./zoned_time.ts";

export function meetingUid(meetingId: string): string {
  return `${meetingId}${MEETING_UID_SUFFIX}`;
}

// The resource name a meeting gets in a CalDAV collection.
export function meetingResourceName(meetingId: string): string {
  return `${encodeURIComponent(meetingId)}.ics`;
}

export function meetingToIcs(event: OutgoingEvent, now = new Date()): string {
  const calendar = new ICAL.Component(["vcalendar", [], []]);
  calendar.addPropertyWithValue("prodid", "-//meeting-scheduler//calendar sync//EN");
  calendar.addPropertyWithValue("version", "2.0");
  const vevent = new ICAL.Component("vevent");
  vevent.addPropertyWithValue("uid", meetingUid(event.meetingId));
  vevent.addPropertyWithValue("dtstamp", ICAL.Time.fromJSDate(now, true));
  vevent.addPropertyWithValue("sequence", event.sequence);
  if (event.allDay) {
    const start = ICAL.Time.fromDateString(localDate(Date.parse(event.start), event.timeZone));
    const end = ICAL.Time.fromDateString(localDate(Date.parse(event.end), event.timeZone));
    vevent.addPropertyWithValue("dtstart", start);
    vevent.addPropertyWithValue("dtend", end);
  } else {
    vevent.addPropertyWithValue("dtstart", ICAL.Time.fromJSDate(new Date(event.start), true));
    vevent.addPropertyWithValue("dtend", ICAL.Time.fromJSDate(new Date(event.end), true));
  }
  vevent.addPropertyWithValue("summary", event.title);
  if (event.description) vevent.addPropertyWithValue("description", event.description);
  if (event.location) vevent.addPropertyWithValue("location", event.location);
  vevent.addPropertyWithValue("transp", "OPAQUE");
  vevent.addPropertyWithValue("status", "CONFIRMED");
  if (event.organizerEmail) {
    vevent.addPropertyWithValue("organizer", `mailto:${event.organizerEmail}`);
  }
  for (const a of event.attendees) {
    const prop = vevent.addPropertyWithValue("attendee", `mailto:${a.email}`);
    if (a.name) prop.setParameter("cn", a.name);
  }
  vevent.addPropertyWithValue(MEETING_ID_PROPERTY.toLowerCase(), event.meetingId);
  calendar.addSubcomponent(vevent);
  return calendar.toString() + "\r\n";
}
