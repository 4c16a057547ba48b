// The calendar Edge Functions as the stack serves them: calendar-sync only
// for the service role, syncing through the providers the stack points it
// at (our local Google server on the port the stack chose); the webhook's
// Graph validation handshake and notifications for Google and Graph, which
// mark a connection due only with the channel's secret; and the API's
// POST /calendar/sync, after which the worker picks the connection up.
import postgres from "postgres";
import { assert, assertEquals } from "../functions/_calendar_assert.ts";
import { adminDb, asUser, authenticatorDb, createUser, env, type TestUser } from "./_support/db.ts";
import { FakeGoogle } from "./_support/fake_google.ts";
import { FakeGraph } from "./_support/fake_graph.ts";
import { fakeEndpoints } from "./_support/calendar.ts";
import { runDueSyncs } from "../../functions/_shared/calendar/worker.ts";
import { CALENDAR_KEY } from "./_support/calendar_key.ts";
import { userToken } from "./_support/api.ts";

const FUNCTIONS = env("FUNCTIONS_URL");
const SERVICE_KEY = env("SUPABASE_SERVICE_ROLE_KEY");
const ANON_KEY = env("SUPABASE_ANON_KEY");
const DAY = 86_400_000;
const BASE = Math.floor((Date.now() + 10 * DAY) / DAY) * DAY;
const at = (days: number, hours: number) =>
  new Date(BASE + days * DAY + hours * 3600_000).toISOString();

async function connectGoogle(user: TestUser, google: FakeGoogle): Promise<string> {
  const db = authenticatorDb(1);
  try {
    return await asUser(db, user, async (tx) => {
      const [{ c }] = await tx<{ c: { id: string } }[]>`
        select public.create_calendar_connection(
          p_provider => 'google', p_calendar_ref => 'primary',
          p_credentials => ${
        tx.json({ access_token: google.accessToken, refresh_token: google.refreshToken })
      },
          p_encryption_key => ${CALENDAR_KEY}) as c`;
      return c.id;
    });
  } finally {
    await db.end();
  }
}

function callSync(key: string, body: unknown) {
  return fetch(`${FUNCTIONS}/calendar-sync`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

// The connection is synced by whichever worker run gets to it first (ours,
// or one the database woke): wait for the outcome in the database.
async function waitForSync(admin: postgres.Sql, id: string, after: Date) {
  for (let i = 0; i < 100; i++) {
    const [c] =
      await admin`select status, last_synced_at, last_error from public.calendar_connections
      where id = ${id}`;
    if (c.last_synced_at && c.last_synced_at >= after) return c;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`connection ${id} was not synced`);
}

Deno.test("calendar-sync: service role only; syncs through the stack's Google endpoint", async () => {
  const admin = adminDb();
  const google = new FakeGoogle(Number(env("CALENDAR_FAKE_GOOGLE_PORT")));
  try {
    const anon = await callSync(ANON_KEY, {});
    assertEquals(anon.status, 403);
    await anon.body?.cancel();
    const noKey = await fetch(`${FUNCTIONS}/calendar-sync`, { method: "POST" });
    assertEquals(noKey.status, 401);
    await noKey.body?.cancel();
    const bad = await callSync(SERVICE_KEY, { connection_ids: ["nope"], limit: 0 });
    assertEquals(bad.status, 422);
    assertEquals((await bad.json()).errors.map((e: { field: string }) => e.field), [
      "connection_ids",
      "limit",
    ]);

    const user = await createUser(admin, "fnsync", "Europe/Berlin");
    google.put("primary", {
      id: "ext",
      start: { dateTime: at(0, 9) },
      end: { dateTime: at(0, 10) },
    });
    const before = new Date();
    const id = await connectGoogle(user, google);
    const res = await callSync(SERVICE_KEY, { connection_ids: [id] });
    assertEquals(res.status, 200);
    await res.body?.cancel();
    const c = await waitForSync(admin, id, before);
    assertEquals([c.status, c.last_error], ["active", null]);
    const busy =
      await admin`select lower(range) as s from private.external_busy where user_id = ${user.id}`;
    assertEquals(busy.map((b) => b.s.toISOString()), [at(0, 9)]);
  } finally {
    await google.close();
    await admin.end();
  }
});

Deno.test("push channels: a sync opens a Google channel; Google's notification makes it due", async () => {
  const admin = adminDb();
  const google = new FakeGoogle(Number(env("CALENDAR_FAKE_GOOGLE_PORT")));
  try {
    const user = await createUser(admin, "watch", "UTC");
    const before = new Date();
    const id = await connectGoogle(user, google);
    const res = await callSync(SERVICE_KEY, { connection_ids: [id] });
    await res.body?.cancel();
    await waitForSync(admin, id, before);
    const channel = google.channels.at(-1)!;
    assertEquals(channel.address, `${FUNCTIONS}/calendar-webhook`);
    const [stored] = await admin`select channel_id, provider from private.calendar_channels
      where connection_id = ${id}`;
    assertEquals([stored.channel_id, stored.provider], [channel.id, "google"]);

    await admin`update public.calendar_connections set next_attempt_at = now() + interval '1 hour'
      where id = ${id}`;
    assertEquals(await google.notifyChannels("primary"), [200]);
    const [c] = await admin`select next_attempt_at <= now() as due from public.calendar_connections
      where id = ${id}`;
    assertEquals(c.due, true);
  } finally {
    await google.close();
    await admin.end();
  }
});

Deno.test("push channels: a Graph subscription passes validation and its notifications arrive", async () => {
  const admin = adminDb();
  const graph = new FakeGraph();
  const db = postgres(env("DB_URL"), { max: 2, onnotice: () => {} });
  try {
    const user = await createUser(admin, "subscribe", "UTC");
    const conn = authenticatorDb(1);
    const id = await asUser(conn, user, async (tx) => {
      const [{ c }] = await tx<{ c: { id: string } }[]>`
        select public.create_calendar_connection('outlook', 'work',
          ${tx.json({ access_token: graph.accessToken, refresh_token: graph.refreshToken })},
          ${CALENDAR_KEY}) as c`;
      return c.id;
    });
    await conn.end();
    const [outcome] = await runDueSyncs({
      sql: db,
      endpoints: fakeEndpoints(null, graph),
      credentialsKey: CALENDAR_KEY,
      webhookUrl: `${FUNCTIONS}/calendar-webhook`,
    }, { connectionIds: [id] });
    assert(outcome.ok && !outcome.channelError, JSON.stringify(outcome));
    assertEquals(graph.subscriptions.length, 1, "validated and created");
    await admin`update public.calendar_connections set next_attempt_at = now() + interval '1 hour'
      where id = ${id}`;
    assertEquals(await graph.notifySubscriptions(), [202]);
    const [c] = await admin`select next_attempt_at <= now() as due from public.calendar_connections
      where id = ${id}`;
    assertEquals(c.due, true);
  } finally {
    await db.end();
    await graph.close();
    await admin.end();
  }
});

Deno.test("webhook: Graph's validation handshake is echoed in plain text", async () => {
  const res = await fetch(
    `${FUNCTIONS}/calendar-webhook?validationToken=Validation%3A%20abc%20123`,
    {
      method: "POST",
    },
  );
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "text/plain");
  assertEquals(await res.text(), "Validation: abc 123");
});

Deno.test("webhook: notifications mark the connection due only with the channel's secret", async () => {
  const admin = adminDb();
  try {
    const user = await createUser(admin, "hook", "UTC");
    // Made and put out of the workers' way in one transaction, so that no
    // sync can reschedule it while the notifications are checked.
    const id = await admin.begin(async (tx) => {
      await tx`select set_config('role', 'authenticated', true),
        set_config('request.jwt.claims', ${
        JSON.stringify({ sub: user.id, role: "authenticated" })
      }, true)`;
      const [{ c }] = await tx`select public.create_calendar_connection('ics',
        'https://feeds.example/hook.ics') as c`;
      await tx`reset role`;
      await tx`update public.calendar_connections set next_attempt_at = 'infinity' where id = ${c.id}`;
      return c.id as string;
    }) as string;
    await admin`insert into private.calendar_channels (channel_id, connection_id, provider, secret)
      values (${`g-${id}`}, ${id}, 'google', 'google-channel-secret-123'),
             (${`m-${id}`}, ${id}, 'outlook', 'graph-client-state-456')`;
    const due = async () =>
      (await admin`select next_attempt_at <= now() as due from public.calendar_connections where id = ${id}`)[
        0
      ]
        .due;

    const wrong = await fetch(`${FUNCTIONS}/calendar-webhook`, {
      method: "POST",
      headers: {
        "X-Goog-Channel-ID": `g-${id}`,
        "X-Goog-Channel-Token": "guessed",
        "X-Goog-Resource-State": "exists",
      },
    });
    assertEquals(wrong.status, 200);
    await wrong.body?.cancel();
    assertEquals(await due(), false, "a wrong token changes nothing");

    const graph = await fetch(`${FUNCTIONS}/calendar-webhook`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        value: [{
          subscriptionId: `m-${id}`,
          clientState: "graph-client-state-456",
          changeType: "updated",
        }],
      }),
    });
    assertEquals(graph.status, 202);
    await graph.body?.cancel();
    assertEquals(
      await due(),
      true,
      "a Graph change notification with its clientState marks it due",
    );

    const broken = await fetch(`${FUNCTIONS}/calendar-webhook`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{not json",
    });
    assertEquals(broken.status, 400);
    await broken.body?.cancel();
  } finally {
    await admin.end();
  }
});

Deno.test("POST /calendar/sync through the API marks the connection due; the worker syncs it", async () => {
  const admin = adminDb();
  const google = new FakeGoogle(Number(env("CALENDAR_FAKE_GOOGLE_PORT")));
  try {
    const user = await createUser(admin, "apisync", "UTC");
    const id = await connectGoogle(user, google);
    await admin`update public.calendar_connections set next_attempt_at = now() + interval '1 hour'
      where id = ${id}`;
    const token = await userToken(user.id, user.email);
    const before = new Date();
    const res = await fetch(`${env("API_URL")}/calendar/sync`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ connection_id: id }),
    });
    assert(res.status < 300, `API answered ${res.status}: ${await res.clone().text()}`);
    await res.body?.cancel();
    // Runs take the due connections oldest first; other suites' connections
    // may be due too, so run until ours has had its turn.
    for (let i = 0; i < 20; i++) {
      const run = await callSync(SERVICE_KEY, { limit: 50 });
      const { synced } = await run.json();
      if (
        synced.some((o: { connectionId: string }) => o.connectionId === id) || synced.length === 0
      ) break;
    }
    const c = await waitForSync(admin, id, before);
    assertEquals(c.status, "active");
  } finally {
    await google.close();
    await admin.end();
  }
});
