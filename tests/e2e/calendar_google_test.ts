// Google Calendar sync against a local server that speaks the documented
// API: paging and sync tokens, 410 then a full resync, 401 then a token
// refresh, 429 / 403 rate limits with Retry-After, 412 on a stale etag.
import { assert, assertEquals, assertRejects } from "../functions/_calendar_assert.ts";
import { FakeGoogle } from "./_support/fake_google.ts";
import { fakeEndpoints, meeting, recordingSleep, window } from "./_support/calendar.ts";
import { ConnectionClient } from "../../functions/_shared/calendar/connection.ts";
import {
  AuthRejectedError,
  PreconditionFailedError,
  RateLimitedError,
} from "../../functions/_shared/calendar/errors.ts";
import { GoogleCalendarClient } from "../../functions/_shared/calendar/google.ts";
import { TokenSource } from "../../functions/_shared/calendar/oauth.ts";

const W = window("2026-11-01T00:00:00Z", "2027-05-01T00:00:00Z", "Europe/Berlin");

function connect(g: FakeGoogle, sleep?: (ms: number) => Promise<void>) {
  return new ConnectionClient(
    {
      provider: "google",
      calendarRef: "primary",
      credentials: { access_token: g.accessToken, refresh_token: g.refreshToken },
    },
    fakeEndpoints(g, null),
    fetch,
    sleep,
  );
}

function seed(g: FakeGoogle, n: number) {
  for (let i = 0; i < n; i++) {
    const day = String(1 + (i % 28)).padStart(2, "0");
    g.put("primary", {
      id: `ev${i}`,
      start: { dateTime: `2026-12-${day}T${String(8 + (i % 8)).padStart(2, "0")}:00:00Z` },
      end: { dateTime: `2026-12-${day}T${String(9 + (i % 8)).padStart(2, "0")}:00:00Z` },
    });
  }
}

Deno.test("google: a full pull pages through, then an incremental pull sees only changes", async () => {
  const g = new FakeGoogle();
  try {
    seed(g, 300);
    g.put("primary", {
      id: "holiday",
      start: { date: "2026-12-24" },
      end: { date: "2026-12-25" },
    });
    g.put("primary", {
      id: "free-time",
      transparency: "transparent",
      start: { dateTime: "2026-12-02T12:00:00Z" },
      end: { dateTime: "2026-12-02T13:00:00Z" },
    });
    const client = connect(g);
    const first = await client.pull(null, W);
    assert(first.result.full, "first pull is full");
    assertEquals(first.result.items.length, 302);
    const pages = g.requests.filter((r) => r.path.endsWith("/events") && r.method === "GET");
    assertEquals(pages.length, 2, "250 + 52 events: two pages");
    const holiday = first.result.items.find((i) => i.itemId === "holiday")!;
    // All-day: the owner's (Berlin) local day.
    assertEquals(holiday.busy.map((b) => [b.start, b.end, b.allDay]), [
      ["2026-12-23T23:00:00.000Z", "2026-12-24T23:00:00.000Z", true],
    ]);
    assertEquals(
      first.result.items.find((i) => i.itemId === "free-time")!.busy.map((b) => b.free),
      [true],
    );

    g.put("primary", {
      id: "ev1",
      start: { dateTime: "2026-12-05T15:00:00Z" },
      end: { dateTime: "2026-12-05T16:00:00Z" },
    });
    g.cancel("primary", "ev2");
    const second = await client.pull(first.result.cursor, W);
    assert(!second.result.full && !second.resynced, "incremental");
    assertEquals(second.result.items.map((i) => [i.itemId, i.busy[0].start]), [
      ["ev1", "2026-12-05T15:00:00.000Z"],
    ]);
    assertEquals(second.result.removedItems, ["ev2"]);
    const incremental = g.requests.at(-1)!;
    assert(incremental.search.includes("syncToken="), "the stored token is sent");
    assert(!incremental.search.includes("timeMin"), "no timeMin with a sync token");
  } finally {
    await g.close();
  }
});

Deno.test("google: 410 Gone on a sync token falls back to a full resync", async () => {
  const g = new FakeGoogle();
  try {
    seed(g, 3);
    const client = connect(g);
    const first = await client.pull(null, W);
    g.invalidateSyncTokens();
    const again = await client.pull(first.result.cursor, W);
    assert(again.resynced && again.result.full, "resynced in full");
    assertEquals(again.result.items.length, 3);
    assertEquals(
      g.requests.filter((r) => r.method === "GET").map((r) => r.search.includes("syncToken")),
      [false, true, false],
    );
  } finally {
    await g.close();
  }
});

Deno.test("google: 401 refreshes the access token once and retries", async () => {
  const g = new FakeGoogle();
  try {
    seed(g, 2);
    const client = connect(g);
    g.expireAccessToken();
    const pulled = await client.pull(null, W);
    assertEquals(pulled.result.items.length, 2);
    assertEquals(g.refreshCount, 1);
    assertEquals(pulled.credentials?.access_token, g.accessToken);
    assertEquals(pulled.credentials?.refresh_token, "google-refresh");

    // A revoked refresh token: the user must reconnect.
    g.expireAccessToken();
    const revoked = new ConnectionClient(
      {
        provider: "google",
        calendarRef: "primary",
        credentials: { access_token: "old", refresh_token: "revoked-by-the-user" },
      },
      fakeEndpoints(g, null),
    );
    const e = await assertRejects(() => revoked.pull(null, W), AuthRejectedError);
    assert(/invalid_grant/.test(e.message), e.message);
  } finally {
    await g.close();
  }
});

Deno.test("google: 429 with a short Retry-After is waited out; a long one is reported", async () => {
  const g = new FakeGoogle();
  try {
    seed(g, 1);
    const { waits, sleep } = recordingSleep();
    g.failNext({ status: 429, retryAfter: "2" });
    const pulled = await connect(g, sleep).pull(null, W);
    assertEquals(pulled.result.items.length, 1);
    assert(waits.length === 1 && waits[0] >= 2000, `waited ${waits}`);

    g.failNext({ status: 403, reason: "rateLimitExceeded", retryAfter: "3600" });
    const e = await assertRejects(() => connect(g, sleep).pull(null, W), RateLimitedError);
    assertEquals(e.retryAfterMs, 3600_000);
    assertEquals(e.code, "rateLimitExceeded");
  } finally {
    await g.close();
  }
});

Deno.test("google: push creates, updates with If-Match, rewrites after 412, deletes", async () => {
  const g = new FakeGoogle();
  try {
    const client = connect(g);
    const m = meeting();
    const created = await client.upsert(m, null);
    const stored = g.calendars.get("primary")!.get(created.externalId)!;
    assertEquals(stored.extendedProperties?.private?.schedulerMeetingId, m.meetingId);
    assertEquals(stored.iCalUID, `${m.meetingId}@meetings.scheduler`);

    const moved = await client.upsert({
      ...m,
      start: "2026-12-01T11:00:00Z",
      end: "2026-12-01T12:00:00Z",
      sequence: 1,
    }, created);
    assert(moved.etag !== created.etag, "new etag");
    assertEquals(g.requests.at(-1)!.ifMatch, created.etag);

    // A raw stale If-Match gets Google's 412.
    const raw = new GoogleCalendarClient(
      new TokenSource(
        "google",
        { access_token: g.accessToken, refresh_token: g.refreshToken },
        fakeEndpoints(g, null).google,
      ),
      g.apiBase,
    );
    await assertRejects(
      () => raw.patch("primary", created.externalId, m, created.etag),
      PreconditionFailedError,
    );

    // The event was edited in Google meanwhile: our write goes over it.
    g.put("primary", { ...stored, summary: "edited in Google" });
    const rewritten = await client.upsert({ ...m, sequence: 2 }, moved);
    assertEquals(g.calendars.get("primary")!.get(created.externalId)!.summary, "Design review");
    assert(rewritten.etag !== moved.etag, "rewritten");

    // Our own event in a pull carries our meeting id, so the sync can skip it.
    const pulled = await client.pull(null, W);
    assertEquals(pulled.result.items[0].busy[0].meetingId, m.meetingId);

    await client.remove(rewritten);
    const after = await client.pull(pulled.result.cursor, W);
    assertEquals(after.result.removedItems, [created.externalId]);
    // Removing again is not an error: it is gone already.
    await client.remove(rewritten);
  } finally {
    await g.close();
  }
});
