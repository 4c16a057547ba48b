// Zone arithmetic (DST gaps and overlaps), backoff with jitter and
// Retry-After, and the iCalendar we write for pushed meetings reading back
// as ours.
import { assert, assertEquals } from "./_calendar_assert.ts";
import {
  localDate,
  wallTimeToEpochMs,
  zoneOffsetMs,
} from "../../functions/_shared/calendar/zoned_time.ts";
import {
  backoffDelayMs,
  SYNC_BACKOFF,
  withRetries,
} from "../../functions/_shared/calendar/backoff.ts";
import {
  parseRetryAfter,
  RateLimitedError,
  retryAfterOf,
} from "../../functions/_shared/calendar/errors.ts";
import { meetingToIcs, meetingUid } from "../../functions/_shared/calendar/ics_write.ts";
import { importIcs } from "../../functions/_shared/calendar/ics.ts";

const iso = (ms: number) => new Date(ms).toISOString();

Deno.test("wall time to instant: plain, spring-forward gap, fall-back overlap", () => {
  const la = "America/Los_Angeles";
  assertEquals(
    iso(wallTimeToEpochMs({ year: 2024, month: 7, day: 1, hour: 9 }, la)),
    "2024-07-01T16:00:00.000Z",
  );
  // 02:30 does not exist on 10 March 2024: it resolves forward to 03:30 PDT.
  assertEquals(
    iso(wallTimeToEpochMs({ year: 2024, month: 3, day: 10, hour: 2, minute: 30 }, la)),
    "2024-03-10T10:30:00.000Z",
  );
  // 01:30 happens twice on 3 November 2024: the first (PDT) is taken.
  assertEquals(
    iso(wallTimeToEpochMs({ year: 2024, month: 11, day: 3, hour: 1, minute: 30 }, la)),
    "2024-11-03T08:30:00.000Z",
  );
  assertEquals(zoneOffsetMs("Asia/Kolkata", Date.UTC(2024, 0, 1)), 5.5 * 3600_000);
  assertEquals(localDate(Date.parse("2024-01-01T23:30:00Z"), "Europe/Berlin"), "2024-01-02");
});

Deno.test("backoff grows exponentially, is capped, jittered, and never under Retry-After", () => {
  const top = (attempt: number) => backoffDelayMs(attempt, SYNC_BACKOFF, null, () => 0.999999);
  assert(top(0) < top(1) && top(1) < top(2), "grows");
  assert(top(40) <= SYNC_BACKOFF.capMs, "capped");
  const spread = new Set(Array.from({ length: 50 }, () => backoffDelayMs(5, SYNC_BACKOFF)));
  assert(spread.size > 40, "jittered");
  assertEquals(backoffDelayMs(0, SYNC_BACKOFF, 120_000, () => 0), 120_000);
  assertEquals(parseRetryAfter("7"), 7000);
  assertEquals(
    parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("2015-10-21T07:27:00Z")),
    60_000,
  );
  assertEquals(parseRetryAfter("soon"), null);
});

Deno.test("withRetries waits out a short Retry-After and gives up on a long one", async () => {
  const waits: number[] = [];
  let calls = 0;
  const result = await withRetries(() => {
    calls++;
    if (calls === 1) return Promise.reject(new RateLimitedError("google", "slow down", 429, 2000));
    return Promise.resolve("done");
  }, {
    isRetryable: (e) => e instanceof RateLimitedError,
    retryAfterMs: retryAfterOf,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
  });
  assertEquals(result, "done");
  assert(waits[0] >= 2000, `waited ${waits[0]}`);
  let thrown: unknown = null;
  try {
    await withRetries(() => Promise.reject(new RateLimitedError("google", "x", 429, 3600_000)), {
      isRetryable: () => true,
      retryAfterMs: retryAfterOf,
      sleep: () => Promise.resolve(),
    });
  } catch (e) {
    thrown = e;
  }
  assert(
    thrown instanceof RateLimitedError && thrown.retryAfterMs === 3600_000,
    "long wait goes up",
  );
});

Deno.test("a meeting written as iCalendar reads back as ours, in UTC, escaped", () => {
  const meetingId = "6f1f7d0e-0000-4000-8000-000000000001";
  const ics = meetingToIcs(
    {
      meetingId,
      title: 'Plan; review, and "ship"',
      description: "line one\nline two",
      location: null,
      start: "2026-12-01T09:00:00+01:00",
      end: "2026-12-01T10:00:00+01:00",
      allDay: false,
      timeZone: "Europe/Berlin",
      attendees: [{ email: "bob@example.com", name: "Bob" }],
      organizerEmail: "alice@example.com",
      sequence: 2,
    },
    new Date("2026-11-01T00:00:00Z"),
  );
  assert(ics.includes(`UID:${meetingUid(meetingId)}`), ics);
  assert(ics.includes('SUMMARY:Plan\\; review\\, and "ship"'), ics);
  assert(ics.includes("SEQUENCE:2"), ics);
  const back = importIcs(ics, {
    timeZone: "UTC",
    from: new Date("2026-11-01"),
    to: new Date("2027-01-01"),
  });
  assertEquals(back.busy.map((b) => [b.start, b.end, b.meetingId]), [
    ["2026-12-01T08:00:00.000Z", "2026-12-01T09:00:00.000Z", meetingId],
  ]);
});

Deno.test("an all-day meeting is written as local dates", () => {
  const ics = meetingToIcs({
    meetingId: "m-all-day",
    title: "Offsite",
    description: "",
    location: "Berlin",
    start: "2026-12-01T23:00:00Z", // 2 December 00:00 in Berlin
    end: "2026-12-02T23:00:00Z",
    allDay: true,
    timeZone: "Europe/Berlin",
    attendees: [],
    organizerEmail: null,
    sequence: 0,
  });
  assert(ics.includes("DTSTART;VALUE=DATE:20261202"), ics);
  assert(ics.includes("DTEND;VALUE=DATE:20261203"), ics);
});
