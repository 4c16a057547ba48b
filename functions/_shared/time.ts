// Datetime parsing for the API's inputs. An instant must carry its offset
// (RFC 3339: Z or ±HH:MM); a naive local time is read in an IANA zone only
// when the request names one, and a wall time that the zone skips (a DST
// gap) is refused rather than silently shifted.

const WITH_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/i;
const NAIVE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function wallFrom(m: RegExpMatchArray): Wall | null {
  const [year, month, day, hour, minute] = [1, 2, 3, 4, 5].map((i) => Number(m[i]));
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  return { year, month, day, hour, minute, second };
}

const wallEpoch = (w: Wall) => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
const pad = (n: number, width = 2) => String(n).padStart(width, "0");

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(zone, f);
  }
  return f;
}

// IANA names only: Intl also accepts offsets such as "+01:00", which are not zones.
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\-]*(\/[A-Za-z0-9_+\-]+)*$/;

export function isKnownTimeZone(zone: string): boolean {
  if (zone.length > 64 || !ZONE_NAME.test(zone)) return false;
  try {
    formatterFor(zone);
    return true;
  } catch {
    return false;
  }
}

// The wall time an instant shows in a zone, as epoch milliseconds of that
// wall time read as UTC.
function wallAt(epochMs: number, zone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(zone).formatToParts(new Date(epochMs))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
}

// The instant at which `wall` is shown in `zone`; the earlier one when the
// wall time occurs twice (clocks going back), null when it never occurs.
export function zonedWallToEpoch(wall: Wall, zone: string): number | null {
  const target = wallEpoch(wall);
  const candidates = new Set<number>();
  // Offsets are at most ±18 h; probing the offsets in force around the
  // target finds every instant that can show this wall time.
  for (const probe of [target - 86_400_000, target, target + 86_400_000]) {
    const offset = wallAt(probe, zone) - probe;
    const instant = target - offset;
    if (wallAt(instant, zone) === target) candidates.add(instant);
  }
  if (candidates.size === 0) return null;
  return Math.min(...candidates);
}

function isoUtc(epochMs: number, fraction: string): string {
  const d = new Date(epochMs);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${fraction}Z`;
}

// An instant from an ISO-8601 string. With an offset it is taken as is;
// without one it is read in `zone` if given. Answers a string Postgres reads
// exactly (microseconds kept), or a message saying what is wrong.
export function parseInstant(value: string, zone?: string): Parsed<string> {
  const withOffset = value.match(WITH_OFFSET);
  if (withOffset) {
    if (!wallFrom(withOffset)) return { ok: false, message: "is not a valid date and time" };
    const offset = withOffset[8];
    if (offset.toUpperCase() !== "Z") {
      const [h, m] = offset.slice(1).split(":").map(Number);
      if (h > 14 || m > 59 || (h === 14 && m > 0)) {
        return { ok: false, message: "has an offset outside ±14:00" };
      }
    }
    return { ok: true, value };
  }
  const naive = value.match(NAIVE);
  if (!naive) {
    return {
      ok: false,
      message:
        "must be an ISO-8601 date-time such as 2027-03-14T09:30:00Z or 2027-03-14T09:30:00+01:00",
    };
  }
  const wall = wallFrom(naive);
  if (!wall) return { ok: false, message: "is not a valid date and time" };
  if (!zone) {
    return {
      ok: false,
      message: "has no UTC offset; add one (Z, +01:00) or give a time zone to read it in",
    };
  }
  if (!isKnownTimeZone(zone)) {
    return { ok: false, message: `cannot be read in unknown zone ${zone}` };
  }
  const epoch = zonedWallToEpoch(wall, zone);
  if (epoch === null) {
    return {
      ok: false,
      message:
        `does not exist in ${zone} (the clocks skip it); pick another time or give an offset`,
    };
  }
  return { ok: true, value: isoUtc(epoch, naive[7] ?? "") };
}

export function parseDate(value: string): Parsed<string> {
  const m = value.match(DATE_ONLY);
  if (!m) return { ok: false, message: "must be a date such as 2027-03-14" };
  const [year, month, day] = [1, 2, 3].map((i) => Number(m[i]));
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return { ok: false, message: "is not a valid date" };
  }
  return { ok: true, value };
}
