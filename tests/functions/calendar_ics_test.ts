// ICS import against every real-world file in shared/fixtures/ics: the
// valid ones give exactly the busy ranges a person reading them would expect
// (worked out by hand from the files: zones, DST, overrides, RDATE/EXDATE),
// the broken ones are rejected or skipped with a reason and never throw
// anything but IcsError.
import { assert, assertEquals, assertThrows } from "./_calendar_assert.ts";
import { IcsError, type IcsImport, importIcs } from "../../functions/_shared/calendar/ics.ts";

const FIXTURES = Deno.env.get("ICS_FIXTURES_DIR") ??
  new URL("../../../shared/fixtures/ics", import.meta.url).pathname;

function fixture(name: string): string {
  return Deno.readTextFileSync(`${FIXTURES}/${name}`);
}

function load(name: string, from: string, to: string, timeZone = "UTC"): IcsImport {
  return importIcs(fixture(name), { timeZone, from: new Date(from), to: new Date(to) });
}

// Busy time only: free (transparent) occurrences are imported but block nothing.
const ranges = (r: IcsImport) => r.busy.filter((b) => !b.free).map((b) => [b.start, b.end]);
const z = (s: string) => new Date(s).toISOString();

type Expectation =
  | {
    window: [string, string];
    timeZone?: string;
    busy: [string, string][];
    free?: number;
    skipped?: RegExp[];
  }
  | { rejected: RegExp };

// Every file in the folder must be listed here: a new fixture fails this
// suite until someone decides what it should import as.
const EXPECTED: Record<string, Expectation> = {
  "icaljs_minimal.ics": {
    window: ["2012-01-01", "2013-01-01"],
    busy: [["2012-06-30T13:00:00Z", "2012-06-30T14:00:00Z"]], // 06:00-07:00 PDT
  },
  "icaljs_blank_description.ics": {
    window: ["2012-01-01", "2013-01-01"],
    busy: [["2012-06-30T13:00:00Z", "2012-06-30T14:00:00Z"]],
  },
  "icaljs_duration_instead_of_dtend.ics": {
    window: ["2012-01-01", "2013-01-01"],
    busy: [["2012-06-30T13:00:00Z", "2012-07-01T13:00:00Z"]], // DURATION:P1D
  },
  "icaljs_only_dtstart_date.ics": {
    // A date without DTEND lasts one day, in the owner's zone.
    window: ["2012-01-01", "2013-01-01"],
    timeZone: "Europe/Berlin",
    busy: [["2012-06-29T22:00:00Z", "2012-06-30T22:00:00Z"]],
  },
  "icaljs_only_dtstart_time.ics": {
    // A date-time without DTEND or DURATION takes no time (RFC 5545 3.6.1).
    window: ["2012-01-01", "2013-01-01"],
    busy: [],
  },
  "icaljs_daily_recur.ics": {
    // 05:00-06:00 Los Angeles daily: 12:00Z in PDT, 13:00Z from 4 November.
    window: ["2012-11-02T00:00:00Z", "2012-11-06T00:00:00Z"],
    busy: [
      ["2012-11-02T12:00:00Z", "2012-11-02T13:00:00Z"],
      ["2012-11-03T12:00:00Z", "2012-11-03T13:00:00Z"],
      ["2012-11-04T13:00:00Z", "2012-11-04T14:00:00Z"],
      ["2012-11-05T13:00:00Z", "2012-11-05T14:00:00Z"],
    ],
  },
  "icaljs_day_long_recur_yearly.ics": {
    window: ["2012-01-01", "2013-01-01"],
    busy: [], // TRANSP:TRANSPARENT
    free: 107, // weekdays from Friday 3 August to the end of 2012, as free time
  },
  "icaljs_forced_types.ics": {
    window: ["2012-01-01", "2013-01-01"],
    busy: [], // TRANSP:TRANSPARENT
    free: 1,
  },
  "icaljs_google_birthday.ics": {
    // Two UIDs: the 2014 one with RRULE COUNT=1 plus two RDATEs, and three
    // overrides of a master the file does not carry. All-day, owner in UTC.
    window: ["2012-01-01", "2015-01-01"],
    busy: [
      ["2012-12-10T00:00:00Z", "2012-12-11T00:00:00Z"],
      ["2012-12-10T00:00:00Z", "2012-12-11T00:00:00Z"],
      ["2013-12-10T00:00:00Z", "2013-12-11T00:00:00Z"],
      ["2013-12-10T00:00:00Z", "2013-12-11T00:00:00Z"],
      ["2014-12-10T00:00:00Z", "2014-12-11T00:00:00Z"],
      ["2014-12-10T00:00:00Z", "2014-12-11T00:00:00Z"],
    ],
  },
  "icaljs_multiple_rrules.ics": {
    // Weekly on Mondays and monthly on every Sunday, 11:00-11:30 PDT, both
    // until 30 July: the first two weeks.
    window: ["2012-03-01", "2012-04-08"],
    busy: [
      ["2012-03-26T18:00:00Z", "2012-03-26T18:30:00Z"],
      ["2012-04-01T18:00:00Z", "2012-04-01T18:30:00Z"],
      ["2012-04-02T18:00:00Z", "2012-04-02T18:30:00Z"],
    ],
  },
  "icaljs_parserv2.ics": {
    // Weekdays 10:30-11:00 PDT from Tuesday 11 September.
    window: ["2012-09-10", "2012-09-17"],
    busy: [
      ["2012-09-11T17:30:00Z", "2012-09-11T18:00:00Z"],
      ["2012-09-12T17:30:00Z", "2012-09-12T18:00:00Z"],
      ["2012-09-13T17:30:00Z", "2012-09-13T18:00:00Z"],
      ["2012-09-14T17:30:00Z", "2012-09-14T18:00:00Z"],
    ],
  },
  "icaljs_rdate_exdate.ics": {
    // DTSTART only, no DTEND: occurrences of no length take no time.
    window: ["2024-01-01", "2025-01-01"],
    busy: [],
  },
  "icaljs_recur_instances.ics": {
    // First Tuesdays 10:00 LA plus RDATEs, less EXDATEs; the 2 October
    // occurrence moved to 15:00, the 5 November RDATE moved to 6 November
    // 20:00 (RECURRENCE-ID in UTC).
    window: ["2012-10-01", "2013-03-01"],
    busy: [
      ["2012-10-02T22:00:00Z", "2012-10-02T22:30:00Z"],
      ["2012-11-06T18:00:00Z", "2012-11-06T18:30:00Z"],
      ["2012-11-07T04:00:00Z", "2012-11-07T04:30:00Z"],
      ["2012-11-10T18:00:00Z", "2012-11-10T18:30:00Z"],
      ["2012-11-30T18:00:00Z", "2012-11-30T18:30:00Z"],
      ["2013-01-01T18:00:00Z", "2013-01-01T18:30:00Z"],
    ],
  },
  "icaljs_recur_instances_finite.ics": {
    window: ["2012-10-01", "2013-02-01"],
    busy: [
      ["2012-10-02T17:00:00Z", "2012-10-02T17:30:00Z"],
      ["2012-11-05T18:00:00Z", "2012-11-05T18:30:00Z"],
      ["2012-11-06T18:00:00Z", "2012-11-06T18:30:00Z"],
      ["2012-11-10T18:00:00Z", "2012-11-10T18:30:00Z"],
      ["2012-12-04T18:00:00Z", "2012-12-04T18:30:00Z"],
    ],
  },
  "icaljs_timezone_from_file.ics": {
    // Nowhere/Middle is UTC-07:41 and exists only in this file.
    window: ["2023-01-01", "2024-01-01"],
    busy: [["2023-03-06T21:23:00Z", "2023-03-06T22:23:00Z"]],
  },
  "icaljs_utc_negative_zero.ics": {
    window: ["2012-01-01", "2013-01-01"],
    busy: [["2012-08-21T21:00:00Z", "2012-08-21T21:30:00Z"]],
  },
  "icaljs_blank_line_end.ics": { window: ["2012-01-01", "2013-01-01"], busy: [] },
  "icaljs_blank_line_mid.ics": { window: ["2012-01-01", "2013-01-01"], busy: [] },
  "icaljs_timezones_America_Atikokan.ics": { window: ["2012-01-01", "2013-01-01"], busy: [] },
  "icaljs_timezones_America_Denver.ics": { window: ["2012-01-01", "2013-01-01"], busy: [] },
  "icaljs_timezones_America_Los_Angeles.ics": { window: ["2012-01-01", "2013-01-01"], busy: [] },
  "icaljs_timezones_America_New_York.ics": { window: ["2012-01-01", "2013-01-01"], busy: [] },
  "icaljs_timezones_Makebelieve_RDATE_test.ics": { window: ["2012-01-01", "2013-01-01"], busy: [] },
  "icaljs_timezones_Makebelieve_RDATE_utc_test.ics": {
    window: ["2012-01-01", "2013-01-01"],
    busy: [],
  },
  "icaljs_timezones_Makebelieve_RRULE_UNTIL_test.ics": {
    window: ["2012-01-01", "2013-01-01"],
    busy: [],
  },
  "pyical_america_new_york.ics": {
    window: ["2014-01-01", "2015-01-01"],
    busy: [["2014-08-29T12:00:00Z", "2014-08-29T14:00:00Z"]], // 08:00-10:00 EDT
  },
  "pyical_america_new_york_forward_reference.ics": {
    window: ["2014-01-01", "2015-01-01"],
    busy: [],
    skipped: [/DTSTART appears more than once/],
  },
  "pyical_pacific_fiji.ics": {
    window: ["2014-01-01", "2015-01-01"],
    busy: [],
    skipped: [/DTSTART appears more than once/],
  },
  "pyical_big_bad_calendar.ics": {
    window: ["2012-01-01", "2013-01-01"],
    busy: [],
    skipped: Array(20).fill(/without UID and DTSTART/),
  },
  "pyical_bom_calendar.ics": { window: ["2012-01-01", "2013-01-01"], busy: [] },
  "pyical_empty.ics": { window: ["2012-01-01", "2013-01-01"], busy: [] },
  "pyical_calendar_with_unicode.ics": { window: ["2012-01-01", "2013-01-01"], busy: [] },
  "pyical_broken_ical.ics": {
    window: ["2014-01-01", "2015-01-01"],
    busy: [],
    skipped: [/malformed parameter ";value" on DTSTART/],
  },
  "pyical_event_with_recurrence_exdates_on_different_lines.ics": {
    // Tuesdays 10:00-18:00 Vienna (no VTIMEZONE: the IANA zone), until
    // 3 July 08:00Z, five EXDATEs: 15 Tuesdays less 5.
    window: ["2012-03-01", "2012-08-01"],
    busy: ["03-27", "04-24", "05-08", "05-15", "05-22", "06-05", "06-12", "06-19", "06-26", "07-03"]
      .map((d) => [`2012-${d}T08:00:00Z`, `2012-${d}T16:00:00Z`]),
  },
  "pyical_event_with_recurrence.ics": {
    // A bare VEVENT (no VCALENDAR), floating 01:00-02:00 daily, EXDATEs on
    // 2, 3 and 4 April; owner in UTC.
    window: ["1996-04-01", "1996-04-08"],
    busy: ["01", "05", "06", "07"].map((d) => [`1996-04-${d}T01:00:00Z`, `1996-04-${d}T02:00:00Z`]),
  },
  "pyical_event_with_rsvp.ics": {
    window: ["2012-01-01", "2013-01-01"],
    busy: [],
    skipped: [/without UID and DTSTART/],
  },
  "pyical_example.ics": {
    // Holidays marked TRANSPARENT, with dates written as DTSTART:20220101
    // (a DATE without VALUE=DATE): unreadable, each skipped with the reason.
    window: ["2022-01-01", "2023-01-01"],
    busy: [],
    skipped: Array(3).fill(/invalid date-time value/),
  },
  "pyical_fuzz_testcase_invalid_month.ics": { rejected: /must start with BEGIN:VCALENDAR/ },
  "pyical_invalid_duration.ics": {
    window: ["2023-01-01", "2025-01-01"],
    busy: [],
    skipped: [/DURATION .* is not a plausible event length/],
  },
  "pyical_timezoned.ics": {
    window: ["2012-01-01", "2013-01-01"],
    busy: [["2012-02-13T09:00:00Z", "2012-02-17T17:00:00Z"]],
  },
};

Deno.test("every fixture file has an expectation, and every expectation a file", () => {
  const files = [...Deno.readDirSync(FIXTURES)].map((e) => e.name).filter((n) => n.endsWith(".ics"))
    .sort();
  assertEquals(files, Object.keys(EXPECTED).sort());
});

for (const [name, expected] of Object.entries(EXPECTED)) {
  Deno.test(`fixture ${name}`, () => {
    if ("rejected" in expected) {
      const e = assertThrows(() => load(name, "2000-01-01", "2030-01-01"), IcsError);
      assert(expected.rejected.test(e.message), e.message);
      return;
    }
    const r = load(name, expected.window[0], expected.window[1], expected.timeZone);
    assertEquals(ranges(r), expected.busy.map(([s, e]) => [z(s), z(e)]));
    assertEquals(r.busy.filter((b) => b.free).length, expected.free ?? 0, "free occurrences");
    const reasons = r.skipped.map((s) => s.reason);
    assertEquals(reasons.length, (expected.skipped ?? []).length, reasons.join("; "));
    (expected.skipped ?? []).forEach((re, i) => assert(re.test(reasons[i]), reasons[i]));
  });
}

Deno.test("recurring occurrences get stable ids; a single event keeps its UID", () => {
  const a = load("icaljs_daily_recur.ics", "2012-08-01", "2012-08-03");
  const b = load("icaljs_daily_recur.ics", "2012-08-01", "2012-08-03");
  assertEquals(a.busy.map((x) => x.externalId), b.busy.map((x) => x.externalId));
  assertEquals(a.busy.map((x) => x.externalId), [
    "tgh9qho17b07pk2n2ji3gluans@google.com/20120801T120000Z",
    "tgh9qho17b07pk2n2ji3gluans@google.com/20120802T120000Z",
  ]);
  const single = load("icaljs_minimal.ics", "2012-01-01", "2013-01-01");
  assertEquals(single.busy[0].externalId, "dn4vrfmfn5p05roahsopg57h48@google.com");
});

Deno.test("RDATE;VALUE=PERIOD gives its occurrence its own length", () => {
  const r = load("icaljs_recur_instances.ics", "2023-11-20", "2023-11-30");
  assertEquals(ranges(r), [
    [z("2023-11-23T09:00:00Z"), z("2023-11-23T09:30:00Z")],
    [z("2023-11-25T09:00:00Z"), z("2023-11-25T12:30:00Z")],
  ]);
});

Deno.test("an endless rule is cut at the per-event limit and says so", () => {
  const r = importIcs(fixture("icaljs_daily_recur.ics"), {
    timeZone: "UTC",
    from: new Date("2020-01-01"),
    to: new Date("2030-01-01"),
    maxOccurrencesPerEvent: 50,
  });
  assertEquals(r.busy.length, 50);
  assertEquals(r.busy[0].start, z("2020-01-01T13:00:00Z"));
  assert(/cut after 50 occurrences/.test(r.skipped[0].reason));
});

Deno.test("floating times are read in the owner's zone", () => {
  const r = load(
    "pyical_event_with_recurrence.ics",
    "1996-04-01",
    "1996-04-07",
    "America/New_York",
  );
  // 01:00 floating is 06:00Z in New York (EST); ical.js matches the EXDATEs
  // by wall-clock, so 2, 3 and 4 April stay excluded.
  assertEquals(r.busy.map((b) => b.start), [
    z("1996-04-01T06:00:00Z"),
    z("1996-04-05T06:00:00Z"),
    z("1996-04-06T06:00:00Z"),
  ]);
});

const GOOD_EVENT = `BEGIN:VEVENT
UID:good@example.com
DTSTAMP:20240101T000000Z
DTSTART:20240301T090000Z
DTEND:20240301T100000Z
END:VEVENT`;

Deno.test("one bad event never loses the good ones (readable document)", () => {
  const text = `BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:t\n${GOOD_EVENT}\nBEGIN:VEVENT
UID:bad@example.com
DTSTART;;VALUE=DATE-TIME:20240301T110000
END:VEVENT
BEGIN:VEVENT
UID:bad-2@example.com
DTSTART:20240302T100000Z
DURATION:P999999999999999999W
END:VEVENT\nEND:VCALENDAR\n`;
  const r = importIcs(text, {
    timeZone: "UTC",
    from: new Date("2024-01-01"),
    to: new Date("2025-01-01"),
  });
  assertEquals(r.busy.map((b) => b.externalId), ["good@example.com"]);
  assertEquals(r.skipped.map((s) => s.externalId), ["bad@example.com", "bad-2@example.com"]);
});

Deno.test("one bad event never loses the good ones (a line the parser refuses)", () => {
  const text = `BEGIN:VCALENDAR\r\nVERSION:2.0\r\n${GOOD_EVENT}\r\nBEGIN:VEVENT\r\nUID:broken\r\n` +
    `THIS LINE HAS NO COLON\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;
  const r = importIcs(text, {
    timeZone: "UTC",
    from: new Date("2024-01-01"),
    to: new Date("2025-01-01"),
  });
  assertEquals(r.busy.map((b) => b.externalId), ["good@example.com"]);
  assertEquals(r.skipped.length, 1);
  assert(/VEVENT broken/.test(r.skipped[0].reason), r.skipped[0].reason);
});

Deno.test("a cancelled override removes its occurrence; a moved one replaces it", () => {
  const text = `BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
UID:series
DTSTART:20240304T090000Z
DTEND:20240304T093000Z
RRULE:FREQ=DAILY;COUNT=3
END:VEVENT
BEGIN:VEVENT
UID:series
RECURRENCE-ID:20240305T090000Z
STATUS:CANCELLED
DTSTART:20240305T090000Z
DTEND:20240305T093000Z
END:VEVENT
BEGIN:VEVENT
UID:series
RECURRENCE-ID:20240306T090000Z
DTSTART:20240306T140000Z
DTEND:20240306T150000Z
END:VEVENT
END:VCALENDAR
`;
  const r = importIcs(text, {
    timeZone: "UTC",
    from: new Date("2024-03-01"),
    to: new Date("2024-04-01"),
  });
  assertEquals(ranges(r), [
    [z("2024-03-04T09:00:00Z"), z("2024-03-04T09:30:00Z")],
    [z("2024-03-06T14:00:00Z"), z("2024-03-06T15:00:00Z")],
  ]);
  assertEquals(r.busy[1].externalId, "series/20240306T090000Z");
});

Deno.test("a time zone defined after its use (forward reference) is honoured", () => {
  // The fixture's event has DTSTART twice; the same layout with a DTEND.
  const text = fixture("pyical_america_new_york_forward_reference.ics").replace(
    /DTSTART(;TZID=custom_America\/New_York_Forward_reference;VALUE=DATE-TIME:20140829T100000)/,
    "DTEND$1",
  );
  const r = importIcs(text, {
    timeZone: "UTC",
    from: new Date("2014-01-01"),
    to: new Date("2015-01-01"),
  });
  assertEquals(ranges(r), [[z("2014-08-29T12:00:00Z"), z("2014-08-29T14:00:00Z")]]);
});

Deno.test("a document's VTIMEZONE does not leak into the next import", () => {
  // Nowhere/Middle exists only in that file; a later document that names it
  // without defining it must not borrow the earlier definition.
  load("icaljs_timezone_from_file.ics", "2023-01-01", "2024-01-01");
  const r = importIcs(
    `BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART;TZID=Nowhere/Middle:20230306T134200\nDTEND;TZID=Nowhere/Middle:20230306T144200\nEND:VEVENT\nEND:VCALENDAR\n`,
    { timeZone: "UTC", from: new Date("2023-01-01"), to: new Date("2024-01-01") },
  );
  assertEquals(r.busy, []);
  assert(/unknown time zone "Nowhere\/Middle"/.test(r.skipped[0].reason), r.skipped[0].reason);
});

Deno.test("not iCalendar at all: a clear IcsError", () => {
  for (const text of ["", "   ", "<html>nope</html>", "BEGIN:VCARD\nEND:VCARD\n"]) {
    assertThrows(
      () => importIcs(text, { timeZone: "UTC", from: new Date(0), to: new Date() }),
      IcsError,
    );
  }
});
