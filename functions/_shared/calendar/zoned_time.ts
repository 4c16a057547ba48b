// Wall-clock time in an IANA zone <-> instants, through Intl (the runtime's
// tz database). Used where a calendar names a zone it does not define
// (TZID=Europe/Vienna without a VTIMEZONE), for floating times, and for
// all-day events, which are busy from local midnight to local midnight.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isKnownTimeZone(name: string | null | undefined): name is string {
  if (!name) return false;
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

// Offset of `timeZone` from UTC at `epochMs`, in milliseconds.
export function zoneOffsetMs(timeZone: string, epochMs: number): number {
  const parts = formatter(timeZone).formatToParts(new Date(epochMs));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const asUtc = Date.UTC(
    get("year"),
    get("month") - 1,
    get("day"),
    get("hour"),
    get("minute"),
    get("second"),
  );
  return asUtc - Math.floor(epochMs / 1000) * 1000;
}

export interface WallTime {
  year: number;
  month: number; // 1-12
  day: number;
  hour?: number;
  minute?: number;
  second?: number;
}

// The instant at which the wall clock in `timeZone` shows `wall`. A time
// skipped by a DST jump resolves forward (02:30 on a spring-forward night is
// 03:30), the later of two repeated times resolves to the earlier instant,
// as RFC 5545 section 3.3.5 asks of calendar clients.
export function wallTimeToEpochMs(wall: WallTime, timeZone: string): number {
  const naive = Date.UTC(
    wall.year,
    wall.month - 1,
    wall.day,
    wall.hour ?? 0,
    wall.minute ?? 0,
    wall.second ?? 0,
  );
  const before = zoneOffsetMs(timeZone, naive - 86_400_000);
  const after = zoneOffsetMs(timeZone, naive + 86_400_000);
  if (before === after) return naive - before;
  // Around a transition: try both offsets and keep the one that round-trips.
  const candidates = [naive - before, naive - after].filter((t) =>
    zoneOffsetMs(timeZone, t) === naive - t
  ).sort((a, b) => a - b);
  if (candidates.length > 0) return candidates[0];
  // In the gap: the clock jumped over this time; move forward by the jump.
  return naive - before;
}

// The calendar date of `epochMs` in `timeZone`, as YYYY-MM-DD.
export function localDate(epochMs: number, timeZone: string): string {
  const shifted = new Date(epochMs + zoneOffsetMs(timeZone, epochMs));
  return shifted.toISOString().slice(0, 10);
}
