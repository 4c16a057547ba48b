// GET /availability over HTTP. The query's validation is the API's own; the
// slots come from public.get_availability (the availability engine), whose
// answers are checked here for the properties any correct engine has:
// slots of the asked duration, inside the window, sorted, never overlapping
// a participant's meeting, and a cursor that pages without gaps or repeats.
import {
  addMinutes,
  api,
  assertProblem,
  createUser,
  e2e,
  fieldErrors,
  freshIp,
  future,
} from "./_support/api.ts";
import { assert, assertEquals } from "./_support/assert.ts";
import { AvailabilitySchema } from "../../functions/api/schemas.ts";

const ip = freshIp();

function qs(params: Record<string, string | number | undefined>): string {
  return "?" + Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join("&");
}

e2e("GET /availability validates its query and names every bad parameter", async () => {
  const me = await createUser("avq");
  const get = (q: string) => api("GET", `/availability${q}`, { token: me.token, ip });

  const none = await get("");
  assertProblem(none, 422, "validation_failed");
  assertEquals(fieldErrors(none).sort(), ["duration_minutes", "end", "start", "user_ids"]);

  const start = future(30, 8);
  const bad = await get(qs({
    user_ids: `${me.id},nope`,
    start,
    end: addMinutes(start, -60),
    duration_minutes: 30,
    min_attendees: 3,
  }));
  assertProblem(bad, 422, "validation_failed");
  assertEquals(fieldErrors(bad).sort(), ["end", "min_attendees", "user_ids[1]"]);

  const numbers = await get(qs({
    user_ids: me.id,
    start,
    end: addMinutes(start, 600),
    duration_minutes: 0,
    step_minutes: "ten",
    limit: 501,
    tz: "Moon/Base",
    surprise: 1,
  }));
  assertEquals(
    fieldErrors(numbers).sort(),
    ["duration_minutes", "limit", "step_minutes", "surprise", "tz"],
  );

  const naive = await get(qs({
    user_ids: me.id,
    start: "2031-06-16T09:00:00",
    end: "2031-06-16T17:00:00",
    duration_minutes: 30,
  }));
  assertEquals(fieldErrors(naive).sort(), ["end", "start"]);
  assert(naive.body.errors[0].message.includes("no UTC offset"));

  const tooMany = await get(qs({
    user_ids: Array.from({ length: 51 }, () => crypto.randomUUID()).join(","),
    start,
    end: addMinutes(start, 60),
    duration_minutes: 30,
  }));
  assertEquals(fieldErrors(tooMany), ["user_ids"]);
});

e2e("GET /availability answers slots that avoid meetings, sorted, paged by cursor", async () => {
  const me = await createUser("avme");
  const peer = await createUser("avpeer");
  const day = future(31, 0);
  const busyStart = addMinutes(day, 10 * 60);
  const booked = await api("POST", "/meetings", {
    token: peer.token,
    ip,
    body: { title: "Busy", start: busyStart, end: addMinutes(busyStart, 60), time_zone: "UTC" },
  });
  assertEquals(booked.status, 201, booked.text);

  const window = { start: day, end: addMinutes(day, 24 * 60) };
  const first = await api(
    "GET",
    `/availability${
      qs({ user_ids: me.id, start: window.start, end: window.end, duration_minutes: 30, limit: 3 })
    }&user_ids=${peer.id}`,
    { token: me.token, ip },
  );
  assertEquals(first.status, 200, first.text);
  const page1 = AvailabilitySchema.parse(first.body);
  const slots = [...page1.slots];
  let cursor = page1.next_cursor;
  for (let i = 0; cursor && i < 100; i++) {
    const r = await api(
      "GET",
      `/availability${
        qs({
          user_ids: `${me.id},${peer.id}`,
          start: window.start,
          end: window.end,
          duration_minutes: 30,
          limit: 3,
          cursor,
        })
      }`,
      { token: me.token, ip },
    );
    assertEquals(r.status, 200, r.text);
    const p = AvailabilitySchema.parse(r.body);
    assert(p.slots.length <= 3);
    slots.push(...p.slots);
    cursor = p.next_cursor;
  }
  for (const [i, s] of slots.entries()) {
    const [a, b] = [Date.parse(s.start), Date.parse(s.end)];
    assertEquals(b - a, 30 * 60_000, `slot ${i} lasts 30 minutes`);
    assert(a >= Date.parse(window.start) && b <= Date.parse(window.end), `slot ${i} in the window`);
    const busyA = Date.parse(busyStart);
    assert(b <= busyA || a >= busyA + 3_600_000, `slot ${i} overlaps the meeting`);
    if (i > 0) assert(a > Date.parse(slots[i - 1].start), "sorted, no repeats");
  }
});

e2e("GET /availability: the engine's own limits come back under the query's names", async () => {
  const me = await createUser("avlim");
  const start = future(2, 0);
  const r = await api(
    "GET",
    `/availability${
      qs({ user_ids: me.id, start, end: addMinutes(start, 100 * 24 * 60), duration_minutes: 30 })
    }`,
    { token: me.token, ip },
  );
  assertProblem(r, 422);
  for (const f of fieldErrors(r)) {
    assert(
      [
        "user_ids",
        "start",
        "end",
        "duration_minutes",
        "step_minutes",
        "tz",
        "min_attendees",
        "cursor",
        "limit",
      ]
        .includes(f.replace(/\[\d+\]$/, "")),
      `field ${f} is not a query parameter`,
    );
  }
});
