// Authentication, CORS, request ids, unknown routes, and what the anon key
// alone may reach. Every refusal is a problem+json with a clear reason.
import {
  api,
  assertProblem,
  createUser,
  e2e,
  env,
  freshIp,
  signToken,
  userToken,
} from "./_support/api.ts";
import { assert, assertEquals, assertMatch } from "./_support/assert.ts";

const ip = freshIp();

e2e("GET /health and /openapi.json need no token; other routes do", async () => {
  const health = await api("GET", "/health", { ip });
  assertEquals(health.status, 200);
  assertEquals(health.body, { status: "ok", database: "ok" });
  const doc = await api("GET", "/openapi.json", { ip });
  assertEquals(doc.status, 200);
  assertEquals(doc.body.openapi, "3.1.0");
  const anon = await api("GET", "/openapi.json", { ip, token: env("SUPABASE_ANON_KEY") });
  assertEquals(anon.status, 200);
  const none = await api("GET", "/meetings", { ip });
  assertProblem(none, 401, "missing_token");
  assertEquals(none.headers.get("www-authenticate"), 'Bearer realm="api"');
});

e2e("the OpenAPI document describes every route with its parameters and errors", async () => {
  const doc = (await api("GET", "/openapi.json", { ip })).body;
  const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
  assertEquals(ops, [
    "DELETE /availability/overrides/{id}",
    "DELETE /availability/working-hours/{id}",
    "DELETE /calendar/connections/{id}",
    "DELETE /meetings/{id}",
    "GET /availability",
    "GET /availability/overrides",
    "GET /availability/rules",
    "GET /calendar/connections",
    "GET /health",
    "GET /meetings",
    "GET /meetings/{id}",
    "GET /meetings/{id}/history",
    "GET /openapi.json",
    "GET /series/{id}",
    "POST /availability/overrides",
    "POST /availability/working-hours",
    "POST /calendar/connections",
    "POST /calendar/sync",
    "POST /meetings",
    "POST /meetings/{id}/responses",
    "PUT /availability/limits",
    "PUT /availability/overrides/{id}",
    "PUT /availability/working-hours",
    "PUT /availability/working-hours/{id}",
    "PUT /meetings/{id}",
  ]);
  const create = doc.paths["/meetings"].post;
  const body = create.requestBody.content["application/json"].schema;
  assertEquals(body.additionalProperties, false);
  assert(body.required.includes("title") && body.required.includes("time_zone"));
  assertEquals(body.properties.title.maxLength, 300);
  // A meeting, or with recurrence a series booking.
  assertEquals(
    create.responses["201"].content["application/json"].schema.anyOf.map((s: { $ref: string }) =>
      s.$ref
    ),
    ["#/components/schemas/Meeting", "#/components/schemas/SeriesBooking"],
  );
  assertEquals(
    create.responses["409"].content["application/problem+json"].schema.$ref,
    "#/components/schemas/Problem",
  );
  const put = doc.paths["/meetings/{id}"].put;
  assert(
    put.parameters.some((p: { name: string; required: boolean }) =>
      p.name === "If-Match" && p.required
    ),
  );
  assert(put.responses["412"] && put.responses["428"]);
  const avail = doc.paths["/availability"].get.parameters.map((p: { name: string }) => p.name);
  assertEquals(avail, [
    "user_ids",
    "start",
    "end",
    "duration_minutes",
    "step_minutes",
    "tz",
    "min_attendees",
    "cursor",
    "limit",
  ]);
  assert(doc.components.schemas.Meeting.properties.attendees);
  assertEquals(doc.paths["/health"].get.security, []);
});

e2e(
  "bad tokens: malformed header, not a JWT, bad signature, expired, wrong role, no sub",
  async () => {
    const user = await createUser("authn");
    const cases: [Record<string, string>, string][] = [
      [{ authorization: "Basic dXNlcjpwYXNz" }, "invalid_authorization"],
      [{ authorization: "Bearer not-a-jwt" }, "invalid_token"],
      [{
        authorization: `Bearer ${await signToken({ sub: user.id, role: "authenticated" }, {
          secret: new TextEncoder().encode("another-secret-that-is-32-characters-long"),
        })}`,
      }, "invalid_token"],
      [{ authorization: `Bearer ${await userToken(user.id, user.email, -60)}` }, "token_expired"],
      [{
        authorization: `Bearer ${await signToken({ sub: user.id, role: "postgres" })}`,
      }, "invalid_role"],
      [{ authorization: `Bearer ${await signToken({ role: "authenticated" })}` }, "invalid_token"],
    ];
    for (const [headers, code] of cases) {
      const r = await api("GET", "/meetings", { headers, ip });
      assertProblem(r, 401, code);
    }
    const expired = await api("GET", "/meetings", {
      token: await userToken(user.id, user.email, -60),
      ip,
    });
    assertMatch(expired.body.detail, /expired/);
    const ok = await api("GET", "/meetings", { token: user.token, ip });
    assertEquals(ok.status, 200);
  },
);

e2e(
  "the anon key reaches no user route (401); the service_role key acts as no user (403)",
  async () => {
    const anon = await api("GET", "/meetings", { token: env("SUPABASE_ANON_KEY"), ip });
    assertProblem(anon, 401, "user_token_required");
    const service = await api("POST", "/meetings", {
      token: env("SUPABASE_SERVICE_ROLE_KEY"),
      body: { title: "x", time_zone: "UTC" },
      ip,
    });
    assertProblem(service, 403, "user_token_required");
  },
);

e2e("a deleted account's token is refused by the database's own rule", async () => {
  // The token still verifies; the profile is gone, so booking is refused.
  const token = await userToken(crypto.randomUUID(), "ghost@e2e.example");
  const r = await api("POST", "/meetings", {
    token,
    body: {
      title: "Ghost",
      start: "2030-01-01T10:00:00Z",
      end: "2030-01-01T11:00:00Z",
      time_zone: "UTC",
    },
    ip,
  });
  assertProblem(r, 403, "account_unavailable");
});

e2e("CORS preflight and headers; request ids are echoed or made", async () => {
  const pre = await fetch(`${env("API_URL")}/meetings`, {
    method: "OPTIONS",
    headers: {
      origin: "https://app.example",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type, idempotency-key",
    },
  });
  await pre.body?.cancel();
  assertEquals(pre.status, 204);
  assertEquals(pre.headers.get("access-control-allow-origin"), "*");
  assertMatch(pre.headers.get("access-control-allow-methods")!, /PUT/);
  assertMatch(pre.headers.get("access-control-allow-headers")!, /idempotency-key/);
  assertMatch(pre.headers.get("access-control-allow-headers")!, /if-match/);

  const echoed = await api("GET", "/health", { headers: { "x-request-id": "trace-123" }, ip });
  assertEquals(echoed.headers.get("x-request-id"), "trace-123");
  assertMatch(echoed.headers.get("access-control-expose-headers")!, /etag/);
  const made = await api("GET", "/health", {
    headers: { "x-request-id": "bad id with spaces" },
    ip,
  });
  assertMatch(made.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
});

e2e("unknown routes answer 404, known paths with the wrong method 405 with Allow", async () => {
  const user = await createUser("routes");
  const missing = await api("GET", "/nothing-here", { token: user.token, ip });
  assertProblem(missing, 404, "route_not_found");
  const wrong = await api("PATCH", "/meetings", { token: user.token, ip });
  assertProblem(wrong, 405, "method_not_allowed");
  assertEquals(wrong.headers.get("allow"), "POST, GET, OPTIONS");
});
