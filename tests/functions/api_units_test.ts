// The API's pure pieces: configuration, client address, cursors, If-Match,
// field errors from zod, SQL argument names, and the OpenAPI document.
import { z } from "zod";
import { ConfigError, loadConfig } from "../../functions/_shared/config.ts";
import { buckets, clientIp } from "../../functions/_shared/rate_limit.ts";
import { toFieldErrors } from "../../functions/_shared/validation.ts";
import { decodeCursor, encodeCursor, parseIfMatch } from "../../functions/api/routes/meetings.ts";
import { renameSqlFields } from "../../functions/api/routes/availability.ts";
import { buildOpenApi } from "../../functions/api/openapi.ts";
import { meetingRoutes } from "../../functions/api/routes/meetings.ts";
import { ProblemError } from "../../functions/_shared/problem.ts";
import { usePreparedStatements } from "../../functions/_shared/db.ts";
import { assert, assertEquals } from "../e2e/_support/assert.ts";

Deno.test("config: defaults, overrides, and refusals of nonsense", () => {
  const d = loadConfig({});
  assertEquals(d.rateLimit, { enabled: true, userLimit: 600, ipLimit: 1800, windowSeconds: 60 });
  assertEquals(d.corsOrigins, ["*"]);
  assertEquals([d.jwtSecret, d.jwks, d.calendarKey], [null, null, null]);
  const c = loadConfig({
    RATE_LIMIT_USER_PER_WINDOW: "5",
    RATE_LIMIT_ENABLED: "false",
    CORS_ALLOWED_ORIGINS: "https://a.example, https://b.example",
    JWT_SECRET: "s",
    SUPABASE_JWKS: '{"keys": []}',
  });
  assertEquals([c.rateLimit.userLimit, c.rateLimit.enabled, c.jwtSecret, c.jwks], [
    5,
    false,
    "s",
    null,
  ]);
  assertEquals(c.corsOrigins, ["https://a.example", "https://b.example"]);
  for (
    const bad of [
      { RATE_LIMIT_IP_PER_WINDOW: "lots" },
      { RATE_LIMIT_WINDOW_SECONDS: "0" },
      { RATE_LIMIT_ENABLED: "maybe" },
      { SUPABASE_JWKS: "{" },
      { CALENDAR_CREDENTIALS_KEY: "short" },
      { JWKS_URL: "ftp://x" },
    ]
  ) {
    let threw = false;
    try {
      loadConfig(bad);
    } catch (err) {
      threw = err instanceof ConfigError;
    }
    assert(threw, JSON.stringify(bad));
  }
});

Deno.test("client address: the entry the nearest proxy added, else the peer", () => {
  assertEquals(clientIp("203.0.113.9", "127.0.0.1"), "203.0.113.9");
  assertEquals(clientIp("6.6.6.6, 203.0.113.9", "127.0.0.1"), "203.0.113.9");
  assertEquals(clientIp("6.6.6.6, 203.0.113.9, 10.0.0.1", "127.0.0.1", 2), "203.0.113.9");
  assertEquals(clientIp(null, "127.0.0.1"), "127.0.0.1");
  assertEquals(clientIp("<script>", "127.0.0.1"), "127.0.0.1");
  assertEquals(clientIp("2001:DB8::1", undefined), "2001:db8::1");
  const b = buckets(loadConfig({}).rateLimit, "1.2.3.4", "u");
  assertEquals(b, { names: ["ip:1.2.3.4", "user:u"], limits: [1800, 600] });
});

Deno.test("cursors round-trip; anything else is not a cursor", () => {
  const c = encodeCursor(
    "2030-01-01T09:00:00.123456+00:00",
    "0b6f7c2e-3a8d-4e2f-9c1a-5d4e3f2a1b0c",
  );
  assert(/^[A-Za-z0-9_-]+$/.test(c));
  assertEquals(decodeCursor(c), {
    start: "2030-01-01T09:00:00.123456+00:00",
    id: "0b6f7c2e-3a8d-4e2f-9c1a-5d4e3f2a1b0c",
  });
  for (const bad of ["", "zzz", btoa("[1,2]"), btoa('["soon","x"]'), btoa("{}")]) {
    assertEquals(decodeCursor(bad), null, bad);
  }
});

Deno.test("If-Match takes the ETag in any common spelling", () => {
  assertEquals(parseIfMatch('"3"'), 3);
  assertEquals(parseIfMatch('W/"12"'), 12);
  assertEquals(parseIfMatch("7"), 7);
  assertEquals(parseIfMatch(null), null);
  assertEquals(parseIfMatch("*"), null);
  let code = "";
  try {
    parseIfMatch('"abc"');
  } catch (err) {
    code = (err as ProblemError).problem.code;
  }
  assertEquals(code, "invalid_if_match");
});

Deno.test("zod issues become field errors with the SQL functions' paths", () => {
  const schema = z.strictObject({
    title: z.string().max(3),
    n: z.number().int(),
    items: z.array(z.strictObject({ email: z.string() })),
  });
  const r = schema.safeParse({ title: "long", n: 1.5, items: [{}, { email: 1, x: 2 }], y: 0 }, {
    reportInput: true,
  });
  assert(!r.success);
  assertEquals(toFieldErrors(r.error), [
    { field: "title", message: "at most 3 characters" },
    { field: "n", message: "must be a whole number" },
    { field: "items[0].email", message: "is required" },
    { field: "items[1].email", message: "must be a string" },
    { field: "items[1].x", message: "is not a known field" },
    { field: "y", message: "is not a known field" },
  ]);
});

Deno.test("the availability engine's argument names become the query's", () => {
  assertEquals(
    renameSqlFields([
      { field: "p_end", message: "window longer than 92 days" },
      { field: "p_user_ids[2]", message: "no such user" },
      { field: "time_zone", message: "unknown" },
      { field: "other", message: "kept" },
    ]).map((e) => e.field),
    ["end", "user_ids[2]", "tz", "other"],
  );
});

Deno.test("the OpenAPI document comes from the routes' schemas", () => {
  const doc = buildOpenApi(meetingRoutes, "http://x/functions/v1/api") as {
    openapi: string;
    paths: Record<
      string,
      Record<string, { requestBody?: unknown; parameters?: { name: string }[] }>
    >;
    components: { schemas: Record<string, unknown> };
  };
  assertEquals(doc.openapi, "3.1.0");
  assertEquals(Object.keys(doc.paths).sort(), [
    "/meetings",
    "/meetings/{id}",
    "/meetings/{id}/history",
    "/meetings/{id}/responses",
    "/series/{id}",
  ]);
  const list = doc.paths["/meetings"].get.parameters!.map((p) => p.name);
  assertEquals(list, ["from", "to", "status", "cursor", "limit"]);
  assert(doc.components.schemas.Meeting && doc.components.schemas.Problem);
  assert(!JSON.stringify(doc).includes("$defs"), "every named schema is a component");
});

Deno.test("prepared statements except behind a transaction-mode pooler, unless told", () => {
  assertEquals(
    usePreparedStatements("postgresql://u:p@db.x.supabase.co:5432/postgres", undefined),
    true,
  );
  assertEquals(
    usePreparedStatements("postgresql://u:p@pooler.supabase.com:6543/postgres", undefined),
    false,
  );
  assertEquals(usePreparedStatements("postgresql://u:p@h:6543/postgres", "true"), true);
  assertEquals(usePreparedStatements("postgresql://u:p@h:5432/postgres", "false"), false);
  assertEquals(usePreparedStatements("not a url", undefined), false);
});
