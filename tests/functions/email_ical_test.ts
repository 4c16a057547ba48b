// The invitation parses back with ical.js: METHOD:REQUEST with a UID stable
// per meeting and SEQUENCE = meeting version, METHOD:CANCEL on cancellation,
// all-day meetings as DATE values, text escaped and long lines folded.
import ICAL from "ical.js";
import { buildInvitation, foldLine, meetingUid } from "../../functions/_shared/email/ical.ts";
import { composeMessage } from "../../functions/_shared/email/compose.ts";
import { loadTemplates } from "../../functions/_shared/email/templates.ts";
import { sample } from "./_email_samples.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

const STAMP = new Date("2027-03-10T08:00:00Z");

function parse(ics: string) {
  const cal = new ICAL.Component(ICAL.parse(ics));
  const event = cal.getFirstSubcomponent("vevent")!;
  return { cal, event, ev: new ICAL.Event(event) };
}

Deno.test("REQUEST: UID stable per meeting, SEQUENCE follows the version, times in UTC", () => {
  const data = sample("confirmation");
  const ics = buildInvitation({
    method: "REQUEST",
    meeting: data.meeting,
    organizer: data.organizer,
    attendees: data.attendees,
    uidDomain: "mail.example.com",
    stamp: STAMP,
  });
  const { cal, event, ev } = parse(ics);
  assert(cal.getFirstPropertyValue("method") === "REQUEST", "METHOD:REQUEST");
  assert(ev.uid === `meeting-${data.meeting.id}@mail.example.com`, `uid ${ev.uid}`);
  assert(ev.sequence === 3, `sequence ${ev.sequence}`);
  assert(ev.summary === data.meeting.title, `summary round-trips escaping: ${ev.summary}`);
  assert(ev.description === data.meeting.description, "multi-line description round-trips");
  assert(ev.location === data.meeting.location, "location with a comma round-trips");
  assert(ev.startDate.toJSDate().toISOString() === "2027-03-15T14:00:00.000Z", "start");
  assert(ev.endDate.toJSDate().toISOString() === "2027-03-15T15:00:00.000Z", "end");
  assert(event.getFirstPropertyValue("status") === "CONFIRMED", "status");
  const organizer = event.getFirstProperty("organizer")!;
  assert(organizer.getFirstValue() === "mailto:alice@example.com", "organizer");
  const attendees = event.getAllProperties("attendee");
  assert(attendees.length === 2, `two attendees besides the organiser, got ${attendees.length}`);
  const guest = attendees.find((a) => a.getFirstValue() === "mailto:guest@example.org")!;
  assert(guest.getParameter("role") === "OPT-PARTICIPANT", "optional guest");
  assert(guest.getParameter("partstat") === "TENTATIVE", "partstat follows the response");
  assert(ics.endsWith("\r\n") && !/[^\r]\n/.test(ics), "CRLF line endings");

  const again = buildInvitation({
    method: "REQUEST",
    meeting: { ...data.meeting, version: 4, title: "Moved" },
    organizer: data.organizer,
    attendees: data.attendees,
    uidDomain: "mail.example.com",
    stamp: new Date(),
  });
  const second = parse(again).ev;
  assert(second.uid === ev.uid, "the same meeting keeps its UID");
  assert(second.sequence === 4, "a newer version has a higher SEQUENCE");
  assert(meetingUid(data.meeting.id, "mail.example.com") === ev.uid, "meetingUid matches");
});

Deno.test("CANCEL for a cancelled meeting; all-day meetings as DATE values", () => {
  const data = sample("cancellation", { allDay: true });
  const ics = buildInvitation({
    method: "CANCEL",
    meeting: { ...data.meeting, version: 5 },
    organizer: data.organizer,
    attendees: data.attendees,
    uidDomain: "mail.example.com",
    stamp: STAMP,
  });
  const { cal, event, ev } = parse(ics);
  assert(cal.getFirstPropertyValue("method") === "CANCEL", "METHOD:CANCEL");
  assert(event.getFirstPropertyValue("status") === "CANCELLED", "STATUS:CANCELLED");
  assert(ev.sequence === 5, "sequence");
  assert(ev.startDate.isDate && ev.startDate.toString() === "2027-03-15", `start ${ev.startDate}`);
  assert(
    ev.endDate.isDate && ev.endDate.toString() === "2027-03-17",
    `end (exclusive) ${ev.endDate}`,
  );
});

Deno.test("long lines fold at 75 octets without splitting a character", () => {
  const line = "SUMMARY:" + "Größenordnung ".repeat(12);
  const folded = foldLine(line);
  for (const part of folded.split("\r\n")) {
    assert(new TextEncoder().encode(part).length <= 75, `line too long: ${part}`);
  }
  assert(folded.replace(/\r\n /g, "") === line, "unfolding gives the line back");
});

Deno.test("composed messages attach REQUEST or CANCEL, reminders none; Metadata carries the outbox id", async () => {
  const templates = await loadTemplates();
  const settings = {
    from: "Scheduler <meetings@example.com>",
    messageStream: "outbound",
    uidDomain: "example.com",
  };
  const now = new Date("2027-03-14T14:00:00Z");
  const invite = composeMessage(sample("confirmation"), templates, settings, now);
  assert(invite.Metadata?.outbox_id === "42", "outbox id in Metadata");
  assert(invite.To === '"Bob Brown" <bob@example.com>', `quoted To: ${invite.To}`);
  assert(invite.Attachments?.length === 1, "one attachment");
  const ics = new TextDecoder().decode(
    Uint8Array.from(atob(invite.Attachments![0].Content), (c) => c.charCodeAt(0)),
  );
  assert(parse(ics).cal.getFirstPropertyValue("method") === "REQUEST", "invitation is a REQUEST");
  assert(
    invite.Attachments![0].ContentType.includes("method=REQUEST"),
    "content type names the method",
  );

  const removed = composeMessage(
    sample("cancellation", { role: "removed", status: "confirmed" }),
    templates,
    settings,
    now,
  );
  const cancelIcs = new TextDecoder().decode(
    Uint8Array.from(atob(removed.Attachments![0].Content), (c) => c.charCodeAt(0)),
  );
  const parsed = parse(cancelIcs);
  assert(parsed.cal.getFirstPropertyValue("method") === "CANCEL", "removal is a CANCEL");
  const only = parsed.event.getAllProperties("attendee").map((a) => a.getFirstValue());
  assert(
    only.length === 1 && only[0] === "mailto:bob@example.com",
    `only the removed guest: ${only}`,
  );

  const reminder = composeMessage(sample("reminder_1h"), templates, settings, now);
  assert(reminder.Attachments === undefined, "reminders carry no invitation");
  assert(reminder.Tag === "reminder_1h", "tag names the kind");
});
