// The sender against a local Postmark-compatible server with injected
// failures: happy path (batch and single), retries with backoff, permanent
// failures, dead letters, cancellation before send, reschedules moving
// reminders, reminder timing under a pinned clock, two senders at once, a
// sender killed between claim and record, and the duplicate window that
// remains. The sender is the Edge Function's own code (functions/_shared/
// email) on the function's own database connection (DB_URL, role postgres).
import postgres from "postgres";
import ICAL from "ical.js";
import { adminDb, asUser, authenticatorDb, createUser, env } from "./_support/db.ts";
import { PostmarkTestServer } from "./_support/postmark_test_server.ts";
import { assert, book, outbox, recordWakeups, send, sleep } from "./_support/email.ts";

const admin = adminDb(4);
const sql = postgres(env("DB_URL"), { max: 6, onnotice: () => {}, prepare: false });
const api = authenticatorDb(4);
const server = new PostmarkTestServer();
const wakeups = await recordWakeups(admin);
// From here on wake-ups reach the recorder, not the stack's own sender; a
// run of it woken just before (by an earlier suite's bookings) may still be
// waiting out its settle time and would claim these tests' mail. Let it end.
await sleep(3000);
const t = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

// Whatever earlier suites left due goes out first, so that the requests
// these tests inject failures into carry only their own mail.
await send(sql, server);
server.reset();

const organizer = await createUser(admin, "mail-organiser", "Europe/Berlin");
const guestA = await createUser(admin, "mail-guest-a", "America/New_York");
const guestB = await createUser(admin, "mail-guest-b", "Asia/Kolkata");
await admin`update public.profiles set locale = 'de' where id = ${guestB.id}`;

t(
  "happy path: confirmations leave in one batch, MessageID and outbox id recorded, sender woken",
  async () => {
    server.reset();
    wakeups.wakes.length = 0;
    // Wake-ups are coalesced per second; the previous suite's last one may
    // have taken this second (and gone to the stack's own sender).
    await sleep(1100);
    const m = await book(api, organizer, {
      attendees: [guestA.email, guestB.email, "outside@guest.test"],
    });
    const rows = await outbox(admin, m.id);
    const confirmations = rows.filter((r) => r.kind === "confirmation");
    assert(confirmations.length === 4, `4 confirmations queued, got ${confirmations.length}`);

    for (let i = 0; i < 50 && wakeups.wakes.length === 0; i++) await sleep(100);
    assert(wakeups.wakes.length >= 1, "the outbox trigger woke the sender through pg_net");
    assert(wakeups.wakes[0].path === "/functions/v1/email-sender", `path ${wakeups.wakes[0].path}`);
    assert(
      wakeups.wakes[0].authorization === `Bearer ${env("SUPABASE_SERVICE_ROLE_KEY")}`,
      "the wake-up carries the service_role key from Vault",
    );

    const summary = await send(sql, server);
    assert(summary.sent >= 4, `sent ${JSON.stringify(summary)}`);
    assert(
      server.requests.length === 1 && server.requests[0].path === "/email/batch",
      "one batch call",
    );
    assert(server.requests[0].token === server.token, "server token sent");
    const after = await outbox(admin, m.id);
    for (const r of after.filter((x) => x.kind === "confirmation")) {
      const msg = server.acceptedFor([r.id]);
      assert(msg.length === 1, `exactly one message for outbox ${r.id}`);
      assert(r.status === "sent" && r.provider_message_id === msg[0].id, "MessageID recorded");
      assert(String(msg[0].message.To).includes(r.recipient_email), "sent to the row's recipient");
    }
    const german = server.acceptedFor(
      after.filter((r) => r.recipient_email === guestB.email).map((r) => r.id),
    )[0];
    assert(
      String(german.message.Subject).startsWith("Einladung: "),
      `German subject: ${german.message.Subject}`,
    );
    assert(
      String(german.message.TextBody).includes("India Standard Time") ||
        String(german.message.TextBody).includes("Indische Normalzeit"),
      "guest B's zone named",
    );
    const att = (german.message.Attachments as { Content: string }[])[0];
    const ics = new TextDecoder().decode(
      Uint8Array.from(atob(att.Content), (c) => c.charCodeAt(0)),
    );
    const event = new ICAL.Event(
      new ICAL.Component(ICAL.parse(ics)).getFirstSubcomponent("vevent")!,
    );
    assert(
      event.uid === `meeting-${m.id}@scheduler.test` && event.sequence === 1,
      "UID and SEQUENCE",
    );
    // The reminders wait for their moment.
    assert(
      after.filter((r) => r.kind.startsWith("reminder")).every((r) => r.status === "scheduled"),
      "reminders wait",
    );
  },
);

t("a single due notice goes through /email", async () => {
  server.reset();
  const m = await book(api, organizer, {});
  await send(sql, server);
  const [row] = (await outbox(admin, m.id)).filter((r) => r.kind === "confirmation");
  assert(row.status === "sent", `status ${row.status}`);
  assert(
    server.requests.length === 1 && server.requests[0].path === "/email",
    JSON.stringify(server.requests),
  );
});

t("500, 429 and a timeout are retried with backoff, then the notice is delivered", async () => {
  server.reset();
  const m = await book(api, organizer, {});
  const id = (await outbox(admin, m.id)).find((r) => r.kind === "confirmation")!.id;
  const row = async () => (await outbox(admin, m.id)).find((r) => r.id === id)!;
  const waitUntilDue = async () => {
    const r = await row();
    await sleep(Math.max(0, r.next_attempt_at.getTime() - Date.now()) + 50);
  };

  server.next({ status: 500 });
  let t0 = Date.now();
  await send(sql, server);
  let r = await row();
  assert(
    r.status === "failed" && r.attempts === 1 && r.last_http_status === 500,
    JSON.stringify(r),
  );
  let wait = r.next_attempt_at.getTime() - t0;
  assert(wait >= 400 && wait <= 1100, `first retry after 0.5-1 s, got ${wait} ms`);
  assert((await send(sql, server)).claimed === 0, "not claimed before its retry time");

  await waitUntilDue();
  server.next({ status: 429, retryAfter: "2" });
  t0 = Date.now();
  await send(sql, server);
  r = await row();
  assert(
    r.status === "failed" && r.attempts === 2 && r.last_http_status === 429,
    JSON.stringify(r),
  );
  wait = r.next_attempt_at.getTime() - t0;
  assert(wait >= 1900 && wait <= 2600, `429 honours Retry-After: 2 s, got ${wait} ms`);

  await waitUntilDue();
  server.next({ hang: true });
  await send(sql, server, { config: { postmarkTimeoutMs: 300 } });
  r = await row();
  assert(
    r.status === "failed" && r.attempts === 3 && /within 300 ms/.test(r.last_error ?? ""),
    JSON.stringify(r),
  );

  await waitUntilDue();
  server.next({ delayMs: 150 }); // slow, but within the timeout
  await send(sql, server);
  r = await row();
  assert(r.status === "sent" && r.attempts === 4 && r.provider_message_id, JSON.stringify(r));
  assert(server.acceptedFor([id]).length === 1, "delivered once");
});

t(
  "406 in a batch and ErrorCode 300 on /email are permanent: dead at once, with an alert",
  async () => {
    server.reset();
    server.rejectRecipient(
      guestA.email,
      406,
      "You tried to send to a recipient that has been marked as inactive.",
    );
    const m = await book(api, organizer, { attendees: [guestA.email, guestB.email] });
    await send(sql, server);
    const rows = (await outbox(admin, m.id)).filter((r) => r.kind === "confirmation");
    const dead = rows.find((r) => r.recipient_email === guestA.email)!;
    assert(server.requests[0].path === "/email/batch", "sent as a batch that answered 200");
    assert(dead.status === "dead" && dead.dead_reason === "permanent_error", JSON.stringify(dead));
    assert(dead.last_error_code === 406 && dead.attempts === 1, "recorded, not retried");
    assert(
      rows.filter((r) => r.id !== dead.id).every((r) => r.status === "sent"),
      "the rest of the batch went out",
    );
    const [alert] =
      await admin`select kind, detail from private.email_alerts where outbox_id = ${dead.id}`;
    assert(
      alert?.kind === "permanent_failure" && alert.detail.error_code === 406,
      `alert ${JSON.stringify(alert)}`,
    );

    server.reset();
    const solo = await createUser(admin, "mail-solo", "UTC");
    server.rejectRecipient(solo.email, 300, "Invalid 'To' address.");
    const m2 = await book(api, solo, {});
    await send(sql, server);
    const [single] = (await outbox(admin, m2.id)).filter((r) => r.kind === "confirmation");
    const [only] = server.requests;
    assert(only.path === "/email", "a single message");
    assert(
      single.status === "dead" && single.last_error_code === 300 && single.last_http_status === 422,
      JSON.stringify(single),
    );
  },
);

t(
  "401 (a token problem) is retried; after max_attempts a notice is dead with an alert",
  async () => {
    server.reset();
    await admin`update private.email_settings set max_attempts = 2`;
    try {
      const m = await book(api, organizer, {});
      const id = (await outbox(admin, m.id)).find((r) => r.kind === "confirmation")!.id;
      server.next({ status: 401, errorCode: 10 });
      await send(sql, server);
      let [r] = (await outbox(admin, m.id)).filter((x) => x.id === id);
      assert(r.status === "failed" && r.last_http_status === 401, JSON.stringify(r));
      await sleep(r.next_attempt_at.getTime() - Date.now() + 50);
      server.next({ status: 503 });
      await send(sql, server);
      [r] = (await outbox(admin, m.id)).filter((x) => x.id === id);
      assert(
        r.status === "dead" && r.dead_reason === "attempts_exhausted" && r.attempts === 2,
        JSON.stringify(r),
      );
      const [alert] = await admin`select kind from private.email_alerts where outbox_id = ${id}`;
      assert(alert?.kind === "attempts_exhausted", "alert row");
    } finally {
      await admin`update private.email_settings set max_attempts = 8`;
    }
  },
);

t(
  "cancelled before send: confirmations are withdrawn, cancellations carry METHOD:CANCEL",
  async () => {
    server.reset();
    const m = await book(api, organizer, { attendees: [guestA.email] });
    await asUser(
      api,
      organizer,
      (tx) => tx`select public.cancel_meeting(${m.id}, 'Double-booked room')`,
    );
    await send(sql, server);
    const rows = await outbox(admin, m.id);
    assert(
      rows.filter((r) => r.kind === "confirmation").every((r) => r.status === "cancelled"),
      "no invitation sent",
    );
    assert(
      rows.filter((r) => r.kind.startsWith("reminder")).every((r) => r.status === "cancelled"),
      "reminders cancelled",
    );
    const cancellations = rows.filter((r) => r.kind === "cancellation");
    assert(
      cancellations.length === 2 && cancellations.every((r) => r.status === "sent"),
      JSON.stringify(cancellations),
    );
    const sent = server.acceptedFor(cancellations.map((r) => r.id));
    const ics = new TextDecoder().decode(
      Uint8Array.from(
        atob((sent[0].message.Attachments as { Content: string }[])[0].Content),
        (c) => c.charCodeAt(0),
      ),
    );
    const cal = new ICAL.Component(ICAL.parse(ics));
    assert(cal.getFirstPropertyValue("method") === "CANCEL", "METHOD:CANCEL");
    assert(
      new ICAL.Event(cal.getFirstSubcomponent("vevent")!).sequence === 2,
      "SEQUENCE = version after cancel",
    );
    assert(String(sent[0].message.TextBody).includes("Double-booked room"), "reason shown");
  },
);

t(
  "send-time check: no reminder for a meeting cancelled behind the triggers' back, or once it started",
  async () => {
    server.reset();
    const m = await book(api, organizer, { attendees: [guestA.email], startInMinutes: 26 * 60 });
    await send(sql, server); // the confirmations
    const start = new Date(m.start);
    // Promote the 24 h reminders as the tick would at their moment...
    await admin`select private.promote_due_reminders(${new Date(
      start.getTime() - 24 * 3600_000 + 1000,
    )})`;
    // ...then cancel the meeting without the triggers (a raw write, as a
    // careless operator might), so only the sender's own check stands.
    await admin.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update public.meetings set status = 'cancelled', cancelled_at = now() where id = ${m.id}`;
    });
    await send(sql, server, { now: new Date(start.getTime() - 24 * 3600_000 + 2000) });
    const reminders = (await outbox(admin, m.id)).filter((r) => r.kind === "reminder_24h");
    assert(
      reminders.length === 2 && reminders.every((r) => r.status === "cancelled"),
      JSON.stringify(reminders),
    );
    assert(
      reminders.every((r) => r.last_error === "not sent: meeting cancelled"),
      "reason recorded",
    );
    assert(server.acceptedFor(reminders.map((r) => r.id)).length === 0, "nothing sent");

    const m2 = await book(api, organizer, { attendees: [guestA.email], startInMinutes: 27 * 60 });
    await send(sql, server);
    // The tick was down for a whole day: the 1 h reminders come due only after the start.
    const start2 = new Date(m2.start);
    await admin`select private.promote_due_reminders(${new Date(start2.getTime() + 60_000)})`;
    await send(sql, server, { now: new Date(start2.getTime() + 60_000) });
    const late = (await outbox(admin, m2.id)).filter((r) => r.kind.startsWith("reminder"));
    assert(
      late.every((r) => r.status === "cancelled" && /started/.test(r.last_error ?? "")),
      JSON.stringify(late),
    );
  },
);

t("a reschedule moves the reminders in the same transaction", async () => {
  const m = await book(api, organizer, { attendees: [guestA.email] });
  const before = (await outbox(admin, m.id)).filter((r) => r.kind.startsWith("reminder"));
  assert(before.length === 4 && before.every((r) => r.status === "scheduled"), "two per attendee");
  const newStart = new Date(new Date(m.start).getTime() + 2 * 3600_000);
  await asUser(
    api,
    organizer,
    (tx) =>
      tx`select public.reschedule_meeting(${m.id}, ${m.version}, ${newStart}, ${new Date(
        newStart.getTime() + 30 * 60_000,
      )})`,
  );
  const after = (await outbox(admin, m.id)).filter((r) => r.kind.startsWith("reminder"));
  assert(
    after.filter((r) => r.meeting_version === 1).every((r) => r.status === "cancelled"),
    "old ones cancelled",
  );
  const fresh = after.filter((r) => r.meeting_version === 2);
  assert(fresh.length === 4 && fresh.every((r) => r.status === "scheduled"), JSON.stringify(fresh));
  for (const r of fresh) {
    const lead = r.kind === "reminder_24h" ? 24 * 3600_000 : 3600_000;
    assert(
      r.due_at.getTime() === newStart.getTime() - lead,
      `${r.kind} due ${r.due_at.toISOString()}`,
    );
  }
});

t(
  "reminder timing under a pinned clock: not before the moment, on time, and late but sent if cron missed minutes",
  async () => {
    server.reset();
    const m = await book(api, organizer, { attendees: [guestA.email] });
    await send(sql, server);
    const start = new Date(m.start).getTime();
    const at = (ms: number) => new Date(ms);
    const reminders = async (kind: string) =>
      (await outbox(admin, m.id)).filter((r) => r.kind === kind && r.meeting_version === m.version);

    await admin`select private.email_tick(${at(start - 24 * 3600_000 - 60_000)})`;
    assert(
      (await reminders("reminder_24h")).every((r) => r.status === "scheduled"),
      "a minute early: waiting",
    );

    const onTime = at(start - 24 * 3600_000 + 20_000);
    const [{ tick }] = await admin`select private.email_tick(${onTime}) as tick`;
    assert(tick.promoted >= 2 && tick.due === true, `tick ${JSON.stringify(tick)}`);
    await send(sql, server, { now: onTime });
    const day = await reminders("reminder_24h");
    assert(day.every((r) => r.status === "sent" && !r.late), JSON.stringify(day));
    const subject = String(server.acceptedFor([day[0].id])[0].message.Subject);
    assert(/starts in 24 hours/.test(subject), subject);

    // Cron missed ten minutes around the one-hour mark.
    const missed = at(start - 3600_000 + 10 * 60_000);
    await admin`select private.email_tick(${missed})`;
    await send(sql, server, { now: missed });
    const hour = await reminders("reminder_1h");
    assert(
      hour.every((r) => r.status === "sent" && r.late),
      `late but sent: ${JSON.stringify(hour)}`,
    );
    const lateSubject = String(server.acceptedFor([hour[0].id])[0].message.Subject);
    assert(/starts in 50 minutes/.test(lateSubject), `tells the real time left: ${lateSubject}`);
  },
);

async function queueMany(n: number): Promise<{ meetingId: string; ids: string[] }> {
  const m = await book(api, organizer, {});
  await send(sql, server);
  const rows = await admin`
    insert into private.email_outbox (meeting_id, recipient_email, kind, meeting_version)
    select ${m.id}, 'bulk' || g || '@many.test', 'update', 1 from generate_series(1, ${n}) g
    returning id::text`;
  return { meetingId: m.id, ids: rows.map((r) => r.id) };
}

t("two senders at once never send the same notice twice", async () => {
  server.reset();
  const { ids } = await queueMany(300);
  for (let i = 0; i < 20; i++) server.next({ delayMs: 40 });
  const [a, b] = await Promise.all([
    send(sql, server, { config: { batchSize: 25 } }),
    send(sql, server, { config: { batchSize: 25 } }),
  ]);
  assert(a.claimed > 0 && b.claimed > 0, `both senders worked: ${a.claimed} + ${b.claimed}`);
  const sent = server.acceptedFor(ids);
  const unique = new Set(sent.map((m) => (m.message.Metadata as Record<string, string>).outbox_id));
  assert(
    sent.length === 300 && unique.size === 300,
    `${sent.length} messages, ${unique.size} distinct`,
  );
  const [{ n }] = await admin`select count(*)::int as n from private.email_outbox
                              where id = any(${ids}::bigint[]) and status = 'sent'`;
  assert(n === 300, `all 300 recorded sent, got ${n}`);
});

t(
  "a sender killed between claim and record loses nothing: the lease expires, the row goes out",
  async () => {
    server.reset();
    const m = await book(api, organizer, {});
    const id = (await outbox(admin, m.id)).find((r) => r.kind === "confirmation")!.id;
    server.next({ hang: true });
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        new URL("./_support/sender_process.ts", import.meta.url).pathname,
      ],
      env: {
        DB_URL: env("DB_URL"),
        POSTMARK_API_URL: server.url,
        POSTMARK_SERVER_TOKEN: server.token,
        EMAIL_LEASE_SECONDS: "5",
        POSTMARK_TIMEOUT_MS: "60000",
      },
      stdout: "null",
      stderr: "null",
    }).spawn();
    for (let i = 0; i < 100 && server.requests.length === 0; i++) await sleep(100);
    assert(server.requests.length === 1, "the doomed sender reached Postmark");
    child.kill("SIGKILL");
    await child.status;
    let [r] = (await outbox(admin, m.id)).filter((x) => x.id === id);
    assert(r.status === "sending" && r.attempts === 1, `claimed and leased: ${JSON.stringify(r)}`);
    assert(
      (await send(sql, server)).claimed === 0,
      "nobody else may take it while the lease holds",
    );
    await sleep(r.next_attempt_at.getTime() - Date.now() + 100);
    await send(sql, server);
    [r] = (await outbox(admin, m.id)).filter((x) => x.id === id);
    assert(
      r.status === "sent" && r.attempts === 2,
      `delivered after the lease expired: ${JSON.stringify(r)}`,
    );
    assert(
      server.acceptedFor([id]).length === 1,
      "and only once: the killed attempt never reached acceptance",
    );
  },
);

t(
  "the duplicate window: Postmark accepted but the answer came too late, so the retry sends again",
  async () => {
    server.reset();
    const m = await book(api, organizer, {});
    const id = (await outbox(admin, m.id)).find((r) => r.kind === "confirmation")!.id;
    server.next({ delayAfterAcceptMs: 800 });
    await send(sql, server, { config: { postmarkTimeoutMs: 300 } });
    let [r] = (await outbox(admin, m.id)).filter((x) => x.id === id);
    assert(r.status === "failed", "the sender saw a timeout");
    await sleep(r.next_attempt_at.getTime() - Date.now() + 50);
    await send(sql, server);
    [r] = (await outbox(admin, m.id)).filter((x) => x.id === id);
    assert(r.status === "sent", "delivered");
    // Documented in docs/email.md: Postmark has no idempotency key, so this
    // recipient got the notice twice. The row records the second MessageID.
    const copies = server.acceptedFor([id]);
    assert(
      copies.length === 2 && r.provider_message_id === copies[1].id,
      `${copies.length} copies`,
    );
  },
);

t("e-mail suite cleanup", async () => {
  await wakeups.restore();
  await server.close();
  await Promise.all([admin.end(), sql.end(), api.end()]);
});
