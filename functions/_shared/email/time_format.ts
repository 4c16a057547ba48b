// Meeting times as a recipient reads them: in their time zone and language,
// with the zone named. All-day meetings are local dates of the meeting's own
// zone (end date exclusive, as stored), so they are shown as dates only.
const formatters = new Map<string, Intl.DateTimeFormat>();

// Building an Intl.DateTimeFormat is costly; a sender renders hundreds of
// messages with a handful of (locale, zone) pairs.
function formatter(locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = locale + JSON.stringify(options);
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, options);
    formatters.set(key, f);
  }
  return f;
}

export interface MeetingTimes {
  start: string | Date;
  end: string | Date;
  allDay: boolean;
  // Local dates of an all-day meeting (end exclusive); derived from the
  // instants in meetingTimeZone when absent.
  startDate?: string | null;
  endDate?: string | null;
  meetingTimeZone: string;
}

export interface FormattedTimes {
  // "Monday, March 15, 2027, 3:00 – 4:00 PM" / "Montag, 15. März 2027, 15:00–16:00"
  when: string;
  // "Central European Standard Time, Europe/Berlin"; for all-day meetings
  // the meeting's zone, whose dates they are.
  timeZone: string;
}

export function localDate(instant: string | Date, timeZone: string): string {
  const parts = formatter("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(new Date(instant));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

function zoneName(locale: string, timeZone: string, at: Date): string {
  const long = formatter(locale, { timeZone, timeZoneName: "long" }).formatToParts(at)
    .find((p) => p.type === "timeZoneName")?.value;
  return long && long !== timeZone ? `${long}, ${timeZone}` : timeZone;
}

const DAY_MS = 86_400_000;

export function formatMeetingTimes(
  times: MeetingTimes,
  locale: string,
  recipientTimeZone: string,
): FormattedTimes {
  if (times.allDay) {
    const startDate = times.startDate ?? localDate(times.start, times.meetingTimeZone);
    const endDate = times.endDate ?? localDate(times.end, times.meetingTimeZone);
    const first = new Date(`${startDate}T00:00:00Z`);
    const last = new Date(new Date(`${endDate}T00:00:00Z`).getTime() - DAY_MS);
    const f = formatter(locale, {
      timeZone: "UTC",
      weekday: "long",
      year: "numeric",
      month: "long",
      day: "numeric",
    });
    return {
      when: last.getTime() <= first.getTime() ? f.format(first) : f.formatRange(first, last),
      timeZone: zoneName(locale, times.meetingTimeZone, first),
    };
  }
  const start = new Date(times.start);
  const end = new Date(times.end);
  const f = formatter(locale, {
    timeZone: recipientTimeZone,
    weekday: "long",
    year: "numeric",
    month: "long",
    day: "numeric",
    hour: "numeric",
    minute: "2-digit",
  });
  return { when: f.formatRange(start, end), timeZone: zoneName(locale, recipientTimeZone, start) };
}

// "in 1 hour", "in 24 hours", "in 25 minutes" / "in 1 Stunde"...: the real
// time left at send time, so a late reminder does not claim an hour that has
// partly gone.
export function formatStartsIn(start: string | Date, now: Date, locale: string): string {
  const minutes = Math.max(0, Math.round((new Date(start).getTime() - now.getTime()) / 60_000));
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: "always" });
  if (minutes < 90) return rtf.format(minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (hours < 48) return rtf.format(hours, "hour");
  return rtf.format(Math.round(hours / 24), "day");
}
