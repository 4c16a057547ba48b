// SQLSTATE mapping and the problem+json shape.
import { problemFromDbError } from "../../functions/_shared/sql_errors.ts";
import { problemBody, problemResponse } from "../../functions/_shared/problem.ts";
import { assert, assertEquals } from "../e2e/_support/assert.ts";

Deno.test("PT<status> keeps its status, code, field errors, conflicts and extras", () => {
  const p = problemFromDbError({
    code: "PT409",
    message: "user x is busy",
    detail: JSON.stringify({
      code: "meeting_conflict",
      conflicts: [{ meeting_id: "m", user_id: "u", start: "s", end: "e" }],
      meeting_id: "m",
    }),
  });
  assertEquals(p, {
    status: 409,
    code: "meeting_conflict",
    detail: "user x is busy",
    errors: [],
    conflicts: [{ meeting_id: "m", user_id: "u", start: "s", end: "e" }],
    extra: { meeting_id: "m" },
  });
  const v = problemFromDbError({
    code: "PT422",
    message: "title: is required",
    detail: '{"code":"validation_failed","errors":[{"field":"title","message":"is required"}]}',
  });
  assertEquals(v?.errors, [{ field: "title", message: "is required" }]);
  const bare = problemFromDbError({ code: "PT428", message: "need a version", detail: "not json" });
  assertEquals([bare?.status, bare?.code], [428, "http_428"]);
});

Deno.test("database errors map to client statuses; unknown ones are faults (null)", () => {
  const cases: [string, number, string][] = [
    ["23P01", 409, "meeting_conflict"],
    ["23505", 409, "already_exists"],
    ["23503", 422, "reference_not_found"],
    ["23514", 422, "validation_failed"],
    ["22P02", 422, "invalid_input"],
    ["22007", 422, "invalid_input"],
    ["42501", 403, "forbidden"],
    ["40001", 503, "busy"],
    ["57014", 503, "timeout"],
  ];
  for (const [code, status, app] of cases) {
    const p = problemFromDbError({ code, message: "m" });
    assertEquals([p?.status, p?.code], [status, app], code);
  }
  assertEquals(problemFromDbError({ code: "42883", message: "function does not exist" }), null);
  assertEquals(problemFromDbError({ code: "XX000", message: "internal" }), null);
  assertEquals(problemFromDbError({ code: "PT200", message: "odd" }), null);
});

Deno.test("problem bodies always carry errors and conflicts; extras cannot overwrite members", () => {
  const body = problemBody({
    status: 412,
    code: "version_mismatch",
    detail: "version mismatch",
    extra: { current_version: 3, status: 200, code: "sneaky" },
  }, "req-1");
  assertEquals(body, {
    type: "https://meeting-scheduler.invalid/problems/version_mismatch",
    title: "Precondition Failed",
    status: 412,
    detail: "version mismatch",
    code: "version_mismatch",
    errors: [],
    conflicts: [],
    current_version: 3,
    request_id: "req-1",
  });
  const res = problemResponse({
    status: 429,
    code: "rate_limited",
    detail: "slow down",
    headers: { "retry-after": "7" },
  }, "r");
  assertEquals(res.status, 429);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  assertEquals(res.headers.get("retry-after"), "7");
  assert(res.body);
});
