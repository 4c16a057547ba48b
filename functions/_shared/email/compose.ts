// One claimed notice -> one Postmark message: rendered in the recipient's
// language and zone, our outbox id in Metadata (so bounces and webhooks lead
// back to the row), and the calendar invitation attached where it belongs.
import type { EmailMessageData } from "./types.ts";
import type { PostmarkMessage } from "./postmark.ts";
import { renderEmail, type Templates } from "./templates.ts";
import { buildView, recipientLocale, templateName } from "./view.ts";
import { buildInvitation, type InvitationTarget, type ItipMethod } from "./ical.ts";
import { type CalendarAlertData, composeCalendarAlert, isCalendarAlert } from "./calendar_alert.ts";

export interface ComposeSettings {
  from: string;
  messageStream: string;
  uidDomain: string;
}

// A display name with punctuation must be quoted, or Postmark refuses the
// address (ErrorCode 300).
export function formatAddress(name: string, email: string): string {
  const clean = name.replace(/[\r\n]+/g, " ").trim();
  if (!clean) return email;
  return `"${clean.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}" <${email}>`;
}

// Reminders carry no invitation: the calendar already has the meeting, and a
// repeated REQUEST makes some clients ask the recipient to accept again.
export function invitationMethod(data: EmailMessageData): ItipMethod | null {
  if (data.kind === "cancellation") return "CANCEL";
  if (data.kind === "reminder_24h" || data.kind === "reminder_1h") return null;
  // A note to the organiser about their series, not an invitation.
  if (data.kind === "series_conflict") return null;
  return "REQUEST";
}

// A notice about a whole series (its payload names the series) describes the
// series; one about a single occurrence describes that occurrence by its
// RECURRENCE-ID; ending a series from one occurrence on is a CANCEL of that
// occurrence with RANGE=THISANDFUTURE.
export function invitationTarget(data: EmailMessageData): InvitationTarget {
  const series = data.series;
  if (!series) return { kind: "meeting" };
  const aboutSeries = typeof data.payload.series_id === "string";
  const recurrenceId = data.meeting.recurrence_id;
  if (aboutSeries && data.payload.scope === "this_and_following" && data.kind === "cancellation") {
    if (recurrenceId) return { kind: "occurrence", series, recurrenceId, thisAndFuture: true };
  }
  if (aboutSeries) return { kind: "series", series };
  if (recurrenceId && data.meeting.series_id === series.id) {
    return { kind: "occurrence", series, recurrenceId };
  }
  return { kind: "meeting" };
}

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function composeMessage(
  data: EmailMessageData,
  templates: Templates,
  settings: ComposeSettings,
  now: Date,
): PostmarkMessage {
  // Calendar sync alerts (issue 6) are about a connection, not a meeting.
  if (isCalendarAlert(data)) {
    return composeCalendarAlert(data as unknown as CalendarAlertData, templates, settings);
  }
  const rendered = renderEmail(
    templates,
    recipientLocale(data),
    templateName(data.kind),
    buildView(data, now),
  );
  const message: PostmarkMessage = {
    From: settings.from,
    To: formatAddress(data.recipient.name, data.recipient.email),
    Subject: rendered.subject,
    HtmlBody: rendered.html,
    TextBody: rendered.text,
    MessageStream: settings.messageStream,
    Tag: data.kind,
    Metadata: {
      outbox_id: String(data.outbox_id),
      meeting_id: data.meeting.id,
      kind: data.kind,
      meeting_version: String(data.meeting.version),
    },
  };
  const method = invitationMethod(data);
  if (method) {
    // Someone taken off a meeting that goes on is cancelled for themselves only.
    const removedOnly = method === "CANCEL" && data.meeting.status !== "cancelled";
    const ics = buildInvitation({
      method,
      meeting: data.meeting,
      organizer: data.organizer,
      attendees: removedOnly
        ? [{
          email: data.recipient.email,
          name: data.recipient.name,
          role: "required",
          response_status: "needs_action",
        }]
        : data.attendees,
      uidDomain: settings.uidDomain,
      stamp: now,
      target: invitationTarget(data),
    });
    message.Attachments = [{
      Name: method === "CANCEL" ? "cancel.ics" : "invite.ics",
      Content: base64(ics),
      ContentType: `text/calendar; charset=utf-8; method=${method}`,
    }];
  }
  return message;
}
