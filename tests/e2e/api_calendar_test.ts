// Calendar connections over HTTP: link, list, unlink, queue a sync; per
// provider validation; credentials stored encrypted and never returned.
import {
  adminSql,
  api,
  assertProblem,
  createUser,
  e2e,
  fieldErrors,
  freshIp,
} from "./_support/api.ts";
import { assert, assertEquals } from "./_support/assert.ts";
import {
  CalendarConnectionListSchema,
  CalendarConnectionSchema,
  SyncQueuedSchema,
} from "../../functions/api/schemas.ts";
import { LOCAL_CALENDAR_CREDENTIALS_KEY } from "../../scripts/lib/keys.ts";

const ip = freshIp();

e2e("POST /calendar/connections stores credentials encrypted; no route returns them", async () => {
  const me = await createUser("cal");
  const res = await api("POST", "/calendar/connections", {
    token: me.token,
    ip,
    body: {
      provider: "google",
      calendar_ref: "primary",
      display_name: "Work",
      priority: 10,
      credentials: { access_token: "ya29.secret-access", refresh_token: "1//secret-refresh" },
    },
  });
  assertEquals(res.status, 201, res.text);
  const c = CalendarConnectionSchema.parse(res.body);
  assertEquals([c.provider, c.calendar_ref, c.priority, c.status], [
    "google",
    "primary",
    10,
    "pending",
  ]);
  assert(c.next_attempt_at, "the first sync is due at once");
  assertEquals(res.headers.get("location"), `connections/${c.id}`);
  assert(!res.text.includes("secret"), "credentials echoed back");

  const [stored] = await adminSql()<{ secret: Uint8Array }[]>`
    select secret from private.calendar_credentials where connection_id = ${c.id}`;
  const raw = new TextDecoder("latin1").decode(stored.secret);
  assert(!raw.includes("secret-access") && !raw.includes("secret-refresh"), "stored in clear");
  const [plain] = await adminSql()<{ c: Record<string, string> }[]>`
    select private.read_calendar_credentials(${c.id}, ${LOCAL_CALENDAR_CREDENTIALS_KEY}) as c`;
  assertEquals(plain.c, { access_token: "ya29.secret-access", refresh_token: "1//secret-refresh" });
  let wrongKey = "";
  try {
    await adminSql()`select private.read_calendar_credentials(${c.id}, ${"x".repeat(40)})`;
  } catch (err) {
    wrongKey = (err as Error).message;
  }
  assert(/wrong key|corrupt/i.test(wrongKey), `decrypting with another key: ${wrongKey}`);

  const list = await api("GET", "/calendar/connections", { token: me.token, ip });
  assertEquals(list.status, 200, list.text);
  const parsed = CalendarConnectionListSchema.parse(list.body);
  assertEquals(parsed.connections.map((x) => x.id), [c.id]);
  assert(!list.text.includes("secret"));

  const dup = await api("POST", "/calendar/connections", {
    token: me.token,
    ip,
    body: {
      provider: "google",
      calendar_ref: "primary",
      credentials: { access_token: "a", refresh_token: "b" },
    },
  });
  assertProblem(dup, 409, "calendar_connection_exists");
  assertEquals(dup.body.connection_id, c.id);
});

e2e("POST /calendar/connections validates per provider and names each field", async () => {
  const me = await createUser("calval");
  const post = (body: unknown) =>
    api("POST", "/calendar/connections", { token: me.token, ip, body });

  const empty = await post({});
  assertProblem(empty, 422, "validation_failed");
  assertEquals(fieldErrors(empty).sort(), ["calendar_ref", "provider"]);

  const wrong = await post({ provider: "yahoo", calendar_ref: "", priority: 101, extra: true });
  assertEquals(fieldErrors(wrong).sort(), ["calendar_ref", "extra", "priority", "provider"]);

  const google = await post({ provider: "google", calendar_ref: "primary" });
  assertProblem(google, 422, "validation_failed");
  assertEquals(fieldErrors(google).sort(), [
    "credentials.access_token",
    "credentials.refresh_token",
  ]);

  const caldav = await post({
    provider: "caldav",
    calendar_ref: "not a url",
    credentials: { username: "me" },
  });
  assertEquals(fieldErrors(caldav).sort(), ["calendar_ref", "credentials.password"]);

  const ics = await post({ provider: "ics", calendar_ref: "webcal://example.com/cal.ics" });
  assertEquals(ics.status, 201, ics.text);
  assertEquals(ics.body.provider, "ics");
  const [{ n }] = await adminSql()<{ n: number }[]>`
    select count(*)::int as n from private.calendar_credentials where connection_id = ${ics.body.id}`;
  assertEquals(n, 0, "a public feed has no credentials row");

  const typed = await post({
    provider: "caldav",
    calendar_ref: "https://dav.example.com/cal/",
    credentials: { username: 1 },
  });
  assertProblem(typed, 422, "validation_failed");
  assertEquals(fieldErrors(typed), ["credentials.username"]);
});

e2e(
  "DELETE /calendar/connections/:id removes it and its credentials; others' are 404",
  async () => {
    const me = await createUser("calrm");
    const stranger = await createUser("calstranger");
    const created = await api("POST", "/calendar/connections", {
      token: me.token,
      ip,
      body: {
        provider: "caldav",
        calendar_ref: "https://dav.example.com/me/work/",
        credentials: { username: "me", password: "hunter2" },
      },
    });
    assertEquals(created.status, 201, created.text);
    const id = created.body.id;
    const theirs = await api("DELETE", `/calendar/connections/${id}`, {
      token: stranger.token,
      ip,
    });
    assertProblem(theirs, 404, "calendar_connection_not_found");
    const gone = await api("DELETE", `/calendar/connections/${id}`, { token: me.token, ip });
    assertEquals(gone.status, 200, gone.text);
    assertEquals(gone.body.deleted, true);
    const [{ n }] = await adminSql()<{ n: number }[]>`
    select count(*)::int as n from private.calendar_credentials where connection_id = ${id}`;
    assertEquals(n, 0);
    const again = await api("DELETE", `/calendar/connections/${id}`, { token: me.token, ip });
    assertProblem(again, 404, "calendar_connection_not_found");
    const bad = await api("DELETE", "/calendar/connections/42", { token: me.token, ip });
    assertProblem(bad, 422, "validation_failed");
  },
);

e2e("POST /calendar/sync queues all my connections, or one; never someone else's", async () => {
  const me = await createUser("calsync");
  const other = await createUser("calother");
  const make = async (user: typeof me, ref: string) => {
    const r = await api("POST", "/calendar/connections", {
      token: user.token,
      ip,
      body: { provider: "ics", calendar_ref: `https://example.com/${ref}.ics` },
    });
    assertEquals(r.status, 201, r.text);
    return r.body.id as string;
  };
  const a = await make(me, "a");
  const b = await make(me, "b");
  const theirs = await make(other, "c");
  await adminSql()`update public.calendar_connections set next_attempt_at = now() + interval '1 hour'`;

  const all = await api("POST", "/calendar/sync", { token: me.token, ip });
  assertEquals(all.status, 202, all.text);
  const q = SyncQueuedSchema.parse(all.body);
  assertEquals(q.queued.map((c) => c.id).sort(), [a, b].sort());
  const [due] = await adminSql()<{ n: number }[]>`
    select count(*)::int as n from public.calendar_connections
    where id in (${a}, ${b}) and next_attempt_at <= now()`;
  assertEquals(due.n, 2);
  const [notTheirs] = await adminSql()<{ later: boolean }[]>`
    select next_attempt_at > now() as later from public.calendar_connections where id = ${theirs}`;
  assertEquals(notTheirs.later, true);

  const one = await api("POST", "/calendar/sync", {
    token: me.token,
    ip,
    body: { connection_id: a },
  });
  assertEquals(one.body.queued.map((c: { id: string }) => c.id), [a]);
  const foreign = await api("POST", "/calendar/sync", {
    token: me.token,
    ip,
    body: { connection_id: theirs },
  });
  assertProblem(foreign, 404, "calendar_connection_not_found");
  const bad = await api("POST", "/calendar/sync", {
    token: me.token,
    ip,
    body: { connection_id: "x" },
  });
  assertProblem(bad, 422, "validation_failed");
  assertEquals(fieldErrors(bad), ["connection_id"]);
});
