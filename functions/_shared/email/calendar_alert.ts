// The alert a calendar owner gets when a connection goes to `error` (issue
// 6): about a calendar, not a meeting, so it has its own data and view; the
// sender delivers it like any other notice, without an invitation.
import type { PostmarkMessage } from "./postmark.ts";
import type { ComposeSettings } from "./compose.ts";
import { renderEmail, type Templates } from "./templates.ts";
import { formatAddress } from "./compose.ts";

export const CALENDAR_ALERT_KIND = "calendar_sync_failed";

export interface CalendarAlertData {
  outbox_id: number;
  kind: typeof CALENDAR_ALERT_KIND;
  payload: {
    connection_id: string;
    provider: "google" | "outlook" | "caldav" | "ics";
    display_name?: string | null;
    calendar_ref?: string | null;
    consecutive_failures: number;
    last_error: string;
    failed_at: string;
    reconnect?: boolean;
  };
  recipient: { email: string; name: string; time_zone: string; locale: string };
}

const PROVIDER_NAMES: Record<string, Record<string, string>> = {
  en: { google: "Google", outlook: "Outlook", caldav: "CalDAV", ics: "ICS feed" },
  de: { google: "Google", outlook: "Outlook", caldav: "CalDAV", ics: "ICS-Feed" },
};

export function isCalendarAlert(data: { kind: string }): boolean {
  return data.kind === CALENDAR_ALERT_KIND;
}

export function calendarAlertView(data: CalendarAlertData): Record<string, unknown> {
  const locale = data.recipient.locale === "de" ? "de" : "en";
  const p = data.payload;
  const failedAt = new Intl.DateTimeFormat(locale === "de" ? "de-DE" : "en-GB", {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: data.recipient.time_zone,
    timeZoneName: "short",
  }).format(new Date(p.failed_at));
  return {
    recipient_name: data.recipient.name || data.recipient.email,
    provider_name: PROVIDER_NAMES[locale][p.provider] ?? p.provider,
    calendar_name: p.display_name || p.calendar_ref || PROVIDER_NAMES[locale][p.provider],
    failures: p.consecutive_failures,
    failed_at: failedAt,
    last_error: p.last_error,
    reconnect: p.reconnect === true,
  };
}

export function composeCalendarAlert(
  data: CalendarAlertData,
  templates: Templates,
  settings: ComposeSettings,
): PostmarkMessage {
  const locale = data.recipient.locale === "de" ? "de" : "en";
  const rendered = renderEmail(templates, locale, CALENDAR_ALERT_KIND, calendarAlertView(data));
  return {
    From: settings.from,
    To: formatAddress(data.recipient.name, data.recipient.email),
    Subject: rendered.subject,
    HtmlBody: rendered.html,
    TextBody: rendered.text,
    MessageStream: settings.messageStream,
    Tag: data.kind,
    Metadata: {
      outbox_id: String(data.outbox_id),
      kind: data.kind,
      connection_id: data.payload.connection_id,
    },
  };
}
