// The double-booking race over the real HTTP path: 100 simultaneous
// POST /meetings for slots that all overlap, for one organiser. Exactly one
// wins; every other gets 409 naming the winner; no 5xx, no deadlock.
import { addMinutes, adminSql, api, createUser, e2e, freshIp, future } from "./_support/api.ts";
import { assert, assertEquals } from "./_support/assert.ts";

e2e("100 parallel POST /meetings for overlapping slots: one 201, ninety-nine 409", async () => {
  const org = await createUser("racer");
  const base = future(40, 9);
  // Starts 0..99 minutes apart, each two hours long: every pair overlaps.
  const requests = Array.from({ length: 100 }, (_, i) =>
    api("POST", "/meetings", {
      token: org.token,
      ip: freshIp(),
      body: {
        title: `Race ${i}`,
        start: addMinutes(base, i),
        end: addMinutes(base, i + 120),
        time_zone: "UTC",
      },
    }));
  const results = await Promise.all(requests);
  const statuses = results.map((r) => r.status);
  assertEquals(statuses.filter((s) => s === 201).length, 1, JSON.stringify(statuses));
  assertEquals(statuses.filter((s) => s === 409).length, 99, JSON.stringify(statuses));

  const winner = results.find((r) => r.status === 201)!.body;
  for (const r of results.filter((r) => r.status === 409)) {
    assertEquals(r.headers.get("content-type"), "application/problem+json");
    assertEquals(r.body.code, "meeting_conflict");
    assertEquals(r.body.conflicts[0].meeting_id, winner.id);
    assertEquals(r.body.conflicts[0].user_id, org.id);
  }
  const [{ n }] = await adminSql()<{ n: number }[]>`
    select count(*)::int as n from public.meetings where organizer_id = ${org.id}`;
  assertEquals(n, 1);
  const [{ busy }] = await adminSql()<{ busy: number }[]>`
    select count(*)::int as busy from private.busy_blocks where user_id = ${org.id} and active`;
  assert(busy === 1);
});
