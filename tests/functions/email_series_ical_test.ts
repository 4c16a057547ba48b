// Recurring meetings in mail: the series invitation carries RRULE, EXDATE and
// a VTIMEZONE so any client expands it to the same local times we book; an
// occurrence is addressed by its RECURRENCE-ID; ending a series from one
// date on is a CANCEL with RANGE=THISANDFUTURE. Parsed back with ical.js.
import ICAL from "ical.js";
import { buildInvitation, seriesUid } from "../../functions/_shared/email/ical.ts";
import { invitationTarget } from "../../functions/_shared/email/compose.ts";
import { describeRule, transitions, vtimezone } from "../../functions/_shared/email/recurrence.ts";
import { sample, SERIES } from "./_email_samples.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

const STAMP = new Date("2027-02-20T08:00:00Z");

function seriesInvitation(
  method: "REQUEST" | "CANCEL",
  target: Parameters<typeof buildInvitation>[0]["target"],
) {
  const data = sample("confirmation");
  return buildInvitation({
    method,
    meeting: { ...data.meeting, series_id: SERIES.id, recurrence_id: "2027-03-22T09:00:00" },
    organizer: data.organizer,
    attendees: data.attendees,
    uidDomain: "mail.example.com",
    stamp: STAMP,
    target,
  });
}

function parse(ics: string) {
  const cal = new ICAL.Component(ICAL.parse(ics));
  // The zone the invitation defines is what a client would use.
  for (const tz of cal.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(tz);
  }
  const vevent = cal.getFirstSubcomponent("vevent")!;
  return { cal, vevent, event: new ICAL.Event(vevent) };
}

Deno.test("a series invitation expands to 09:00 Berlin time on both sides of the DST change, EXDATE left out", () => {
  const ics = seriesInvitation("REQUEST", { kind: "series", series: SERIES });
  const { cal, event, vevent } = parse(ics);
  assert(cal.getFirstPropertyValue("method") === "REQUEST", "METHOD:REQUEST");
  assert(event.uid === seriesUid(SERIES.id, "mail.example.com"), `series UID: ${event.uid}`);
  assert(event.sequence === SERIES.version, "SEQUENCE is the series version");
  assert(String(vevent.getFirstPropertyValue("rrule")) === "FREQ=WEEKLY;BYDAY=MO", "RRULE carried");
  const it = event.iterator();
  const starts: string[] = [];
  for (let next = it.next(); next && starts.length < 6; next = it.next()) {
    starts.push(next.toJSDate().toISOString());
  }
  assert(
    JSON.stringify(starts) === JSON.stringify([
      "2027-03-01T08:00:00.000Z",
      "2027-03-08T08:00:00.000Z",
      // 15 March is an EXDATE; Berlin moves to summer time on 28 March.
      "2027-03-22T08:00:00.000Z",
      "2027-03-29T07:00:00.000Z",
      "2027-04-05T07:00:00.000Z",
      "2027-04-12T07:00:00.000Z",
    ]),
    `expanded starts: ${starts.join(", ")}`,
  );
});

Deno.test("the VTIMEZONE places far-future occurrences right (yearly rules after the first year)", () => {
  const ics = seriesInvitation("REQUEST", { kind: "series", series: SERIES });
  const { event } = parse(ics);
  const it = event.iterator();
  let found = "";
  for (let next = it.next(); next; next = it.next()) {
    const iso = next.toJSDate().toISOString();
    if (iso.startsWith("2031-07-")) {
      found = iso;
      break;
    }
  }
  assert(found.endsWith("T07:00:00.000Z"), `July 2031 is 09:00 CEST (07:00Z): ${found}`);
});

Deno.test("one occurrence: RECURRENCE-ID in the series' zone, the series UID, the meeting's own times", () => {
  const ics = seriesInvitation("REQUEST", {
    kind: "occurrence",
    series: SERIES,
    recurrenceId: "2027-03-22T09:00:00",
  });
  const { event, vevent } = parse(ics);
  assert(event.uid === seriesUid(SERIES.id, "mail.example.com"), "the series UID");
  const rid = vevent.getFirstProperty("recurrence-id")!;
  assert(rid.getParameter("tzid") === "Europe/Berlin", "RECURRENCE-ID has the series' TZID");
  assert(
    event.recurrenceId.toJSDate().toISOString() === "2027-03-22T08:00:00.000Z",
    "the instance it replaces",
  );
  assert(!vevent.hasProperty("rrule"), "an override carries no RRULE");
  assert(event.startDate.toJSDate().toISOString() === "2027-03-15T14:00:00.000Z", "its own start");
});

Deno.test("ending a series from one date on: CANCEL with RECURRENCE-ID;RANGE=THISANDFUTURE", () => {
  const ics = seriesInvitation("CANCEL", {
    kind: "occurrence",
    series: SERIES,
    recurrenceId: "2027-03-22T09:00:00",
    thisAndFuture: true,
  });
  const { cal, vevent } = parse(ics);
  assert(cal.getFirstPropertyValue("method") === "CANCEL", "METHOD:CANCEL");
  assert(
    vevent.getFirstProperty("recurrence-id")!.getParameter("range") === "THISANDFUTURE",
    "RANGE",
  );
  assert(vevent.getFirstPropertyValue("status") === "CANCELLED", "STATUS:CANCELLED");
});

Deno.test("which invitation a notice gets follows what it is about", () => {
  const base = sample("update");
  const series = { ...base, series: SERIES };
  assert(invitationTarget(base).kind === "meeting", "a lone meeting");
  assert(
    invitationTarget({ ...series, payload: { series_id: SERIES.id, scope: "all" } }).kind ===
      "series",
    "a notice naming the series describes the series",
  );
  const occ = invitationTarget({
    ...series,
    meeting: { ...base.meeting, series_id: SERIES.id, recurrence_id: "2027-03-22T09:00:00" },
  });
  assert(occ.kind === "occurrence" && occ.recurrenceId === "2027-03-22T09:00:00", "one occurrence");
  const future = invitationTarget({
    ...sample("cancellation"),
    series: SERIES,
    meeting: { ...base.meeting, series_id: SERIES.id, recurrence_id: "2027-03-22T09:00:00" },
    payload: { series_id: SERIES.id, scope: "this_and_following" },
  });
  assert(future.kind === "occurrence" && future.thisAndFuture === true, "this and following");
});

Deno.test("zone transitions and rules come from the tz database, to the minute", () => {
  const t = transitions(
    "America/New_York",
    new Date("2027-01-01T00:00:00Z"),
    new Date("2028-01-01T00:00:00Z"),
  );
  assert(
    JSON.stringify(t.map((x) => [x.at.toISOString(), x.before, x.after])) ===
      JSON.stringify([["2027-03-14T07:00:00.000Z", -300, -240], [
        "2027-11-07T06:00:00.000Z",
        -240,
        -300,
      ]]),
    `New York 2027: ${JSON.stringify(t)}`,
  );
  const lines = vtimezone("Asia/Kolkata", new Date("2027-01-01T00:00:00Z"));
  assert(lines.filter((l) => l.startsWith("BEGIN:DAYLIGHT")).length === 0, "Kolkata has no DST");
  assert(lines.includes("TZOFFSETTO:+0530"), "Kolkata is +05:30");
  const berlin = vtimezone("Europe/Berlin", new Date("2027-01-01T00:00:00Z"));
  assert(
    berlin.includes("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"),
    "EU summer time: last Sunday of March",
  );
  assert(berlin.includes("RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"), "and of October");
});

Deno.test("a rule in words, in the recipient's language", () => {
  assert(
    describeRule("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", "en") ===
      "every week, on Monday, Wednesday, 10 times",
    describeRule("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", "en"),
  );
  assert(
    describeRule("FREQ=MONTHLY;BYDAY=-1FR", "de") === "monatlich, am letzten Freitag",
    describeRule("FREQ=MONTHLY;BYDAY=-1FR", "de"),
  );
  assert(
    describeRule("FREQ=DAILY;INTERVAL=2;UNTIL=20301231T000000Z", "en") ===
      "every 2 days, until 2030-12-31",
    describeRule("FREQ=DAILY;INTERVAL=2;UNTIL=20301231T000000Z", "en"),
  );
  assert(
    describeRule("FREQ=MONTHLY;BYMONTHDAY=-1", "en") === "FREQ=MONTHLY;BYMONTHDAY=-1",
    "parts without words fall back to the rule itself",
  );
});
