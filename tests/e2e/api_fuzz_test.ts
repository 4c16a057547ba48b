// Property-based fuzzing with fast-check: for every route, 1,000 random and
// malformed requests (bodies, query strings, path ids, headers, tokens).
// Whatever arrives, the API never answers 5xx, and every error is a
// problem+json in the documented shape.
import fc from "fast-check";
import { addMinutes, API_URL, createUser, e2e, future, type TestUser } from "./_support/api.ts";
import { assert } from "./_support/assert.ts";

const RUNS = 50;
const BATCH = 20; // RUNS x BATCH = 1,000 requests per route

let users: TestUser[] = [];
let meetingId = "";
let connectionId = "";

async function setUp() {
  if (users.length) return;
  users = await Promise.all(Array.from({ length: 40 }, (_, i) => createUser(`fuzz${i}`)));
  const start = future(50, 9);
  const m = await fetch(`${API_URL()}/meetings`, {
    method: "POST",
    headers: { authorization: `Bearer ${users[0].token}`, "content-type": "application/json" },
    body: JSON.stringify({
      title: "Fuzz target",
      start,
      end: addMinutes(start, 30),
      time_zone: "UTC",
      attendees: [{ user_id: users[1].id }],
    }),
  });
  meetingId = (await m.json()).id;
  const c = await fetch(`${API_URL()}/calendar/connections`, {
    method: "POST",
    headers: { authorization: `Bearer ${users[0].token}`, "content-type": "application/json" },
    body: JSON.stringify({ provider: "ics", calendar_ref: "https://example.com/fuzz.ics" }),
  });
  connectionId = (await c.json()).id;
}

// Values that tend to break parsers and casts.
const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom("", " ", "\u0000", "null", "NaN", "-1", "1e309", "0x10", "'; drop table x; --"),
  fc.uuid(),
  fc.emailAddress(),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 19)),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  fc.constantFrom("UTC", "Europe/Berlin", "America/New_York", "Mars/Base", "+01:00", "utc"),
  fc.array(fc.jsonValue(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue(), { maxKeys: 3 }),
);

function structured(keys: string[]) {
  return fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 10 })), nasty, {
    maxKeys: keys.length + 1,
  });
}

const plausibleMeeting = fc.record({
  title: fc.string({ minLength: 1, maxLength: 20 }),
  start: fc.integer({ min: -5, max: 400 }).map((d) => future(60 + d, 10)),
  end: fc.integer({ min: -5, max: 400 }).map((d) => future(60 + d, 11)),
  time_zone: fc.constantFrom("UTC", "Europe/Berlin", "Asia/Kolkata", "Nope/Nope"),
  attendees: fc.array(
    fc.oneof(
      fc.record({ email: fc.emailAddress() }),
      fc.record({ user_id: fc.uuid() }),
      fc.record({ email: fc.string() }),
    ),
    { maxLength: 3 },
  ),
  recurrence: fc.oneof(
    fc.constantFrom(
      "FREQ=WEEKLY;COUNT=5",
      "FREQ=DAILY;INTERVAL=2;COUNT=30",
      "FREQ=MONTHLY;BYDAY=-1FR;COUNT=6",
      "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=3",
      "FREQ=HOURLY",
      "FREQ=WEEKLY;BYDAY=XX",
      "COUNT=3",
    ),
    fc.string({ maxLength: 30 }),
  ),
  on_conflict: fc.constantFrom("fail", "skip", "maybe"),
}, { requiredKeys: [] });

interface Input {
  path: string;
  query: string;
  body: string | undefined;
  contentType: string | undefined;
  auth: string | undefined;
  ip: string;
  ifMatch: string | undefined;
}

const bodyArb = (keys: string[], plausible?: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 4, arbitrary: structured(keys).map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.string({ maxLength: 60 }) },
    { weight: 1, arbitrary: fc.constantFrom('{"title":', "[", "{}", "null", '"x"', "\u0000") },
    ...(plausible ? [{ weight: 4, arbitrary: plausible.map((v) => JSON.stringify(v)) }] : []),
  );

const queryArb = (keys: string[], plausible?: fc.Arbitrary<Record<string, string>>) =>
  fc.oneof(
    ...(plausible
      ? [{ weight: 4, arbitrary: plausible.map((q) => new URLSearchParams(q).toString()) }]
      : []),
    {
      weight: 4,
      arbitrary: fc.dictionary(
        fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 6 })),
        nasty,
        {
          maxKeys: keys.length + 1,
        },
      ).map((q) =>
        Object.entries(q).map(([k, v]) =>
          `${encodeURIComponent(k)}=${
            encodeURIComponent(typeof v === "string" ? v : JSON.stringify(v))
          }`
        ).join("&")
      ),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => encodeURI(s)) },
    { weight: 1, arbitrary: fc.constantFrom("limit=1&limit=2", "%zz", "a=%E0%A4%A", "&&=&", "x") },
  );

const idArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant("{meeting}") },
  { weight: 2, arbitrary: fc.uuid() },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }).map((s) => encodeURIComponent(s) || "x") },
  // Broken percent-encodings reach the router as they are.
  { weight: 1, arbitrary: fc.constantFrom("%zz", "%E0%A4%A", "a%2Fb", "%00", "..%2F..") },
);

function inputArb(
  pathArb: fc.Arbitrary<string>,
  opts: {
    queryKeys?: string[];
    plausibleQuery?: fc.Arbitrary<Record<string, string>>;
    bodyKeys?: string[];
    plausible?: fc.Arbitrary<unknown>;
  },
): fc.Arbitrary<Input> {
  return fc.record({
    path: pathArb,
    query: opts.queryKeys
      ? queryArb(opts.queryKeys, opts.plausibleQuery)
      : fc.constantFrom("", "", "", "x=1"),
    body: opts.bodyKeys
      ? fc.option(bodyArb(opts.bodyKeys, opts.plausible), { freq: 8, nil: undefined })
      : fc.constant(undefined),
    contentType: fc.oneof(
      { weight: 8, arbitrary: fc.constant("application/json") },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          "text/plain",
          "application/problem+json",
          "",
          "application/x-www-form-urlencoded",
        ),
      },
    ),
    auth: fc.oneof(
      { weight: 16, arbitrary: fc.constant("user") },
      { weight: 1, arbitrary: fc.constantFrom(undefined, "Bearer", "Bearer x.y.z", "Basic abc") },
      { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((s) => `Bearer ${s}`) },
    ),
    // Mostly a fresh address per request (fast-check's generators favour a
    // few small values, which would only exercise the rate limiter); now
    // and then a malformed header.
    ip: fc.oneof(
      { weight: 12, arbitrary: fc.constant("fresh") },
      { weight: 1, arbitrary: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 })) },
    ),
    ifMatch: fc.option(
      fc.oneof(fc.constantFrom('"1"', '"2"', "*", 'W/"1"'), fc.string({ maxLength: 10 })),
      {
        nil: undefined,
      },
    ),
  });
}

function header(value: string): string | undefined {
  // fetch refuses header values with control characters: that request
  // could never reach the API, so it is left out rather than sent.
  // deno-lint-ignore no-control-regex
  return /[\u0000-\u001f\u007f-\uffff]/.test(value) ? undefined : value;
}

const statuses = new Map<string, Map<number, number>>();
let sent = 0;

async function send(method: string, route: string, input: Input): Promise<string | null> {
  const path = input.path.replace("{meeting}", meetingId).replace("{connection}", connectionId);
  const n = sent++;
  const ip = input.ip === "fresh" ? `2001:db8:f::${n.toString(16)}` : header(input.ip);
  const headers: Record<string, string> = ip ? { "x-forwarded-for": ip } : {};
  if (input.auth === "user") {
    headers.authorization = `Bearer ${users[n % users.length].token}`;
  } else if (input.auth !== undefined && header(input.auth)) headers.authorization = input.auth;
  if (input.body !== undefined && input.contentType) headers["content-type"] = input.contentType;
  if (input.ifMatch !== undefined && header(input.ifMatch)) headers["if-match"] = input.ifMatch;
  let res: Response;
  try {
    res = await fetch(`${API_URL()}${path}${input.query ? `?${input.query}` : ""}`, {
      method,
      headers,
      body: input.body,
    });
  } catch (err) {
    if (err instanceof TypeError && /URL|header/i.test(err.message)) return null;
    throw err;
  }
  const text = await res.text();
  const counts = statuses.get(route) ?? new Map<number, number>();
  counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
  statuses.set(route, counts);
  const where = `${method} ${path}?${input.query} body=${JSON.stringify(input.body)}`;
  if (res.status >= 500) return `${res.status} for ${where}: ${text}`;
  if (res.status >= 400) {
    if (res.headers.get("content-type") !== "application/problem+json") {
      return `${res.status} without problem+json for ${where}`;
    }
    const b = JSON.parse(text);
    const shaped = b.status === res.status && typeof b.type === "string" &&
      typeof b.title === "string" && typeof b.detail === "string" && typeof b.code === "string" &&
      Array.isArray(b.errors) && Array.isArray(b.conflicts) && typeof b.request_id === "string";
    if (!shaped) return `malformed problem for ${where}: ${text}`;
  }
  return null;
}

async function fuzz(method: string, route: string, arb: fc.Arbitrary<Input>) {
  await setUp();
  await fc.assert(
    fc.asyncProperty(fc.array(arb, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
      const failures = (await Promise.all(batch.map((i) => send(method, route, i)))).filter(
        Boolean,
      );
      assert(failures.length === 0, failures.join("\n"));
    }),
    { numRuns: RUNS },
  );
  const counts = statuses.get(route)!;
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  assert(total >= RUNS * BATCH * 0.95, `only ${total} requests reached the API`);
  // The requests must reach the routes, not just the rate limiter.
  assert((counts.get(429) ?? 0) < total * 0.05, `throttled: ${JSON.stringify([...counts])}`);
  assert(counts.size >= 2, `one answer for everything: ${JSON.stringify([...counts])}`);
}

const meetingKeys = [
  "title",
  "description",
  "location",
  "start",
  "end",
  "time_zone",
  "all_day",
  "start_date",
  "end_date",
  "attendees",
  "idempotency_key",
  "recurrence",
  "exdates",
  "on_conflict",
];
const meetingPath = idArb.map((id) => `/meetings/${id}`);

e2e("fuzz POST /meetings", () =>
  fuzz(
    "POST",
    "POST /meetings",
    inputArb(fc.constant("/meetings"), {
      bodyKeys: meetingKeys,
      plausible: plausibleMeeting,
    }),
  ));

e2e("fuzz GET /meetings", () =>
  fuzz(
    "GET",
    "GET /meetings",
    inputArb(fc.constant("/meetings"), {
      queryKeys: ["from", "to", "status", "cursor", "limit"],
      plausibleQuery: fc.record({
        from: fc.integer({ min: -30, max: 90 }).map((d) => future(d, 0)),
        to: fc.integer({ min: -30, max: 90 }).map((d) => future(d, 0)),
        status: fc.constantFrom("confirmed", "cancelled"),
        limit: fc.integer({ min: 1, max: 100 }).map(String),
      }, { requiredKeys: [] }),
    }),
  ));

e2e("fuzz GET /meetings/:id", () => fuzz("GET", "GET /meetings/:id", inputArb(meetingPath, {})));

e2e(
  "fuzz GET /meetings/:id/history",
  () =>
    fuzz(
      "GET",
      "GET /meetings/:id/history",
      inputArb(idArb.map((id) => `/meetings/${id}/history`), {}),
    ),
);

e2e("fuzz PUT /meetings/:id", () =>
  fuzz(
    "PUT",
    "PUT /meetings/:id",
    inputArb(meetingPath, {
      queryKeys: ["scope"],
      plausibleQuery: fc.record({
        scope: fc.constantFrom("this", "this_and_following", "all", "none"),
      }),
      bodyKeys: meetingKeys.filter((k) =>
        !["idempotency_key", "exdates", "on_conflict"].includes(k)
      ),
      plausible: plausibleMeeting,
    }),
  ));

e2e("fuzz POST /meetings/:id/responses", () =>
  fuzz(
    "POST",
    "POST /meetings/:id/responses",
    inputArb(idArb.map((id) => `/meetings/${id}/responses`), {
      bodyKeys: ["response"],
      plausible: fc.record({
        response: fc.constantFrom("accepted", "declined", "tentative", "maybe"),
      }),
    }),
  ));

e2e(
  "fuzz DELETE /meetings/:id",
  () =>
    fuzz(
      "DELETE",
      "DELETE /meetings/:id",
      inputArb(meetingPath, { queryKeys: ["reason", "scope"], bodyKeys: ["reason"] }),
    ),
);

e2e(
  "fuzz GET /availability",
  () =>
    fuzz(
      "GET",
      "GET /availability",
      inputArb(fc.constant("/availability"), {
        queryKeys: [
          "user_ids",
          "start",
          "end",
          "duration_minutes",
          "step_minutes",
          "tz",
          "min_attendees",
          "cursor",
          "limit",
        ],
        // Queries that pass validation, so the engine itself is fuzzed too.
        plausibleQuery: fc.record({
          user_ids: fc.subarray([0, 1, 2, 3], { minLength: 1 }).map((ix) =>
            ix.map((i) => users[i].id).join(",")
          ),
          start: fc.integer({ min: -2, max: 60 }).map((d) => future(d, 0)),
          end: fc.integer({ min: 1, max: 120 }).map((d) => future(d, 0)),
          duration_minutes: fc.integer({ min: 1, max: 1440 }).map(String),
          step_minutes: fc.integer({ min: 1, max: 240 }).map(String),
          tz: fc.constantFrom("UTC", "Europe/Berlin", "Pacific/Chatham", "America/St_Johns"),
          limit: fc.integer({ min: 1, max: 500 }).map(String),
        }, { requiredKeys: ["user_ids", "start", "end", "duration_minutes"] }),
      }),
    ),
);

e2e(
  "fuzz GET /calendar/connections",
  () =>
    fuzz("GET", "GET /calendar/connections", inputArb(fc.constant("/calendar/connections"), {})),
);

e2e(
  "fuzz POST /calendar/connections",
  () =>
    fuzz(
      "POST",
      "POST /calendar/connections",
      inputArb(fc.constant("/calendar/connections"), {
        bodyKeys: ["provider", "calendar_ref", "display_name", "priority", "credentials"],
        plausible: fc.record({
          provider: fc.constantFrom("google", "outlook", "caldav", "ics", "yahoo"),
          calendar_ref: fc.oneof(fc.webUrl(), fc.string({ maxLength: 30 })),
          priority: fc.integer({ min: -5, max: 105 }),
          credentials: fc.dictionary(
            fc.constantFrom("access_token", "refresh_token", "username", "password", "url"),
            fc.string({ maxLength: 20 }),
          ),
        }, { requiredKeys: [] }),
      }),
    ),
);

e2e("fuzz DELETE /calendar/connections/:id", () =>
  fuzz(
    "DELETE",
    "DELETE /calendar/connections/:id",
    inputArb(
      fc.oneof(
        fc.constant("{connection}"),
        fc.uuid(),
        fc.string({ maxLength: 20 }).map(encodeURIComponent),
      )
        .map((id) => `/calendar/connections/${id}`),
      {},
    ),
  ));

e2e(
  "fuzz POST /calendar/sync",
  () =>
    fuzz(
      "POST",
      "POST /calendar/sync",
      inputArb(fc.constant("/calendar/sync"), {
        bodyKeys: ["connection_id"],
      }),
    ),
);

e2e(
  "fuzz GET /series/:id",
  () => fuzz("GET", "GET /series/:id", inputArb(idArb.map((id) => `/series/${id}`), {})),
);

const clock = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 24 }), fc.constantFrom(0, 15, 30, 59)).map(([h, m]) =>
    `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`
  ),
  fc.constantFrom("9:00", "24:30", "12:00:00", "noon", ""),
);
const plausibleWindow = fc.record({
  weekday: fc.integer({ min: 0, max: 8 }),
  start_time: clock,
  end_time: clock,
  valid_from: fc.integer({ min: -5, max: 400 }).map((d) => future(d).slice(0, 10)),
  valid_until: fc.integer({ min: -5, max: 400 }).map((d) => future(d).slice(0, 10)),
}, { requiredKeys: [] });
const plausibleOverride = fc.record({
  date: fc.integer({ min: -5, max: 400 }).map((d) => future(d).slice(0, 10)),
  kind: fc.constantFrom("available", "unavailable", "busy"),
  start_time: clock,
  end_time: clock,
}, { requiredKeys: [] });
const ruleIdPath = (base: string) =>
  fc.oneof(fc.uuid(), fc.string({ maxLength: 20 }).map((s) => encodeURIComponent(s) || "x"))
    .map((id) => `${base}/${id}`);

e2e("fuzz GET /availability/rules and overrides", async () => {
  await fuzz("GET", "GET /availability/rules", inputArb(fc.constant("/availability/rules"), {}));
  await fuzz(
    "GET",
    "GET /availability/overrides",
    inputArb(fc.constant("/availability/overrides"), {
      queryKeys: ["from", "to"],
      plausibleQuery: fc.record({
        from: fc.integer({ min: -5, max: 400 }).map((d) => future(d).slice(0, 10)),
        to: fc.integer({ min: -5, max: 400 }).map((d) => future(d).slice(0, 10)),
      }, { requiredKeys: [] }),
    }),
  );
});

e2e("fuzz working hours: PUT the week, POST, PUT and DELETE a window", async () => {
  const keys = ["weekday", "start_time", "end_time", "valid_from", "valid_until"];
  await fuzz(
    "PUT",
    "PUT /availability/working-hours",
    inputArb(fc.constant("/availability/working-hours"), {
      bodyKeys: ["working_hours"],
      plausible: fc.record({ working_hours: fc.array(plausibleWindow, { maxLength: 4 }) }),
    }),
  );
  await fuzz(
    "POST",
    "POST /availability/working-hours",
    inputArb(fc.constant("/availability/working-hours"), {
      bodyKeys: keys,
      plausible: plausibleWindow,
    }),
  );
  await fuzz(
    "PUT",
    "PUT /availability/working-hours/:id",
    inputArb(ruleIdPath("/availability/working-hours"), {
      bodyKeys: keys,
      plausible: plausibleWindow,
    }),
  );
  await fuzz(
    "DELETE",
    "DELETE /availability/working-hours/:id",
    inputArb(ruleIdPath("/availability/working-hours"), {}),
  );
});

e2e("fuzz overrides and limits", async () => {
  const keys = ["date", "kind", "start_time", "end_time"];
  await fuzz(
    "POST",
    "POST /availability/overrides",
    inputArb(fc.constant("/availability/overrides"), {
      bodyKeys: keys,
      plausible: plausibleOverride,
    }),
  );
  await fuzz(
    "PUT",
    "PUT /availability/overrides/:id",
    inputArb(ruleIdPath("/availability/overrides"), {
      bodyKeys: keys,
      plausible: plausibleOverride,
    }),
  );
  await fuzz(
    "DELETE",
    "DELETE /availability/overrides/:id",
    inputArb(ruleIdPath("/availability/overrides"), {}),
  );
  await fuzz(
    "PUT",
    "PUT /availability/limits",
    inputArb(fc.constant("/availability/limits"), {
      bodyKeys: ["earliest_start", "latest_end", "horizon_days", "max_meetings_per_day"],
      plausible: fc.record({
        earliest_start: clock,
        latest_end: clock,
        horizon_days: fc.integer({ min: -1, max: 4000 }),
        max_meetings_per_day: fc.integer({ min: -1, max: 1001 }),
      }, { requiredKeys: [] }),
    }),
  );
});

e2e("fuzz GET /openapi.json and /health", async () => {
  await fuzz("GET", "GET /openapi.json", inputArb(fc.constant("/openapi.json"), {}));
  await fuzz("GET", "GET /health", inputArb(fc.constant("/health"), {}));
});
