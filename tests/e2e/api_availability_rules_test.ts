// Availability rules over HTTP: a user reads and edits only their own
// working hours, overrides and limits; bad input names the field and stores
// nothing; someone else's rule is 404; the rules change the slots offered.
import { api, assertProblem, createUser, e2e, fieldErrors, freshIp } from "./_support/api.ts";
import { assert, assertEquals } from "./_support/assert.ts";
import { AvailabilityRulesSchema } from "../../functions/api/routes/availability_rules.ts";

const ip = freshIp();

e2e("GET /availability/rules: new users start with Monday to Friday, 09:00-17:00", async () => {
  const u = await createUser("rules-new", { timeZone: "Europe/Berlin" });
  const res = await api("GET", "/availability/rules", { token: u.token, ip });
  assertEquals(res.status, 200, res.text);
  const rules = AvailabilityRulesSchema.parse(res.body);
  assertEquals(rules.time_zone, "Europe/Berlin");
  assertEquals(
    rules.working_hours.map((w) => [w.weekday, w.start_time, w.end_time]),
    [1, 2, 3, 4, 5].map((d) => [d, "09:00", "17:00"]),
  );
  assertProblem(await api("GET", "/availability/rules", { ip }), 401, "missing_token");
});

e2e("PUT /availability/working-hours replaces the week; errors name each element", async () => {
  const u = await createUser("rules-week");
  const ok = await api("PUT", "/availability/working-hours", {
    token: u.token,
    ip,
    body: {
      working_hours: [
        { weekday: 1, start_time: "09:00", end_time: "12:00" },
        { weekday: 1, start_time: "13:00", end_time: "17:00" },
        { weekday: 5, start_time: "22:00", end_time: "06:00" },
      ],
    },
  });
  assertEquals(ok.status, 200, ok.text);
  const week = ok.body as { weekday: number; crosses_midnight: boolean }[];
  assertEquals(week.map((w) => [w.weekday, w.crosses_midnight]), [[1, false], [1, false], [
    5,
    true,
  ]]);

  const bad = await api("PUT", "/availability/working-hours", {
    token: u.token,
    ip,
    body: { working_hours: [{ weekday: 8, start_time: "9am", end_time: "17:00" }] },
  });
  assertProblem(bad, 422, "validation_failed");
  assertEquals(fieldErrors(bad).sort(), [
    "working_hours[0].start_time",
    "working_hours[0].weekday",
  ]);
  const after = AvailabilityRulesSchema.parse(
    (await api("GET", "/availability/rules", { token: u.token, ip })).body,
  );
  assertEquals(after.working_hours.length, 3, "a refused week changes nothing");
});

e2e("windows and overrides: create, change, delete; someone else's is 404", async () => {
  const u = await createUser("rules-owner");
  const other = await createUser("rules-other");
  const created = await api("POST", "/availability/working-hours", {
    token: u.token,
    ip,
    body: { weekday: 6, start_time: "10:00", end_time: "14:00", valid_from: "2031-01-01" },
  });
  assertEquals(created.status, 201, created.text);
  const id = (created.body as { id: string }).id;
  const changed = await api("PUT", `/availability/working-hours/${id}`, {
    token: u.token,
    ip,
    body: { weekday: 6, start_time: "10:00", end_time: "15:00" },
  });
  assertEquals(changed.status, 200, changed.text);
  assertEquals((changed.body as { end_time: string }).end_time, "15:00");
  assertProblem(
    await api("DELETE", `/availability/working-hours/${id}`, { token: other.token, ip }),
    404,
    "working_hours_not_found",
  );
  assertEquals(
    (await api("DELETE", `/availability/working-hours/${id}`, { token: u.token, ip })).status,
    200,
  );

  const off = await api("POST", "/availability/overrides", {
    token: u.token,
    ip,
    body: { date: "2031-12-24", kind: "unavailable" },
  });
  assertEquals(off.status, 201, off.text);
  assertEquals((off.body as { whole_day: boolean }).whole_day, true);
  const offId = (off.body as { id: string }).id;
  const extra = await api("POST", "/availability/overrides", {
    token: u.token,
    ip,
    body: { date: "2031-12-27", kind: "available", start_time: "10:00", end_time: "12:00" },
  });
  assertEquals(extra.status, 201, extra.text);
  const listed = await api("GET", "/availability/overrides?from=2031-12-01&to=2031-12-31", {
    token: u.token,
    ip,
  });
  assertEquals(
    (listed.body as { date: string; kind: string }[]).map((o) => [o.date, o.kind]),
    [["2031-12-24", "unavailable"], ["2031-12-27", "available"]],
  );
  assertProblem(
    await api("PUT", `/availability/overrides/${offId}`, {
      token: other.token,
      ip,
      body: { date: "2031-12-25", kind: "unavailable" },
    }),
    404,
    "availability_override_not_found",
  );
  const missingTimes = await api("POST", "/availability/overrides", {
    token: u.token,
    ip,
    body: { date: "2031-12-28", kind: "available" },
  });
  assertProblem(missingTimes, 422, "validation_failed");
  assert(fieldErrors(missingTimes).includes("start_time"), missingTimes.text);
});

e2e("PUT /availability/limits, and the rules change the slots offered", async () => {
  const u = await createUser("rules-limits", { timeZone: "UTC" });
  const limits = await api("PUT", "/availability/limits", {
    token: u.token,
    ip,
    body: { earliest_start: "10:00", horizon_days: 400 },
  });
  assertEquals(limits.status, 200, limits.text);
  assertEquals(
    limits.body,
    { earliest_start: "10:00", latest_end: null, horizon_days: 400, max_meetings_per_day: null },
  );
  // A Monday at least a few weeks out: default hours 09:00-17:00 UTC, never before 10:00.
  const monday = new Date();
  monday.setUTCDate(monday.getUTCDate() + 21 + ((8 - monday.getUTCDay()) % 7));
  const day = monday.toISOString().slice(0, 10);
  const slots = await api(
    "GET",
    `/availability?user_ids=${u.id}&start=${day}T00:00:00Z&end=${day}T23:59:00Z&duration_minutes=60`,
    { token: u.token, ip },
  );
  assertEquals(slots.status, 200, slots.text);
  const starts = (slots.body as { slots: { start: string }[] }).slots.map((s) =>
    new Date(s.start).toISOString().slice(11, 16)
  );
  assertEquals(starts[0], "10:00", `first slot at 10:00, not 09:00: ${starts.join(" ")}`);
  assertEquals(starts[starts.length - 1], "16:00");
  const bad = await api("PUT", "/availability/limits", {
    token: u.token,
    ip,
    body: { earliest_start: "12:00", latest_end: "11:00" },
  });
  assertProblem(bad, 422, "validation_failed");
  assertEquals(fieldErrors(bad), ["latest_end"]);
});
