// The whole sync against the real database: the worker claims a connection,
// pulls from a provider (local API servers, a real Radicale, an ICS server),
// stores busy time that availability subtracts, pushes booked meetings to
// the calendar and never takes them back as foreign busy time; priorities,
// warnings, backoff with Retry-After, error status with one alert e-mail,
// token refresh stored encrypted, and the health view per actor.
import postgres from "postgres";
import { assert, assertEquals } from "../functions/_calendar_assert.ts";
import { adminDb, asUser, authenticatorDb, createUser, env, type TestUser } from "./_support/db.ts";
import { FakeGoogle } from "./_support/fake_google.ts";
import { FakeGraph } from "./_support/fake_graph.ts";
import { IcsServer } from "./_support/ics_server.ts";
import { startRadicale } from "./_support/radicale.ts";
import { fakeEndpoints } from "./_support/calendar.ts";
import { runDueSyncs, type SyncOutcome } from "../../functions/_shared/calendar/worker.ts";
import type { Endpoints } from "../../functions/_shared/calendar/connection.ts";
import { CALENDAR_KEY } from "./_support/calendar_key.ts";

const DAY = 86_400_000;
// A week from now at 00:00Z: inside the sync window whatever today is.
const BASE = Math.floor((Date.now() + 7 * DAY) / DAY) * DAY;
const at = (days: number, hours: number) =>
  new Date(BASE + days * DAY + hours * 3600_000).toISOString();

function sql() {
  return postgres(env("DB_URL"), { max: 2, onnotice: () => {} });
}

// A connection as its owner makes it (the API's function), kept from the
// stack's own worker: it is not due until a sync is asked for or a meeting
// change makes it due. The stack's worker (woken by the database) and this
// suite's runs may then both sync it; leases keep them apart, and the
// assertions below look at the outcome in the database and at the provider.
async function connect(
  user: TestUser,
  provider: string,
  calendarRef: string,
  credentials: Record<string, unknown> | null,
  priority = 0,
): Promise<string> {
  const admin = adminDb(1);
  try {
    return await admin.begin(async (tx) => {
      await tx`select set_config('role', 'authenticated', true),
        set_config('request.jwt.claims', ${
        JSON.stringify({ sub: user.id, role: "authenticated", email: user.email })
      }, true)`;
      const [{ c }] = await tx<{ c: { id: string } }[]>`
        select public.create_calendar_connection(
          p_provider => ${provider}, p_calendar_ref => ${calendarRef},
          p_credentials => ${credentials ? tx.json(credentials as postgres.JSONValue) : null},
          p_encryption_key => ${credentials ? CALENDAR_KEY : null},
          p_priority => ${priority}, p_display_name => ${provider}) as c`;
      await tx`reset role`;
      await tx`update public.calendar_connections set next_attempt_at = 'infinity' where id = ${c.id}`;
      return c.id;
    }) as string;
  } finally {
    await admin.end();
  }
}

// Sync now: wait while another worker holds the connection, then run.
async function sync(db: postgres.Sql, endpoints: Endpoints, id: string): Promise<SyncOutcome> {
  for (let i = 0; i < 200; i++) {
    const [outcome] = await runDueSyncs(
      { sql: db, endpoints, credentialsKey: CALENDAR_KEY, sleep: () => Promise.resolve() },
      { connectionIds: [id] },
    );
    if (outcome) return outcome;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`connection ${id} stayed leased by another worker`);
}

async function busyOf(admin: postgres.Sql, user: TestUser) {
  const rows = await admin<{ start: Date; end: Date }[]>`
    select lower(range) as start, upper(range) as end from private.external_busy
    where user_id = ${user.id} order by lower(range)`;
  return rows.map((r) => [r.start.toISOString(), r.end.toISOString()]);
}

async function book(user: TestUser, start: string, end: string, title = "Sync review") {
  const db = authenticatorDb(1);
  try {
    return await asUser(db, user, async (tx) => {
      const [{ m }] = await tx<{ m: { id: string; version: number } }[]>`
        select public.book_meeting(p_title => ${title}, p_start => ${start}, p_end => ${end},
                                   p_time_zone => 'Europe/Berlin') as m`;
      return m;
    });
  } finally {
    await db.end();
  }
}

Deno.test("google: pull to busy time, push our meeting, never read it back as foreign", async () => {
  const admin = adminDb();
  const db = sql();
  // The port the stack's worker uses too: whichever worker syncs, it is
  // this server it talks to.
  const google = new FakeGoogle(Number(env("CALENDAR_FAKE_GOOGLE_PORT")));
  try {
    const user = await createUser(admin, "gsync", "Europe/Berlin");
    google.put("primary", {
      id: "standup",
      start: { dateTime: at(0, 9) },
      end: { dateTime: at(0, 10) },
    });
    google.put("primary", {
      id: "lunch-free",
      transparency: "transparent",
      start: { dateTime: at(0, 12) },
      end: { dateTime: at(0, 13) },
    });
    const id = await connect(user, "google", "primary", {
      access_token: google.accessToken,
      refresh_token: google.refreshToken,
    });
    const endpoints = fakeEndpoints(google, null);
    const first = await sync(db, endpoints, id);
    assert(first.ok, first.error);
    assertEquals(await busyOf(admin, user), [[at(0, 9), at(0, 10)]]);

    // Our meeting goes to Google, carrying our id; pulled back, it is ours.
    const meeting = await book(user, at(1, 14), at(1, 15));
    const second = await sync(db, endpoints, id);
    assert(second.ok, second.error);
    const pushed = [...google.calendars.get("primary")!.values()].find((e) =>
      e.extendedProperties?.private?.schedulerMeetingId === meeting.id
    );
    assert(pushed, "the meeting is in Google");
    const third = await sync(db, endpoints, id);
    assert(third.ok, JSON.stringify(third));
    assertEquals(
      await busyOf(admin, user),
      [[at(0, 9), at(0, 10)]],
      "our meeting is not foreign busy",
    );
    const [mapping] =
      await admin`select external_id, etag, pushed_version from private.calendar_pushed_events
      where meeting_id = ${meeting.id}`;
    assertEquals(mapping.external_id, pushed.id);

    // Moved here: patched there with If-Match.
    const uc = authenticatorDb(1);
    await asUser(
      uc,
      user,
      (tx) =>
        tx`select public.reschedule_meeting(${meeting.id}, ${meeting.version}, ${at(1, 16)}, ${
          at(1, 17)
        })`,
    );
    await uc.end();
    const fourth = await sync(db, endpoints, id);
    assert(fourth.ok, JSON.stringify(fourth));
    const patch = google.requests.find((r) => r.method === "PATCH")!;
    assertEquals(patch.ifMatch, mapping.etag);
    const moved = google.calendars.get("primary")!.get(pushed.id)!;
    assertEquals(Date.parse(moved.start.dateTime!), Date.parse(at(1, 16)));

    // Cancelled here: deleted there, mapping gone.
    const uc2 = authenticatorDb(1);
    await asUser(uc2, user, (tx) => tx`select public.cancel_meeting(${meeting.id})`);
    await uc2.end();
    const fifth = await sync(db, endpoints, id);
    assert(fifth.ok, JSON.stringify(fifth));
    assertEquals(google.calendars.get("primary")!.get(pushed.id)!.status, "cancelled");
    assertEquals(
      (await admin`select 1 from private.calendar_pushed_events where meeting_id = ${meeting.id}`)
        .length,
      0,
    );
  } finally {
    await google.close();
    await db.end();
    await admin.end();
  }
});

Deno.test("failures back off (Retry-After honoured), then error status and one alert e-mail", async () => {
  const admin = adminDb();
  const db = sql();
  const google = new FakeGoogle();
  try {
    const user = await createUser(admin, "gfail", "UTC");
    const id = await connect(user, "google", "primary", {
      access_token: google.accessToken,
      refresh_token: google.refreshToken,
    });
    const endpoints = fakeEndpoints(google, null);
    google.failNext({ status: 429, retryAfter: "3600" });
    const limited = await sync(db, endpoints, id);
    assert(!limited.ok, "failed");
    const [c1] =
      await admin`select status, consecutive_failures, next_attempt_at - now() as wait, last_error
      from public.calendar_connections where id = ${id}`;
    assertEquals(c1.consecutive_failures, 1);
    assert(/429/.test(c1.last_error), c1.last_error);
    const [w] = await admin`select extract(epoch from next_attempt_at - now()) as s
      from public.calendar_connections where id = ${id}`;
    assert(Number(w.s) >= 3590, `retry in ${w.s}s, not before Retry-After`);

    // Each failure asks for an hour's wait, so no worker tries again within
    // this test: five runs, five failures.
    for (let i = 0; i < 4; i++) google.failNext({ status: 503, retryAfter: "3600" });
    for (let i = 0; i < 4; i++) await sync(db, endpoints, id);
    const [c2] =
      await admin`select status, consecutive_failures from public.calendar_connections where id = ${id}`;
    assertEquals([c2.status, c2.consecutive_failures], ["error", 5]);
    const alerts = await admin`select kind, recipient_email, payload from private.email_outbox
      where recipient_user_id = ${user.id} and kind = 'calendar_sync_failed'`;
    assertEquals(alerts.length, 1);
    assertEquals(alerts[0].payload.connection_id, id);
    assert(
      !JSON.stringify(alerts[0].payload).includes(google.refreshToken),
      "no secret in the alert",
    );
    // The e-mail sender (woken by the outbox) delivers it to the dev mailbox.
    const mailbox = Deno.env.get("MAILBOX_URL");
    if (mailbox) {
      let delivered: { to: string; subject: string } | undefined;
      for (let i = 0; i < 100 && !delivered; i++) {
        const list = await (await fetch(`${mailbox}/messages`)).json();
        delivered = list.find((m: { metadata: Record<string, string> }) =>
          m.metadata?.connection_id === id
        );
        if (!delivered) await new Promise((r) => setTimeout(r, 100));
      }
      assert(delivered, "the alert e-mail was delivered");
      assert(delivered.to.includes(user.email), delivered.to);
      assert(/stopped syncing/.test(delivered.subject), delivered.subject);
    }

    // A sixth failure sends no second alert; a success clears the episode.
    google.failNext({ status: 503, retryAfter: "3600" });
    await sync(db, endpoints, id);
    assertEquals(
      (await admin`select 1 from private.email_outbox where recipient_user_id = ${user.id}
      and kind = 'calendar_sync_failed'`).length,
      1,
    );
    const ok = await sync(db, endpoints, id);
    assert(ok.ok, ok.error);
    const [c3] =
      await admin`select status, consecutive_failures, last_error from public.calendar_connections
      where id = ${id}`;
    assertEquals([c3.status, c3.consecutive_failures, c3.last_error], ["active", 0, null]);
  } finally {
    await google.close();
    await db.end();
    await admin.end();
  }
});

Deno.test("a refreshed token is stored encrypted; a revoked one puts the connection in error", async () => {
  const admin = adminDb();
  const db = sql();
  const graph = new FakeGraph();
  try {
    const user = await createUser(admin, "msync", "America/New_York");
    graph.put("work", {
      id: "review",
      isAllDay: false,
      showAs: "busy",
      type: "singleInstance",
      start: { dateTime: at(2, 15).replace("Z", ""), timeZone: "UTC" },
      end: { dateTime: at(2, 16).replace("Z", ""), timeZone: "UTC" },
    });
    const id = await connect(user, "outlook", "work", {
      access_token: "stale",
      refresh_token: graph.refreshToken,
    });
    const endpoints = fakeEndpoints(null, graph);
    const first = await sync(db, endpoints, id);
    assert(first.ok, first.error);
    assertEquals(await busyOf(admin, user), [[at(2, 15), at(2, 16)]]);
    const [{ c }] = await db`select private.read_calendar_credentials(${id}, ${CALENDAR_KEY}) as c`;
    assertEquals([c.access_token, c.refresh_token], [graph.accessToken, graph.refreshToken]);
    const [raw] =
      await admin`select secret from private.calendar_credentials where connection_id = ${id}`;
    assert(!new TextDecoder().decode(raw.secret).includes(graph.refreshToken), "stored encrypted");

    graph.expireAccessToken();
    graph.refreshToken = "revoked-elsewhere";
    const revoked = await sync(db, endpoints, id);
    assert(!revoked.ok && revoked.status === "error", JSON.stringify(revoked));
  } finally {
    await graph.close();
    await db.end();
    await admin.end();
  }
});

Deno.test("priority: the higher source decides the same time; warnings name external conflicts", async () => {
  const admin = adminDb();
  const db = sql();
  const feeds = new IcsServer();
  try {
    const user = await createUser(admin, "prio", "UTC");
    const ics = (uid: string, start: string, end: string, transp = "OPAQUE") =>
      `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20260101T000000Z\r\n` +
      `DTSTART:${start.replace(/[-:]|\.\d{3}/g, "")}\r\nDTEND:${
        end.replace(/[-:]|\.\d{3}/g, "")
      }\r\n` +
      `TRANSP:${transp}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;
    feeds.set("low.ics", ics("a", at(3, 9), at(3, 10)));
    feeds.set("high.ics", ics("b", at(3, 9), at(3, 10), "TRANSPARENT"));
    const low = await connect(user, "ics", feeds.url("low.ics"), null, 10);
    const high = await connect(user, "ics", feeds.url("high.ics"), null, 50);
    const endpoints = fakeEndpoints(null, null);
    assert((await sync(db, endpoints, low)).ok);
    assertEquals(await busyOf(admin, user), [[at(3, 9), at(3, 10)]]);
    assert((await sync(db, endpoints, high)).ok);
    assertEquals(await busyOf(admin, user), [], "the higher-priority feed says free");

    // Lowering its priority hands the decision back.
    await admin`update public.calendar_connections set priority = 0 where id = ${high}`;
    assertEquals(await busyOf(admin, user), [[at(3, 9), at(3, 10)]]);

    // A meeting booked over the external event carries a warning.
    const meeting = await book(user, at(3, 9), at(3, 11), "Overlaps");
    const reader = authenticatorDb(1);
    const view = await asUser(reader, user, async (tx) => {
      const [{ m }] = await tx`select public.get_meeting(${meeting.id}) as m`;
      return m;
    });
    await reader.end();
    assertEquals(view.calendar_warnings, [{
      code: "external_calendar_conflict",
      user_id: user.id,
      message: "busy in a connected calendar during the meeting",
      start: at(3, 9).replace(".000Z", "+00:00"),
      end: at(3, 10).replace(".000Z", "+00:00"),
    }]);
  } finally {
    await feeds.close();
    await db.end();
    await admin.end();
  }
});

Deno.test("caldav through the worker: Radicale events become busy time; our meeting goes there", async () => {
  const admin = adminDb();
  const db = sql();
  const radicale = await startRadicale();
  try {
    const user = await createUser(admin, "dav", "Europe/Paris");
    const url = `${radicale.url}/alice/${crypto.randomUUID()}/`;
    const { CalDavClient } = await import("../../functions/_shared/calendar/caldav.ts");
    const direct = new CalDavClient(url, { username: "alice", password: "alice-password" });
    await direct.makeCalendar("Work");
    const stamp = (iso: string) => iso.replace(/[-:]|\.\d{3}/g, "");
    await direct.put(
      `${url}ext.ics`,
      `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\nUID:ext\r\nDTSTAMP:20260101T000000Z\r\n` +
        `DTSTART:${stamp(at(4, 8))}\r\nDTEND:${
          stamp(at(4, 9))
        }\r\nRRULE:FREQ=DAILY;COUNT=2\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`,
      { create: true },
    );
    const id = await connect(user, "caldav", url, {
      username: "alice",
      password: "alice-password",
    });
    const endpoints = fakeEndpoints(null, null);
    await book(user, at(6, 10), at(6, 11));
    const first = await sync(db, endpoints, id);
    assert(first.ok, JSON.stringify(first));
    assertEquals(await busyOf(admin, user), [[at(4, 8), at(4, 9)], [at(5, 8), at(5, 9)]]);
    assertEquals(Object.keys(await direct.listEtags()).length, 2, "our meeting was written");
    const second = await sync(db, endpoints, id);
    assert(second.ok, second.error);
    assertEquals((await busyOf(admin, user)).length, 2, "and does not come back as foreign");
    await direct.delete(`${url}ext.ics`, null);
    assert((await sync(db, endpoints, id)).ok);
    assertEquals(await busyOf(admin, user), []);
  } finally {
    await radicale.stop();
    await db.end();
    await admin.end();
  }
});

Deno.test("health view: the owner sees their connections, others none, service_role all", async () => {
  const admin = adminDb();
  const feeds = new IcsServer();
  try {
    const owner = await createUser(admin, "health-owner", "UTC");
    const other = await createUser(admin, "health-other", "UTC");
    feeds.set("x.ics", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n");
    const id = await connect(owner, "ics", feeds.url("x.ics"), null);
    const reader = authenticatorDb(1);
    const mine = await asUser(
      reader,
      owner,
      (tx) => tx`select connection_id, status from public.calendar_sync_health`,
    );
    const theirs = await asUser(
      reader,
      other,
      (tx) => tx`select connection_id from public.calendar_sync_health`,
    );
    await reader.end();
    assertEquals(mine.map((r) => r.connection_id), [id]);
    assertEquals(theirs.length, 0);
    const service = await admin.begin(async (tx) => {
      await tx`select set_config('role', 'service_role', true),
                      set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
      return await tx`select connection_id from public.calendar_sync_health where connection_id = ${id}`;
    });
    assertEquals(service.length, 1);
  } finally {
    await feeds.close();
    await admin.end();
  }
});

Deno.test("availability: synced busy time is not offered", async () => {
  const admin = adminDb();
  const db = sql();
  const feeds = new IcsServer();
  try {
    const user = await createUser(admin, "avail", "UTC");
    // The first Monday at least a week ahead: inside the default working
    // hours (Monday to Friday, 09:00-17:00 in the user's zone).
    let monday = BASE;
    while (new Date(monday).getUTCDay() !== 1) monday += DAY;
    const iso = (h: number) => new Date(monday + h * 3600_000).toISOString();
    const stamp = (h: number) => iso(h).replace(/[-:]|\.\d{3}/g, "");
    feeds.set(
      "work.ics",
      `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\nUID:ext-1\r\nDTSTAMP:20260101T000000Z\r\n` +
        `DTSTART:${stamp(10)}\r\nDTEND:${stamp(11)}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`,
    );
    const slots = async () => {
      const reader = authenticatorDb(1);
      try {
        return await asUser(reader, user, async (tx) => {
          const [{ a }] = await tx`select public.get_availability(${[user.id]}::uuid[], ${iso(9)},
            ${iso(12)}, 60, 60, 'UTC') as a`;
          return (a.slots as { start: string }[]).map((s) => new Date(s.start).toISOString());
        });
      } finally {
        await reader.end();
      }
    };
    assertEquals(await slots(), [iso(9), iso(10), iso(11)]);
    const id = await connect(user, "ics", feeds.url("work.ics"), null);
    assert((await sync(db, fakeEndpoints(null, null), id)).ok);
    assertEquals(await slots(), [iso(9), iso(11)], "the external event's hour is not offered");
  } finally {
    await feeds.close();
    await db.end();
    await admin.end();
  }
});
