// Datetime parsing: offsets required unless a zone reads the local time;
// DST gaps refused, DST overlaps resolved to the earlier instant.
import { isKnownTimeZone, parseDate, parseInstant } from "../../functions/_shared/time.ts";
import { assert, assertEquals } from "../e2e/_support/assert.ts";

Deno.test("instants with an offset pass through unchanged", () => {
  for (
    const v of [
      "2030-01-01T09:00:00Z",
      "2030-01-01T09:00+01:00",
      "2030-01-01T09:00:00.123456-05:30",
    ]
  ) {
    assertEquals(parseInstant(v), { ok: true, value: v });
  }
});

Deno.test("impossible dates, times and offsets are refused with a reason", () => {
  for (
    const v of [
      "2030-02-30T09:00:00Z",
      "2030-13-01T09:00:00Z",
      "2030-01-01T24:00:00Z",
      "2030-01-01T09:60Z",
    ]
  ) {
    const r = parseInstant(v);
    assert(!r.ok && r.message === "is not a valid date and time", v);
  }
  const offset = parseInstant("2030-01-01T09:00:00+15:00");
  assert(!offset.ok && offset.message.includes("±14:00"));
  const words = parseInstant("next tuesday");
  assert(!words.ok && words.message.includes("ISO-8601"));
  assert(!parseInstant("2030-01-01 09:00:00Z").ok, "a space is not the T separator");
});

Deno.test("a naive time needs a zone, and is read in it", () => {
  const r = parseInstant("2030-07-01T09:00:00");
  assert(!r.ok && r.message.includes("no UTC offset"));
  assertEquals(parseInstant("2030-07-01T09:00:00", "Europe/Berlin"), {
    ok: true,
    value: "2030-07-01T07:00:00Z",
  });
  assertEquals(parseInstant("2030-01-15T09:00:00", "America/New_York"), {
    ok: true,
    value: "2030-01-15T14:00:00Z",
  });
  assertEquals(parseInstant("2030-01-15T09:00:00.25", "Asia/Kolkata"), {
    ok: true,
    value: "2030-01-15T03:30:00.25Z",
  });
});

Deno.test("a wall time skipped by a DST jump is refused; a repeated one takes the first", () => {
  // 2030-03-31 02:30 does not exist in Berlin (02:00 -> 03:00).
  const gap = parseInstant("2030-03-31T02:30:00", "Europe/Berlin");
  assert(!gap.ok && gap.message.includes("does not exist in Europe/Berlin"));
  // 2030-10-27 02:30 happens twice in Berlin: first at +02:00.
  assertEquals(parseInstant("2030-10-27T02:30:00", "Europe/Berlin"), {
    ok: true,
    value: "2030-10-27T00:30:00Z",
  });
  // New York: 2030-03-10 02:30 skipped; 2030-11-03 01:30 repeated (EDT first).
  assert(!parseInstant("2030-03-10T02:30:00", "America/New_York").ok);
  assertEquals(parseInstant("2030-11-03T01:30:00", "America/New_York"), {
    ok: true,
    value: "2030-11-03T05:30:00Z",
  });
  // Lord Howe shifts by 30 minutes.
  assert(!parseInstant("2030-10-06T02:15:00", "Australia/Lord_Howe").ok);
});

Deno.test("time zones are IANA names, not offsets or inventions", () => {
  for (const z of ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5"]) {
    assert(isKnownTimeZone(z), z);
  }
  for (const z of ["+01:00", "Mars/Olympus", "", "Europe/Berlin/Extra", "x".repeat(65)]) {
    assert(!isKnownTimeZone(z), z);
  }
});

Deno.test("dates are calendar dates", () => {
  assertEquals(parseDate("2032-02-29"), { ok: true, value: "2032-02-29" });
  assert(!parseDate("2031-02-29").ok);
  assert(!parseDate("2031-2-1").ok);
});
