// CalDAV against a real Radicale on loopback: create, update and delete in
// both directions, sync-collection with its token, a refused token falling
// back to a full listing, the ctag/etag path, and wrong credentials.
import { assert, assertEquals, assertRejects } from "../functions/_calendar_assert.ts";
import { type RadicaleServer, startRadicale } from "./_support/radicale.ts";
import { fakeEndpoints, meeting, window } from "./_support/calendar.ts";
import { CalDavClient } from "../../functions/_shared/calendar/caldav.ts";
import { ConnectionClient } from "../../functions/_shared/calendar/connection.ts";
import {
  AuthRejectedError,
  PreconditionFailedError,
} from "../../functions/_shared/calendar/errors.ts";

const W = window("2026-11-01T00:00:00Z", "2027-05-01T00:00:00Z", "Europe/Paris");
const USER = { username: "alice", password: "alice-password" };

function externalEvent(uid: string, start: string, end: string, extra = "") {
  return [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//test//EN",
    "BEGIN:VEVENT",
    `UID:${uid}`,
    "DTSTAMP:20261101T000000Z",
    `DTSTART:${start}`,
    `DTEND:${end}`,
    ...(extra ? [extra] : []),
    "SUMMARY:external",
    "END:VEVENT",
    "END:VCALENDAR",
    "",
  ].join("\r\n");
}

async function withCalendar(
  fn: (server: RadicaleServer, direct: CalDavClient, sync: ConnectionClient) => Promise<void>,
) {
  const server = await startRadicale();
  try {
    const url = `${server.url}/alice/${crypto.randomUUID()}/`;
    const direct = new CalDavClient(url, USER);
    await direct.makeCalendar("Work");
    const sync = new ConnectionClient(
      { provider: "caldav", calendarRef: url, credentials: { ...USER } },
      fakeEndpoints(null, null),
    );
    await fn(server, direct, sync);
  } finally {
    await server.stop();
  }
}

Deno.test("caldav: external events come in; changes and deletions follow by sync-collection", async () => {
  await withCalendar(async (_server, direct, sync) => {
    const a = await direct.put(
      `${direct.collectionUrl}a.ics`,
      externalEvent("a", "20261202T090000Z", "20261202T100000Z"),
      { create: true },
    );
    await direct.put(
      `${direct.collectionUrl}weekly.ics`,
      externalEvent("weekly", "20261201T080000Z", "20261201T083000Z", "RRULE:FREQ=WEEKLY;COUNT=3"),
      { create: true },
    );
    await direct.put(
      `${direct.collectionUrl}broken.ics`,
      // Radicale stores it; we cannot use it (it ends before it starts).
      externalEvent("broken", "20261203T090000Z", "20261203T080000Z"),
      { create: true },
    );

    const first = await sync.pull(null, W);
    assert(first.result.full, "first pull is a full listing");
    const busy = first.result.items.flatMap((i) => i.busy.map((b) => b.start)).sort();
    assertEquals(busy, [
      "2026-12-01T08:00:00.000Z",
      "2026-12-02T09:00:00.000Z",
      "2026-12-08T08:00:00.000Z",
      "2026-12-15T08:00:00.000Z",
    ]);
    assertEquals(first.result.skipped.length, 1, "the broken resource is reported, not fatal");
    assert(typeof first.result.cursor.syncToken === "string", "sync-token kept");

    // Nothing changed: the ctag says so without listing.
    const idle = await sync.pull(first.result.cursor, W);
    assert(idle.result.unchanged, "unchanged by ctag");

    await direct.put(
      `${direct.collectionUrl}a.ics`,
      externalEvent("a", "20261202T130000Z", "20261202T140000Z"),
      { etag: a! },
    );
    await direct.delete(`${direct.collectionUrl}weekly.ics`, null);
    const second = await sync.pull(first.result.cursor, W);
    assertEquals((second.result as unknown as { method: string }).method, "sync-collection");
    assertEquals(
      second.result.items.map((i) => [i.itemId.split("/").pop(), i.busy.map((b) => b.start)]),
      [
        ["a.ics", ["2026-12-02T13:00:00.000Z"]],
      ],
    );
    assertEquals(second.result.removedItems.map((h) => h.split("/").pop()), ["weekly.ics"]);
  });
});

Deno.test("caldav: a refused sync-token falls back to a full listing", async () => {
  await withCalendar(async (_server, direct, sync) => {
    await direct.put(
      `${direct.collectionUrl}a.ics`,
      externalEvent("a", "20261202T090000Z", "20261202T100000Z"),
      { create: true },
    );
    const first = await sync.pull(null, W);
    await direct.put(
      `${direct.collectionUrl}b.ics`,
      externalEvent("b", "20261203T090000Z", "20261203T100000Z"),
      { create: true },
    );
    const forged = { ...first.result.cursor, syncToken: "http://radicale.org/ns/sync/forgotten" };
    const again = await sync.pull(forged, W);
    assert(again.result.full, "full listing after the refusal");
    assertEquals(again.result.items.map((i) => i.itemId.split("/").pop()).sort(), [
      "a.ics",
      "b.ics",
    ]);
  });
});

Deno.test("caldav: without a sync-token the ctag and etags find the changes", async () => {
  await withCalendar(async (_server, direct, sync) => {
    await direct.put(
      `${direct.collectionUrl}a.ics`,
      externalEvent("a", "20261202T090000Z", "20261202T100000Z"),
      { create: true },
    );
    const b = await direct.put(
      `${direct.collectionUrl}b.ics`,
      externalEvent("b", "20261203T090000Z", "20261203T100000Z"),
      { create: true },
    );
    const first = await sync.pull(null, W);
    // As stored for a server that offers no sync-collection.
    const etagOnly = { ...first.result.cursor, syncToken: null };
    await direct.put(
      `${direct.collectionUrl}b.ics`,
      externalEvent("b", "20261203T150000Z", "20261203T160000Z"),
      { etag: b! },
    );
    await direct.delete(`${direct.collectionUrl}a.ics`, null);
    await direct.put(
      `${direct.collectionUrl}c.ics`,
      externalEvent("c", "20261204T090000Z", "20261204T100000Z"),
      { create: true },
    );
    const second = await sync.pull(etagOnly, W);
    assertEquals((second.result as unknown as { method: string }).method, "etag-diff");
    assertEquals(second.result.items.map((i) => i.itemId.split("/").pop()).sort(), [
      "b.ics",
      "c.ics",
    ]);
    assertEquals(second.result.removedItems.map((h) => h.split("/").pop()), ["a.ics"]);
    assertEquals(second.result.cursor.syncToken, null, "stays on the etag path");
  });
});

Deno.test("caldav: our meeting is created, moved and deleted in the calendar, and recognised as ours", async () => {
  await withCalendar(async (_server, direct, sync) => {
    const m = meeting();
    const created = await sync.upsert(m, null);
    assert(created.externalId.endsWith(`${m.meetingId}.ics`), created.externalId);
    const [resource] = await direct.multiget([created.externalId]);
    assert(resource.data.includes(`UID:${m.meetingId}@meetings.scheduler`), resource.data);

    const moved = await sync.upsert({
      ...m,
      start: "2026-12-01T14:00:00Z",
      end: "2026-12-01T15:00:00Z",
      sequence: 1,
    }, created);
    assert(moved.etag && moved.etag !== created.etag, "new etag");
    await assertRejects(
      () =>
        direct.put(created.externalId, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", {
          etag: created.etag!,
        }),
      PreconditionFailedError,
    );

    // Edited by the user's own client: our next write goes over it.
    const [current] = await direct.multiget([created.externalId]);
    await direct.put(
      created.externalId,
      current.data.replace("SUMMARY:Design review", "SUMMARY:edited"),
      { etag: current.etag! },
    );
    const rewritten = await sync.upsert({ ...m, sequence: 2 }, moved);
    const [after] = await direct.multiget([created.externalId]);
    assert(after.data.includes("SUMMARY:Design review"), after.data);

    const pulled = await sync.pull(null, W);
    assertEquals(pulled.result.items[0].busy[0].meetingId, m.meetingId);

    await sync.remove(rewritten);
    assertEquals(Object.keys(await direct.listEtags()), []);
    await sync.remove(rewritten); // gone already: fine
  });
});

Deno.test("caldav: wrong credentials are an authentication error, not a crash", async () => {
  const server = await startRadicale();
  try {
    const client = new CalDavClient(`${server.url}/alice/cal/`, {
      username: "alice",
      password: "wrong",
    });
    await assertRejects(() => client.collectionState(), AuthRejectedError);
  } finally {
    await server.stop();
  }
});
