// Meetings over HTTP: every route's happy path, its validation errors, RLS
// (a stranger sees 404), conflicts with details, optimistic locking,
// idempotent replay. Responses are checked against the API's own schemas.
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
import { assert, assertEquals, assertMatch } from "./_support/assert.ts";
import { HistorySchema, MeetingListSchema, MeetingSchema } from "../../functions/api/schemas.ts";

const ip = freshIp();

async function book(token: string, body: Record<string, unknown>, headers = {}) {
  return await api("POST", "/meetings", { token, body, headers, ip });
}

e2e("POST /meetings books a meeting: 201, ETag, Location, attendees", async () => {
  const org = await createUser("org", { timeZone: "Europe/Berlin" });
  const guest = await createUser("guest");
  const start = future(10, 9);
  const res = await book(org.token, {
    title: "Planning",
    start,
    end: addMinutes(start, 30),
    time_zone: "Europe/Berlin",
    description: "Q3",
    attendees: [{ user_id: guest.id }, { email: "outside@partner.example", role: "optional" }],
  });
  assertEquals(res.status, 201, res.text);
  const m = MeetingSchema.parse(res.body);
  assertEquals(m.title, "Planning");
  assertEquals(m.version, 1);
  assertEquals(m.replayed, false);
  assertEquals(res.headers.get("etag"), '"1"');
  assertEquals(res.headers.get("location"), `meetings/${m.id}`);
  // The organiser first, then the guests by e-mail.
  assertEquals(m.attendees.map((a) => [a.role, a.user_id]), [
    ["organizer", org.id],
    ["required", guest.id],
    ["optional", null],
  ]);
  assertEquals(Date.parse(m.start), Date.parse(start));
  assertEquals(res.headers.get("content-type"), "application/json; charset=utf-8");
  assert(res.headers.get("x-request-id"));
  assert(res.headers.get("ratelimit-remaining"));
});

e2e(
  "POST /meetings reads a naive local time in time_zone, and refuses one the clocks skip",
  async () => {
    const org = await createUser("naive");
    const year = new Date().getUTCFullYear() + 1;
    const res = await book(org.token, {
      title: "Local",
      start: `${year}-07-01T09:00:00`,
      end: `${year}-07-01T09:30:00`,
      time_zone: "Europe/Berlin",
    });
    assertEquals(res.status, 201, res.text);
    // Berlin is UTC+2 in July.
    assertEquals(new Date(res.body.start).toISOString(), `${year}-07-01T07:00:00.000Z`);

    // Last Sunday of March, 02:30 does not exist in Berlin.
    const march = new Date(Date.UTC(year, 2, 31));
    march.setUTCDate(31 - march.getUTCDay());
    const day = march.toISOString().slice(0, 10);
    const gap = await book(org.token, {
      title: "Gap",
      start: `${day}T02:30:00`,
      end: `${day}T03:30:00`,
      time_zone: "Europe/Berlin",
    });
    assertProblem(gap, 422, "validation_failed");
    assertEquals(fieldErrors(gap), ["start"]);
    assertMatch(gap.body.errors[0].message, /does not exist in Europe\/Berlin/);
  },
);

e2e("POST /meetings validation: every field error at once, named, nothing written", async () => {
  const org = await createUser("val");
  const missing = await book(org.token, {});
  assertProblem(missing, 422, "validation_failed");
  assertEquals(fieldErrors(missing).sort(), ["time_zone", "title"]);

  const wrong = await book(org.token, {
    title: "x".repeat(301),
    start: "tomorrow at nine",
    end: "2030-01-01T10:00:00",
    time_zone: "Mars/Olympus",
    attendees: [{ email: "not-an-email" }, {}, { user_id: "123" }],
    colour: "red",
  });
  assertProblem(wrong, 422, "validation_failed");
  const fields = fieldErrors(wrong);
  for (
    const f of [
      "title",
      "start",
      "time_zone",
      "attendees[0].email",
      "attendees[1]",
      "attendees[2].user_id",
      "colour",
    ]
  ) {
    assert(fields.includes(f), `${f} missing from ${JSON.stringify(wrong.body.errors)}`);
  }

  // Rules only the database knows still come back as field errors.
  const start = future(11, 10);
  const past = await book(org.token, {
    title: "Backwards",
    start,
    end: addMinutes(start, -30),
    time_zone: "UTC",
  });
  assertProblem(past, 422, "validation_failed");
  assertEquals(past.body.errors, [{ field: "end", message: "must be after start" }]);

  const offsetless = await book(org.token, {
    title: "x",
    start: "2030-01-01T10:00:00",
    end: "2030-01-01T11:00:00Z",
    time_zone: "Nowhere/City",
  });
  assertProblem(offsetless, 422);
  assert(fieldErrors(offsetless).includes("time_zone"));

  const list = await api("GET", "/meetings", { token: org.token, ip });
  assertEquals(list.body.meetings, []);
});

e2e(
  "POST /meetings: malformed JSON 400, wrong media type 415, too large 413, no body 422",
  async () => {
    const org = await createUser("raw");
    const bad = await api("POST", "/meetings", {
      token: org.token,
      rawBody: '{"title": ',
      headers: { "content-type": "application/json" },
      ip,
    });
    assertProblem(bad, 400, "invalid_json");
    const text = await api("POST", "/meetings", {
      token: org.token,
      rawBody: "title=x",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      ip,
    });
    assertProblem(text, 415, "unsupported_media_type");
    const huge = await book(org.token, { title: "x", description: "y".repeat(70_000) });
    assertProblem(huge, 413, "body_too_large");
    const none = await api("POST", "/meetings", { token: org.token, ip });
    assertProblem(none, 422, "validation_failed");
    assertEquals(none.body.errors, [{ field: "body", message: "is required" }]);
  },
);

e2e("POST /meetings conflict: 409 naming the conflicting meeting and range", async () => {
  const org = await createUser("busy");
  const other = await createUser("other");
  const start = future(12, 14);
  const first = await book(org.token, {
    title: "A",
    start,
    end: addMinutes(start, 60),
    time_zone: "UTC",
  });
  assertEquals(first.status, 201, first.text);

  // Someone else invites the organiser into an overlapping slot.
  const clash = await book(other.token, {
    title: "B",
    start: addMinutes(start, 30),
    end: addMinutes(start, 90),
    time_zone: "UTC",
    attendees: [{ user_id: org.id }],
  });
  assertProblem(clash, 409, "meeting_conflict");
  assertEquals(clash.body.conflicts.length, 1);
  const c = clash.body.conflicts[0];
  // The organiser's meeting is not visible to the other user: unnamed.
  assertEquals(c.meeting_id, null);
  assertEquals(c.user_id, org.id);
  assertEquals(Date.parse(c.start), Date.parse(start));

  const own = await book(org.token, {
    title: "C",
    start: addMinutes(start, 15),
    end: addMinutes(start, 45),
    time_zone: "UTC",
  });
  assertProblem(own, 409, "meeting_conflict");
  assertEquals(own.body.conflicts[0].meeting_id, first.body.id);
});

e2e(
  "POST /meetings idempotency: same key replays, a different body with it is refused",
  async () => {
    const org = await createUser("idem");
    const start = future(13, 9);
    const body = { title: "Once", start, end: addMinutes(start, 30), time_zone: "UTC" };
    const key = `key-${crypto.randomUUID()}`;
    const a = await book(org.token, body, { "idempotency-key": key });
    const b = await book(org.token, body, { "idempotency-key": key });
    assertEquals(a.status, 201, a.text);
    assertEquals(b.status, 201, b.text);
    assertEquals(b.body.id, a.body.id);
    assertEquals(b.body.replayed, true);
    assertEquals(b.headers.get("idempotent-replayed"), "true");
    const inBody = await book(org.token, { ...body, idempotency_key: key });
    assertEquals(inBody.body.id, a.body.id);

    const changed = await book(org.token, { ...body, title: "Twice" }, { "idempotency-key": key });
    assertProblem(changed, 422, "idempotency_key_reused");
    const both = await book(org.token, { ...body, idempotency_key: "other" }, {
      "idempotency-key": key,
    });
    assertProblem(both, 422, "validation_failed");
    assertEquals(fieldErrors(both), ["idempotency_key"]);
    const list = await api("GET", "/meetings", { token: org.token, ip });
    assertEquals(list.body.meetings.length, 1);
  },
);

e2e("GET /meetings/:id: organiser and attendee read it, a stranger gets 404", async () => {
  const org = await createUser("reader");
  const guest = await createUser("guest");
  const stranger = await createUser("stranger");
  const start = future(14, 9);
  const created = await book(org.token, {
    title: "Private",
    start,
    end: addMinutes(start, 30),
    time_zone: "UTC",
    attendees: [{ email: guest.email }],
  });
  const id = created.body.id;
  for (const who of [org, guest]) {
    const r = await api("GET", `/meetings/${id}`, { token: who.token, ip });
    assertEquals(r.status, 200, r.text);
    MeetingSchema.parse(r.body);
    assertEquals(r.headers.get("etag"), '"1"');
  }
  const hidden = await api("GET", `/meetings/${id}`, { token: stranger.token, ip });
  assertProblem(hidden, 404, "meeting_not_found");
  const missing = await api("GET", `/meetings/${crypto.randomUUID()}`, { token: org.token, ip });
  assertProblem(missing, 404, "meeting_not_found");
  const badId = await api("GET", "/meetings/not-a-uuid", { token: org.token, ip });
  assertProblem(badId, 422, "validation_failed");
  assertEquals(badId.body.errors, [{ field: "id", message: "must be a UUID" }]);
  const notModified = await api("GET", `/meetings/${id}`, {
    token: org.token,
    headers: { "if-none-match": '"1"' },
    ip,
  });
  assertEquals(notModified.status, 304);
  const history = await api("GET", `/meetings/${id}/history`, { token: guest.token, ip });
  assertEquals(history.status, 200, history.text);
  const h = HistorySchema.parse(history.body);
  assert(h.events.some((e) => e.table === "meetings" && e.action === "insert"));
  const strangerHistory = await api("GET", `/meetings/${id}/history`, {
    token: stranger.token,
    ip,
  });
  assertProblem(strangerHistory, 404, "meeting_not_found");
});

e2e("GET /meetings lists mine (organised or attending) with filters and a cursor", async () => {
  const me = await createUser("lister");
  const other = await createUser("host");
  const base = future(20, 8);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const s = addMinutes(base, i * 60);
    const r = await book(me.token, {
      title: `M${i}`,
      start: s,
      end: addMinutes(s, 30),
      time_zone: "UTC",
    });
    assertEquals(r.status, 201, r.text);
    ids.push(r.body.id);
  }
  const invited = await book(other.token, {
    title: "Invited",
    start: addMinutes(base, 600),
    end: addMinutes(base, 630),
    time_zone: "UTC",
    attendees: [{ user_id: me.id }],
  });
  ids.push(invited.body.id);
  // Someone else's meeting that does not involve me.
  await book(other.token, {
    title: "Not mine",
    start: addMinutes(base, 700),
    end: addMinutes(base, 730),
    time_zone: "UTC",
  });
  await api("DELETE", `/meetings/${ids[1]}`, { token: me.token, ip });

  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const q: string = `?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
    const r = await api("GET", `/meetings${q}`, { token: me.token, ip });
    assertEquals(r.status, 200, r.text);
    const page = MeetingListSchema.parse(r.body);
    assert(page.meetings.length <= 2);
    seen.push(...page.meetings.map((m) => m.id));
    cursor = page.next_cursor;
    pages++;
  } while (cursor && pages < 10);
  assertEquals(seen, ids);

  const confirmed = await api("GET", "/meetings?status=confirmed", { token: me.token, ip });
  assertEquals(confirmed.body.meetings.length, 5);
  const window = await api(
    "GET",
    `/meetings?from=${encodeURIComponent(addMinutes(base, 100))}&to=${
      encodeURIComponent(addMinutes(base, 200))
    }`,
    { token: me.token, ip },
  );
  assertEquals(window.body.meetings.map((m: { id: string }) => m.id), [ids[2], ids[3]]);

  const bad = await api("GET", "/meetings?limit=0&status=maybe&cursor=zzz&from=yesterday&x=1", {
    token: me.token,
    ip,
  });
  assertProblem(bad, 422, "validation_failed");
  assertEquals(fieldErrors(bad).sort(), ["from", "limit", "status", "x"]);
  const cursorBad = await api("GET", "/meetings?cursor=zzz", { token: me.token, ip });
  assertEquals(fieldErrors(cursorBad), ["cursor"]);
  const reversed = await api(
    "GET",
    `/meetings?from=${encodeURIComponent(base)}&to=${encodeURIComponent(addMinutes(base, -60))}`,
    { token: me.token, ip },
  );
  assertEquals(fieldErrors(reversed), ["to"]);
  const twice = await api("GET", "/meetings?limit=1&limit=2", { token: me.token, ip });
  assertEquals(twice.body.errors, [{ field: "limit", message: "is given more than once" }]);
});

e2e(
  "PUT /meetings/:id: If-Match required (428), stale 412, organiser only (403), 200 moves it",
  async () => {
    const org = await createUser("mover");
    const guest = await createUser("guest");
    const stranger = await createUser("stranger");
    const start = future(15, 9);
    const created = await book(org.token, {
      title: "Move me",
      start,
      end: addMinutes(start, 30),
      time_zone: "UTC",
      attendees: [{ user_id: guest.id }],
    });
    const id = created.body.id;
    const later = addMinutes(start, 120);

    const noMatch = await api("PUT", `/meetings/${id}`, {
      token: org.token,
      body: { start: later },
      ip,
    });
    assertProblem(noMatch, 428, "version_required");

    const moved = await api("PUT", `/meetings/${id}`, {
      token: org.token,
      body: { start: later, title: "Moved" },
      headers: { "if-match": '"1"' },
      ip,
    });
    assertEquals(moved.status, 200, moved.text);
    assertEquals(moved.body.version, 2);
    assertEquals(moved.headers.get("etag"), '"2"');
    assertEquals(Date.parse(moved.body.start), Date.parse(later));
    // A new start without an end keeps the duration.
    assertEquals(Date.parse(moved.body.end), Date.parse(addMinutes(later, 30)));

    const stale = await api("PUT", `/meetings/${id}`, {
      token: org.token,
      body: { title: "Stale" },
      headers: { "if-match": '"1"' },
      ip,
    });
    assertProblem(stale, 412, "version_mismatch");
    assertEquals(stale.body.current_version, 2);

    const byGuest = await api("PUT", `/meetings/${id}`, {
      token: guest.token,
      body: { title: "Mine now" },
      headers: { "if-match": '"2"' },
      ip,
    });
    assertProblem(byGuest, 403, "not_organizer");
    const byStranger = await api("PUT", `/meetings/${id}`, {
      token: stranger.token,
      body: { title: "x" },
      headers: { "if-match": '"2"' },
      ip,
    });
    assertProblem(byStranger, 404, "meeting_not_found");

    const badMatch = await api("PUT", `/meetings/${id}`, {
      token: org.token,
      body: { title: "x" },
      headers: { "if-match": "banana" },
      ip,
    });
    assertProblem(badMatch, 400, "invalid_if_match");
    const badBody = await api("PUT", `/meetings/${id}`, {
      token: org.token,
      body: { title: "", start: "soon", attendees: "everyone" },
      headers: { "if-match": '"2"' },
      ip,
    });
    assertProblem(badBody, 422, "validation_failed");
    assertEquals(fieldErrors(badBody).sort(), ["attendees", "start", "title"]);
    const naive = await api("PUT", `/meetings/${id}`, {
      token: org.token,
      body: { start: "2030-01-01T09:00:00" },
      headers: { "if-match": '"2"' },
      ip,
    });
    assertProblem(naive, 422);
    assertMatch(naive.body.errors[0].message, /no UTC offset/);

    // Moving onto the guest's other commitment is a conflict.
    const guestOwn = await book(guest.token, {
      title: "Dentist",
      start: addMinutes(start, 300),
      end: addMinutes(start, 360),
      time_zone: "UTC",
    });
    assertEquals(guestOwn.status, 201, guestOwn.text);
    const clash = await api("PUT", `/meetings/${id}`, {
      token: org.token,
      body: { start: addMinutes(start, 310) },
      headers: { "if-match": '"2"' },
      ip,
    });
    assertProblem(clash, 409, "meeting_conflict");
    assertEquals(clash.body.conflicts[0].user_id, guest.id);
  },
);

e2e(
  "DELETE /meetings/:id cancels (soft) with a reason, frees the slot, repeats safely",
  async () => {
    const org = await createUser("canceller");
    const guest = await createUser("guest");
    const start = future(16, 9);
    const created = await book(org.token, {
      title: "Cancel me",
      start,
      end: addMinutes(start, 30),
      time_zone: "UTC",
      attendees: [{ user_id: guest.id }],
    });
    const id = created.body.id;
    const byGuest = await api("DELETE", `/meetings/${id}`, { token: guest.token, ip });
    assertProblem(byGuest, 403, "not_organizer");
    const stale = await api("DELETE", `/meetings/${id}`, {
      token: org.token,
      headers: { "if-match": '"7"' },
      ip,
    });
    assertProblem(stale, 412, "version_mismatch");
    const tooLong = await api("DELETE", `/meetings/${id}?reason=${"x".repeat(1001)}`, {
      token: org.token,
      ip,
    });
    assertProblem(tooLong, 422, "validation_failed");
    assertEquals(fieldErrors(tooLong), ["reason"]);

    const cancelled = await api("DELETE", `/meetings/${id}`, {
      token: org.token,
      body: { reason: "Plans changed" },
      ip,
    });
    assertEquals(cancelled.status, 200, cancelled.text);
    assertEquals(cancelled.body.status, "cancelled");
    assertEquals(cancelled.body.cancel_reason, "Plans changed");
    const again = await api("DELETE", `/meetings/${id}?reason=Plans%20changed`, {
      token: org.token,
      ip,
    });
    assertEquals(again.status, 200, again.text);
    assertEquals(again.body.version, cancelled.body.version);
    // Still readable (soft delete), and the slot is free again.
    const read = await api("GET", `/meetings/${id}`, { token: guest.token, ip });
    assertEquals(read.body.status, "cancelled");
    const rebook = await book(guest.token, {
      title: "Mine",
      start,
      end: addMinutes(start, 30),
      time_zone: "UTC",
    });
    assertEquals(rebook.status, 201, rebook.text);
  },
);

e2e(
  "POST /meetings/:id/responses: attendees RSVP; organiser, strangers and bad values refused",
  async () => {
    const org = await createUser("host");
    const guest = await createUser("guest");
    const stranger = await createUser("stranger");
    const start = future(17, 9);
    const created = await book(org.token, {
      title: "RSVP",
      start,
      end: addMinutes(start, 30),
      time_zone: "UTC",
      attendees: [{ user_id: guest.id }],
    });
    const id = created.body.id;
    const path = `/meetings/${id}/responses`;
    const ok = await api("POST", path, { token: guest.token, body: { response: "declined" }, ip });
    assertEquals(ok.status, 200, ok.text);
    const mine = ok.body.attendees.find((a: { user_id: string }) => a.user_id === guest.id);
    assertEquals(mine.response_status, "declined");
    const bad = await api("POST", path, { token: guest.token, body: { response: "maybe" }, ip });
    assertProblem(bad, 422, "validation_failed");
    assertEquals(fieldErrors(bad), ["response"]);
    const organiser = await api("POST", path, {
      token: org.token,
      body: { response: "accepted" },
      ip,
    });
    assertProblem(organiser, 422, "organizer_cannot_respond");
    const outsider = await api("POST", path, {
      token: stranger.token,
      body: { response: "accepted" },
      ip,
    });
    assertProblem(outsider, 404, "meeting_not_found");
  },
);
