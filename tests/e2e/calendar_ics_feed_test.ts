// ICS feeds over HTTP: every file in shared/fixtures/ics served by a local
// server and pulled the way a connection pulls it. None may crash the
// pull; the readable ones import; conditional requests make an unchanged
// feed a 304.
import { assert, assertEquals, assertRejects } from "../functions/_calendar_assert.ts";
import { IcsServer } from "./_support/ics_server.ts";
import { fakeEndpoints, window } from "./_support/calendar.ts";
import { ConnectionClient } from "../../functions/_shared/calendar/connection.ts";
import { CalendarError, RateLimitedError } from "../../functions/_shared/calendar/errors.ts";

const FIXTURES = Deno.env.get("ICS_FIXTURES_DIR") ??
  new URL("../../../shared/fixtures/ics", import.meta.url).pathname;
// Wide enough for every fixture (1996 to 2024).
const W = window("1990-01-01T00:00:00Z", "2030-01-01T00:00:00Z");

function feed(url: string) {
  return new ConnectionClient(
    { provider: "ics", calendarRef: url, credentials: null },
    fakeEndpoints(null, null),
  );
}

Deno.test("ics feeds: every fixture is pulled over HTTP without a crash", async () => {
  const server = new IcsServer(FIXTURES);
  try {
    const outcomes: Record<string, string> = {};
    for (const name of server.feeds.keys()) {
      try {
        const pulled = await feed(server.url(name)).pull(null, W);
        outcomes[name] = `busy ${pulled.result.items[0].busy.length}`;
      } catch (e) {
        // The only acceptable failure: a clear CalendarError.
        assert(e instanceof CalendarError, `${name}: ${e}`);
        outcomes[name] = `rejected: ${e.message}`;
      }
    }
    assertEquals(
      Object.keys(outcomes).length,
      [...Deno.readDirSync(FIXTURES)].filter((e) => e.name.endsWith(".ics")).length,
    );
    assertEquals(
      outcomes["pyical_fuzz_testcase_invalid_month.ics"].startsWith(
        "rejected: the feed is not a calendar",
      ),
      true,
    );
    assertEquals(outcomes["icaljs_minimal.ics"], "busy 1");
    assertEquals(outcomes["pyical_timezoned.ics"], "busy 1");
    assertEquals(outcomes["pyical_event_with_recurrence.ics"], "busy 97");
    assertEquals(outcomes["pyical_broken_ical.ics"], "busy 0");
  } finally {
    await server.close();
  }
});

Deno.test("ics feeds: an unchanged feed is a 304; a changed one is pulled in full", async () => {
  const server = new IcsServer(FIXTURES);
  try {
    const client = feed(server.url("icaljs_minimal.ics"));
    const first = await client.pull(null, W);
    assert(first.result.full, "full");
    const second = await client.pull(first.result.cursor, W);
    assert(second.result.unchanged, "unchanged");
    assertEquals(server.requests.at(-1)!.status, 304);
    server.set(
      "icaljs_minimal.ics",
      Deno.readTextFileSync(`${FIXTURES}/icaljs_duration_instead_of_dtend.ics`),
    );
    const third = await client.pull(second.result.cursor, W);
    assert(third.result.full && !third.result.unchanged, "changed");
    assertEquals(third.result.items[0].busy.map((b) => b.end), ["2012-07-01T13:00:00.000Z"]);
  } finally {
    await server.close();
  }
});

Deno.test("ics feeds: 404 and 429 are errors with a status; Retry-After is kept", async () => {
  const server = new IcsServer(FIXTURES);
  try {
    const missing = await assertRejects(
      () => feed(server.url("nope.ics")).pull(null, W),
      CalendarError,
    );
    assertEquals(missing.status, 404);
    server.failures.push({ status: 429, retryAfter: "30" });
    const limited = await assertRejects(
      () => feed(server.url("icaljs_minimal.ics")).pull(null, W),
      RateLimitedError,
    );
    assertEquals(limited.retryAfterMs, 30_000);
  } finally {
    await server.close();
  }
});
