// Push notifications from providers: Google Calendar (events.watch channels:
// X-Goog-Channel-ID / X-Goog-Channel-Token headers) and Microsoft Graph
// change notifications (subscriptions: a validationToken handshake, then
// {value: [{subscriptionId, clientState}]}). A notification only marks its
// connection due; the sync itself runs in calendar-sync. Providers send no
// JWT: the channel secret is what authenticates them.
import { db } from "../_shared/db.ts";

async function notify(channelId: string, secret: string | null): Promise<string | null> {
  const [{ id }] = await db()<{ id: string | null }[]>`
    select private.calendar_channel_notified(${channelId}, ${secret}) as id`;
  return id;
}

Deno.serve(async (req) => {
  const url = new URL(req.url);
  // Graph validates a new subscription by echoing this token in plain text
  // within 10 seconds.
  const validationToken = url.searchParams.get("validationToken");
  if (validationToken !== null) {
    return new Response(validationToken, {
      status: 200,
      headers: { "Content-Type": "text/plain" },
    });
  }
  if (req.method !== "POST") return new Response("use POST", { status: 405 });

  const googleChannel = req.headers.get("X-Goog-Channel-ID");
  if (googleChannel) {
    // "sync" only confirms the channel exists; "exists" / "not_exists" say
    // something changed.
    const state = req.headers.get("X-Goog-Resource-State");
    if (state !== "sync") await notify(googleChannel, req.headers.get("X-Goog-Channel-Token"));
    // Google retries on errors; an unknown channel is answered 200 as well,
    // which says nothing about which channels exist.
    return new Response(null, { status: 200 });
  }

  let body: { value?: { subscriptionId?: unknown; clientState?: unknown }[] };
  try {
    body = await req.json();
  } catch {
    return Response.json(
      { error: "invalid_body", message: "expected a JSON change notification" },
      {
        status: 400,
      },
    );
  }
  if (!Array.isArray(body?.value)) {
    return Response.json(
      {
        error: "invalid_body",
        errors: [{ field: "value", message: "must be an array of notifications" }],
      },
      { status: 422 },
    );
  }
  for (const n of body.value) {
    if (typeof n?.subscriptionId === "string") {
      await notify(n.subscriptionId, typeof n.clientState === "string" ? n.clientState : null);
    }
  }
  // Graph expects 202 Accepted for change notifications.
  return new Response(null, { status: 202 });
});
