// The calendar alert e-mail renders in both languages from the outbox
// payload, in the recipient's zone, with no invitation and no meeting.
import { assert, assertEquals } from "./_calendar_assert.ts";
import { loadTemplates } from "../../functions/_shared/email/templates.ts";
import { composeMessage } from "../../functions/_shared/email/compose.ts";
import type { EmailMessageData } from "../../functions/_shared/email/types.ts";

const templates = await loadTemplates();
const settings = {
  from: "Scheduler <no-reply@example.com>",
  messageStream: "outbound",
  uidDomain: "x",
};

function alert(locale: string, reconnect: boolean) {
  return {
    outbox_id: 7,
    kind: "calendar_sync_failed",
    payload: {
      connection_id: "c0ffee00-0000-4000-8000-000000000000",
      provider: "google",
      display_name: "Work",
      consecutive_failures: 5,
      last_error: "google: GET: 503 <Service Unavailable>",
      failed_at: "2026-12-01T08:30:00Z",
      reconnect,
    },
    recipient: {
      email: "cara@example.com",
      name: "Cara",
      role: "owner",
      time_zone: "Europe/Berlin",
      locale,
    },
  } as unknown as EmailMessageData;
}

Deno.test("the calendar alert renders in English and German, in the recipient's zone", () => {
  const en = composeMessage(alert("en", false), templates, settings, new Date());
  assertEquals(en.Subject, "Your calendar “Work” stopped syncing");
  assert(en.TextBody.includes("Google calendar “Work” 5 times in a row"), en.TextBody);
  assert(en.TextBody.includes("09:30"), "the time in Berlin");
  assert(en.HtmlBody.includes("503 &lt;Service Unavailable&gt;"), "HTML escapes the error");
  assertEquals(en.Attachments, undefined);
  assertEquals(en.Metadata?.connection_id, "c0ffee00-0000-4000-8000-000000000000");
  const de = composeMessage(alert("de", true), templates, settings, new Date());
  assert(de.Subject.startsWith("Ihr Kalender „Work“"), de.Subject);
  assert(de.TextBody.includes("Bitte verbinden Sie ihn erneut"), de.TextBody);
});
