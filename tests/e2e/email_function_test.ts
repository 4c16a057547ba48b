// The deployed email-sender function on the local stack: only the
// service_role key may run it, bad input is named, and a booking reaches the
// dev mailbox through the whole path (outbox trigger -> pg_net -> function ->
// Postmark API of the mailbox) with the outbox row recording the MessageID.
import { adminDb, authenticatorDb, createUser, env } from "./_support/db.ts";
import { assert, book, sleep } from "./_support/email.ts";
import { SignJWT } from "jose";

const sign = (claims: Record<string, unknown>) =>
  new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setExpirationTime("5m")
    .sign(new TextEncoder().encode(env("SUPABASE_JWT_SECRET")));

const url = `${env("FUNCTIONS_URL")}/email-sender`;
const t = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

async function call(key: string | null, body: unknown = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

t("only the service_role key runs the sender; bad input is named", async () => {
  assert((await call(null)).status === 401, "no key: 401");
  const anon = await call(env("SUPABASE_ANON_KEY"));
  assert(
    anon.status === 403 && anon.body.code === "forbidden",
    `anon key: ${JSON.stringify(anon)}`,
  );
  const user = await call(await sign({ role: "authenticated", sub: crypto.randomUUID() }));
  assert(user.status === 403, `a user's token: ${JSON.stringify(user)}`);
  // Another service_role JWT than the configured key: checked by signature and role.
  const other = await call(await sign({ role: "service_role", iss: "ops" }), { max_batches: 1 });
  assert(other.status === 200, `a service_role JWT: ${JSON.stringify(other)}`);
  const bad = await call(env("SUPABASE_SERVICE_ROLE_KEY"), { now: "yesterday", max_batches: 0 });
  assert(bad.status === 422, `bad body: ${JSON.stringify(bad)}`);
  const fields = bad.body.errors.map((e: { field: string }) => e.field);
  assert(fields.includes("now") && fields.includes("max_batches"), `names both fields: ${fields}`);
  const notJson = await call(env("SUPABASE_SERVICE_ROLE_KEY"), "{oops");
  assert(
    notJson.status === 422 && notJson.body.errors[0].field === "body",
    JSON.stringify(notJson),
  );
  const ok = await call(env("SUPABASE_SERVICE_ROLE_KEY"), { max_batches: 1 });
  assert(
    ok.status === 200 && typeof ok.body.claimed === "number",
    `service key: ${JSON.stringify(ok)}`,
  );
});

t(
  "a booking reaches the dev mailbox by itself: trigger, pg_net, function, Postmark API",
  async () => {
    const mailbox = env("MAILBOX_URL");
    const admin = adminDb(2);
    const api = authenticatorDb(2);
    try {
      const organizer = await createUser(admin, "mailbox-organiser", "Europe/Berlin");
      const m = await book(api, organizer, { attendees: ["newcomer@mailbox.test"] });
      let rows: { recipient_email: string; status: string; provider_message_id: string | null }[] =
        [];
      for (let i = 0; i < 100; i++) {
        rows =
          await admin`select recipient_email, status, provider_message_id from private.email_outbox
                         where meeting_id = ${m.id} and kind = 'confirmation'`;
        if (rows.length && rows.every((r) => r.status === "sent")) break;
        await sleep(100);
      }
      assert(
        rows.length === 2 && rows.every((r) => r.status === "sent"),
        `sent: ${JSON.stringify(rows)}`,
      );
      const guest = rows.find((r) => r.recipient_email === "newcomer@mailbox.test")!;
      const res = await fetch(`${mailbox}/messages/${guest.provider_message_id}`);
      const msg = await res.json();
      assert(res.status === 200 && msg.to.includes("newcomer@mailbox.test"), JSON.stringify(msg));
      assert(
        msg.metadata.meeting_id === m.id && msg.attachments[0].name === "invite.ics",
        "metadata and invitation",
      );
      assert(msg.text_body.includes("invites you to"), "text body stored");
      const ics =
        await (await fetch(`${mailbox}/messages/${guest.provider_message_id}/files/invite.ics`))
          .text();
      assert(
        ics.includes("METHOD:REQUEST") && ics.includes(`UID:meeting-${m.id}@`),
        "the .ics is served",
      );
      const page = await (await fetch(`${mailbox}/`)).text();
      assert(page.includes("newcomer@mailbox.test"), "the mailbox page lists it");
    } finally {
      await Promise.all([admin.end(), api.end()]);
    }
  },
);
