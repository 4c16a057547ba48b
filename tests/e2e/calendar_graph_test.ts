// Microsoft Graph sync against a local server that speaks the documented
// API: calendarView/delta paging to a deltaLink, @removed entries, 410
// SyncStateNotFound then a full resync, 401 then a refresh (the refresh
// token rotates), 429 with Retry-After, 412 on a stale If-Match.
import { assert, assertEquals, assertRejects } from "../functions/_calendar_assert.ts";
import { FakeGraph } from "./_support/fake_graph.ts";
import { fakeEndpoints, meeting, recordingSleep, window } from "./_support/calendar.ts";
import { ConnectionClient } from "../../functions/_shared/calendar/connection.ts";
import {
  PreconditionFailedError,
  RateLimitedError,
} from "../../functions/_shared/calendar/errors.ts";
import { GraphCalendarClient } from "../../functions/_shared/calendar/graph.ts";
import { TokenSource } from "../../functions/_shared/calendar/oauth.ts";

const W = window("2026-11-01T00:00:00Z", "2027-05-01T00:00:00Z", "America/New_York");

function connect(g: FakeGraph, sleep?: (ms: number) => Promise<void>) {
  return new ConnectionClient(
    {
      provider: "outlook",
      calendarRef: "work",
      credentials: { access_token: g.accessToken, refresh_token: g.refreshToken },
    },
    fakeEndpoints(null, g),
    fetch,
    sleep,
  );
}

function seed(g: FakeGraph, n: number) {
  for (let i = 0; i < n; i++) {
    const day = String(1 + (i % 28)).padStart(2, "0");
    g.put("work", {
      id: `ev${i}`,
      isAllDay: false,
      showAs: "busy",
      type: "occurrence",
      start: { dateTime: `2026-12-${day}T10:00:00.0000000`, timeZone: "UTC" },
      end: { dateTime: `2026-12-${day}T10:30:00.0000000`, timeZone: "UTC" },
    });
  }
}

Deno.test("graph: delta pages to a deltaLink, then reports changes and removals", async () => {
  const g = new FakeGraph();
  try {
    seed(g, 250);
    g.put("work", {
      id: "vacation",
      isAllDay: true,
      showAs: "oof",
      type: "singleInstance",
      start: { dateTime: "2026-12-24T00:00:00.0000000", timeZone: "UTC" },
      end: { dateTime: "2026-12-26T00:00:00.0000000", timeZone: "UTC" },
    });
    g.put("work", {
      id: "focus",
      isAllDay: false,
      showAs: "free",
      type: "singleInstance",
      start: { dateTime: "2026-12-03T08:00:00.0000000", timeZone: "UTC" },
      end: { dateTime: "2026-12-03T09:00:00.0000000", timeZone: "UTC" },
    });
    const client = connect(g);
    const first = await client.pull(null, W);
    assert(first.result.full, "full");
    assertEquals(first.result.items.length, 252);
    const deltaCalls = g.requests.filter((r) => r.path.endsWith("/calendarView/delta"));
    assertEquals(deltaCalls.length, 3, "pages of 100");
    assert(/odata\.maxpagesize=100/.test(deltaCalls[0].prefer ?? ""), "page size asked");
    assert(/outlook\.timezone="UTC"/.test(deltaCalls[0].prefer ?? ""), "UTC asked");
    const vacation = first.result.items.find((i) => i.itemId === "vacation")!;
    // All-day in the owner's zone (New York).
    assertEquals(vacation.busy.map((b) => [b.start, b.end]), [
      ["2026-12-24T05:00:00.000Z", "2026-12-26T05:00:00.000Z"],
    ]);
    assertEquals(first.result.items.find((i) => i.itemId === "focus")!.busy.map((b) => b.free), [
      true,
    ]);
    assert(typeof first.result.cursor.deltaLink === "string", "deltaLink kept");

    g.remove("work", "ev3");
    g.put("work", {
      id: "ev4",
      isAllDay: false,
      showAs: "tentative",
      type: "exception",
      start: { dateTime: "2026-12-05T14:00:00.0000000", timeZone: "UTC" },
      end: { dateTime: "2026-12-05T15:00:00.0000000", timeZone: "UTC" },
    });
    const second = await client.pull(first.result.cursor, W);
    assert(!second.result.full, "incremental");
    assertEquals(second.result.removedItems, ["ev3"]);
    assertEquals(second.result.items.map((i) => [i.itemId, i.busy[0].start]), [
      ["ev4", "2026-12-05T14:00:00.000Z"],
    ]);
  } finally {
    await g.close();
  }
});

Deno.test("graph: 410 SyncStateNotFound falls back to a full resync", async () => {
  const g = new FakeGraph();
  try {
    seed(g, 5);
    const client = connect(g);
    const first = await client.pull(null, W);
    g.loseSyncState(String(first.result.cursor.deltaLink));
    const again = await client.pull(first.result.cursor, W);
    assert(again.resynced && again.result.full, "resynced");
    assertEquals(again.result.items.length, 5);
  } finally {
    await g.close();
  }
});

Deno.test("graph: 401 refreshes (and keeps the rotated refresh token); 429 honours Retry-After", async () => {
  const g = new FakeGraph();
  try {
    seed(g, 2);
    g.expireAccessToken();
    const { waits, sleep } = recordingSleep();
    g.failNext({ status: 429, retryAfter: "1" });
    const pulled = await connect(g, sleep).pull(null, W);
    assertEquals(pulled.result.items.length, 2);
    assertEquals(waits.length, 1);
    assert(waits[0] >= 1000, `waited ${waits[0]}`);
    assertEquals(pulled.credentials?.refresh_token, "graph-refresh-2");
    assertEquals(pulled.credentials?.access_token, "graph-access-2");

    g.failNext({ status: 429, retryAfter: "120" });
    const e = await assertRejects(() => connect(g, sleep).pull(null, W), RateLimitedError);
    assertEquals(e.retryAfterMs, 120_000);
  } finally {
    await g.close();
  }
});

Deno.test("graph: push creates, updates with If-Match, 412 on stale, deletes", async () => {
  const g = new FakeGraph();
  try {
    const client = connect(g);
    const m = meeting();
    const created = await client.upsert(m, null);
    assert(created.etag?.startsWith('W/"'), "Graph etag");
    const updated = await client.upsert(
      { ...m, end: "2026-12-01T10:30:00Z", sequence: 1 },
      created,
    );
    assertEquals(g.requests.at(-1)!.ifMatch, created.etag);
    const stored = [...g.calendars.get("work")!.values()][0];
    assertEquals(stored.end.dateTime, "2026-12-01T10:30:00.000");

    const raw = new GraphCalendarClient(
      new TokenSource(
        "outlook",
        { access_token: g.accessToken, refresh_token: g.refreshToken },
        fakeEndpoints(null, g).microsoft,
      ),
      g.apiBase,
    );
    await assertRejects(
      () => raw.update(created.externalId, m, created.etag),
      PreconditionFailedError,
    );

    const pulled = await client.pull(null, W);
    assertEquals(pulled.result.items.map((i) => i.itemId), [created.externalId]);
    await client.remove(updated);
    const after = await client.pull(pulled.result.cursor, W);
    assertEquals(after.result.removedItems, [created.externalId]);
    await client.remove(updated); // already gone: fine
  } finally {
    await g.close();
  }
});
