// Recurring meetings over HTTP: recurrence on create (every occurrence
// checked: 409 naming the occurrence, or skip), the series read back, and
// scope on change and cancel. Responses are checked against the API's schemas.
import {
  addMinutes,
  api,
  assertProblem,
  createUser,
  e2e,
  freshIp,
  future,
} from "./_support/api.ts";
import { assert, assertEquals } from "./_support/assert.ts";
import {
  MeetingSchema,
  SeriesBookingSchema,
  SeriesWithOccurrencesSchema,
} from "../../functions/api/schemas.ts";

const ip = freshIp();

e2e(
  "POST /meetings with recurrence books a series; a conflict on any date is 409 naming it",
  async () => {
    const org = await createUser("series-org", { timeZone: "Europe/Berlin" });
    const guest = await createUser("series-guest");
    const first = future(20, 9);
    // The guest is busy around the 4th weekly occurrence (wide enough to
    // cover it whether or not a DST change falls in between).
    const blocker = addMinutes(first, 3 * 7 * 24 * 60 - 90);
    const busy = await api("POST", "/meetings", {
      token: guest.token,
      ip,
      body: { title: "Busy", start: blocker, end: addMinutes(blocker, 210), time_zone: "UTC" },
    });
    assertEquals(busy.status, 201, busy.text);

    const body = {
      title: "Weekly",
      start: first,
      end: addMinutes(first, 30),
      time_zone: "Europe/Berlin",
      recurrence: "FREQ=WEEKLY;COUNT=6",
      attendees: [{ user_id: guest.id }],
    };
    const refused = await api("POST", "/meetings", { token: org.token, ip, body });
    assertProblem(refused, 409, "series_conflict");
    const conflicts =
      (refused.body as { conflicts: { occurrence_index: number; user_id: string }[] })
        .conflicts;
    assertEquals(conflicts.map((c) => [c.occurrence_index, c.user_id]), [[3, guest.id]]);

    const skipped = await api("POST", "/meetings", {
      token: org.token,
      ip,
      body: { ...body, on_conflict: "skip" },
    });
    assertEquals(skipped.status, 201, skipped.text);
    const booked = SeriesBookingSchema.parse(skipped.body);
    assertEquals(booked.occurrences.length, 5);
    assertEquals(booked.skipped.map((s) => s.occurrence_index), [3]);
    assertEquals(booked.series.exdates.length, 1);
    assertEquals(skipped.headers.get("location"), `series/${booked.series.id}`);

    // The guest reads the series she is in; a stranger gets 404.
    const read = await api("GET", `/series/${booked.series.id}`, { token: guest.token, ip });
    assertEquals(read.status, 200, read.text);
    assertEquals(SeriesWithOccurrencesSchema.parse(read.body).occurrences.length, 5);
    const stranger = await createUser("series-stranger");
    assertProblem(
      await api("GET", `/series/${booked.series.id}`, { token: stranger.token, ip }),
      404,
      "series_not_found",
    );
  },
);

e2e(
  "PUT and DELETE with scope: all moves the series, this cancels one date and frees it",
  async () => {
    const org = await createUser("scope-org", { timeZone: "America/New_York" });
    const first = future(30, 14);
    const created = await api("POST", "/meetings", {
      token: org.token,
      ip,
      body: {
        title: "Standup",
        start: first,
        end: addMinutes(first, 15),
        time_zone: "America/New_York",
        recurrence: "FREQ=DAILY;COUNT=4",
      },
    });
    assertEquals(created.status, 201, created.text);
    const series = SeriesBookingSchema.parse(created.body);
    const [o0, o1] = series.occurrences;

    const moved = await api("PUT", `/meetings/${o0.id}?scope=all`, {
      token: org.token,
      ip,
      headers: { "if-match": '"1"' },
      body: { start: addMinutes(first, 60) },
    });
    assertEquals(moved.status, 200, moved.text);
    const m = MeetingSchema.parse(moved.body);
    assertEquals(Date.parse(m.start), Date.parse(addMinutes(first, 60)));
    assertEquals(m.series_id, series.series.id);
    const all = SeriesWithOccurrencesSchema.parse(
      (await api("GET", `/series/${series.series.id}`, { token: org.token, ip })).body,
    );
    assert(
      all.occurrences.every((o, i) =>
        Date.parse(o.start) - Date.parse(series.occurrences[i].start) === 3_600_000
      ),
      "every occurrence moved by the hour",
    );

    const cancelled = await api("DELETE", `/meetings/${o1.id}?scope=this`, {
      token: org.token,
      ip,
    });
    assertEquals(cancelled.status, 200, cancelled.text);
    assertEquals(MeetingSchema.parse(cancelled.body).status, "cancelled");
    const again = SeriesWithOccurrencesSchema.parse(
      (await api("GET", `/series/${series.series.id}`, { token: org.token, ip })).body,
    );
    assertEquals(again.occurrences.filter((o) => o.status === "confirmed").length, 3);
    assertEquals(again.series.exdates.length, 1);
    // The freed slot can be booked at once.
    const slot = again.occurrences[1];
    const rebooked = await api("POST", "/meetings", {
      token: org.token,
      ip,
      body: { title: "In its place", start: slot.start, end: slot.end, time_zone: "UTC" },
    });
    assertEquals(rebooked.status, 201, rebooked.text);
  },
);

e2e("recurrence errors name the rule part; series fields need a recurrence", async () => {
  const org = await createUser("series-bad");
  const start = future(40, 9);
  const bad = await api("POST", "/meetings", {
    token: org.token,
    ip,
    body: {
      title: "Bad",
      start,
      end: addMinutes(start, 30),
      time_zone: "UTC",
      recurrence: "FREQ=HOURLY;BYHOUR=3",
    },
  });
  assertProblem(bad, 422, "validation_failed");
  assertEquals(
    (bad.body as { errors: { field: string; message: string }[] }).errors.map((e) => e.field),
    ["recurrence", "recurrence"],
  );
  const stray = await api("POST", "/meetings", {
    token: org.token,
    ip,
    body: {
      title: "Stray",
      start,
      end: addMinutes(start, 30),
      time_zone: "UTC",
      on_conflict: "skip",
    },
  });
  assertProblem(stray, 422, "validation_failed");
});
