// Recurring meetings in mail: the VTIMEZONE a TZID needs, local date-times
// as iCalendar writes them, and a rule described in words for the message
// body. Pure functions; the database decides what recurs and when.

// "2030-03-04T09:00:00" (a Postgres timestamp without zone) -> "20300304T090000".
export function localStamp(local: string): string {
  const m = local.match(/^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})/);
  if (!m) throw new Error(`not a local date-time: ${local}`);
  return `${m[1]}${m[2]}${m[3]}T${m[4]}${m[5]}${m[6]}`;
}

// "2030-03-04T09:00:00" + minutes, still local wall-clock time.
export function addLocalMinutes(local: string, minutes: number): string {
  const d = new Date(`${local.slice(0, 19)}Z`);
  d.setUTCMinutes(d.getUTCMinutes() + minutes);
  return d.toISOString().slice(0, 19);
}

// The zone's UTC offset at an instant, in minutes, from Intl.
export function offsetMinutes(timeZone: string, at: Date): number {
  const name = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" })
    .formatToParts(at).find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  const m = name.match(/GMT([+-])(\d{2}):?(\d{2})?/);
  if (!m) return 0;
  const v = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === "-" ? -v : v;
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const a = Math.abs(minutes);
  return `${sign}${String(Math.floor(a / 60)).padStart(2, "0")}${String(a % 60).padStart(2, "0")}`;
}

function localAt(at: Date, offset: number): string {
  return new Date(at.getTime() + offset * 60_000).toISOString().slice(0, 19).replace(/[-:]/g, "");
}

// Every offset change of the zone in [from, to): found by stepping six hours
// at a time and narrowing each change down to the minute.
export function transitions(
  timeZone: string,
  from: Date,
  to: Date,
): { at: Date; before: number; after: number }[] {
  const step = 6 * 3600_000;
  const out: { at: Date; before: number; after: number }[] = [];
  let t = from.getTime();
  let before = offsetMinutes(timeZone, from);
  while (t < to.getTime()) {
    const next = Math.min(t + step, to.getTime());
    const after = offsetMinutes(timeZone, new Date(next));
    if (after !== before) {
      let lo = t, hi = next;
      while (hi - lo > 60_000) {
        const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
        if (offsetMinutes(timeZone, new Date(mid)) === before) lo = mid;
        else hi = mid;
      }
      out.push({ at: new Date(hi), before, after });
      before = after;
    }
    t = next;
  }
  return out;
}

// A VTIMEZONE for the zone from `from` on (RFC 5545 3.6.5): the offset in
// force at `from`, each change in the first year as it happened, and the
// changes of the second year as yearly rules (nth or last weekday of the
// month, as every DST law in use is written), so a client expanding a series
// years ahead still places every occurrence right. DTSTART of an observance
// is the local time of its onset in the offset before it.
export function vtimezone(timeZone: string, from: Date): string[] {
  const year = from.getUTCFullYear();
  const ruleYearStart = new Date(Date.UTC(year + 1, 0, 1));
  const end = new Date(Date.UTC(year + 2, 0, 1));
  const initial = offsetMinutes(timeZone, from);
  const lines = [
    "BEGIN:VTIMEZONE",
    `TZID:${timeZone}`,
    "BEGIN:STANDARD",
    `DTSTART:${localAt(from, initial)}`,
    `TZOFFSETFROM:${formatOffset(initial)}`,
    `TZOFFSETTO:${formatOffset(initial)}`,
    "END:STANDARD",
  ];
  for (const tr of transitions(timeZone, from, end)) {
    const kind = tr.after > tr.before ? "DAYLIGHT" : "STANDARD";
    const onset = localAt(tr.at, tr.before);
    lines.push(
      `BEGIN:${kind}`,
      `DTSTART:${onset}`,
      `TZOFFSETFROM:${formatOffset(tr.before)}`,
      `TZOFFSETTO:${formatOffset(tr.after)}`,
    );
    if (tr.at >= ruleYearStart) lines.push(`RRULE:${yearlyRuleFor(onset)}`);
    lines.push(`END:${kind}`);
  }
  lines.push("END:VTIMEZONE");
  return lines;
}

// "20310309T020000" -> "FREQ=YEARLY;BYMONTH=3;BYDAY=2SU" (or -1SU for the last).
function yearlyRuleFor(onset: string): string {
  const y = Number(onset.slice(0, 4)),
    mo = Number(onset.slice(4, 6)),
    d = Number(onset.slice(6, 8));
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  const wd =
    ["SU", "MO", "TU", "WE", "TH", "FR", "SA"][new Date(Date.UTC(y, mo - 1, d)).getUTCDay()];
  const nth = d + 7 > days ? -1 : Math.ceil(d / 7);
  return `FREQ=YEARLY;BYMONTH=${mo};BYDAY=${nth}${wd}`;
}

const DAY_NAMES: Record<string, Record<string, string>> = {
  en: {
    MO: "Monday",
    TU: "Tuesday",
    WE: "Wednesday",
    TH: "Thursday",
    FR: "Friday",
    SA: "Saturday",
    SU: "Sunday",
  },
  de: {
    MO: "Montag",
    TU: "Dienstag",
    WE: "Mittwoch",
    TH: "Donnerstag",
    FR: "Freitag",
    SA: "Samstag",
    SU: "Sonntag",
  },
};

const WORDS = {
  en: {
    DAILY: ["every day", "every %n days"],
    WEEKLY: ["every week", "every %n weeks"],
    MONTHLY: ["every month", "every %n months"],
    YEARLY: ["every year", "every %n years"],
    on: "on",
    times: "%n times",
    until: "until %d",
    ordinal: ["last", "first", "second", "third", "fourth", "fifth"],
  },
  de: {
    DAILY: ["täglich", "alle %n Tage"],
    WEEKLY: ["wöchentlich", "alle %n Wochen"],
    MONTHLY: ["monatlich", "alle %n Monate"],
    YEARLY: ["jährlich", "alle %n Jahre"],
    on: "am",
    times: "%n-mal",
    until: "bis %d",
    ordinal: ["letzten", "ersten", "zweiten", "dritten", "vierten", "fünften"],
  },
} as const;

// "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10" -> "every week on Monday, Wednesday, 10 times".
// Parts without words (BYSETPOS, BYMONTHDAY...) fall back to the rule itself.
export function describeRule(rrule: string, locale: string): string {
  const lang = locale === "de" ? "de" : "en";
  const w = WORDS[lang];
  const parts = new Map(
    rrule.replace(/^RRULE:/, "").split(";").filter(Boolean).map((p) => {
      const [k, ...v] = p.split("=");
      return [k, v.join("=")] as [string, string];
    }),
  );
  const freq = parts.get("FREQ") as keyof typeof w | undefined;
  const known = new Set(["FREQ", "INTERVAL", "BYDAY", "COUNT", "UNTIL", "WKST"]);
  if (!freq || !["DAILY", "WEEKLY", "MONTHLY", "YEARLY"].includes(freq)) return rrule;
  if ([...parts.keys()].some((k) => !known.has(k))) return rrule;
  const n = Number(parts.get("INTERVAL") ?? "1");
  const [one, many] = w[freq] as readonly [string, string];
  const out = [n === 1 ? one : many.replace("%n", String(n))];
  const byDay = parts.get("BYDAY");
  if (byDay) {
    const days = byDay.split(",").map((d) => {
      const m = d.match(/^([+-]?\d+)?([A-Z]{2})$/);
      if (!m) return d;
      const name = DAY_NAMES[lang][m[2]] ?? m[2];
      if (!m[1]) return name;
      const k = Number(m[1]);
      const ord = k === -1 ? w.ordinal[0] : w.ordinal[k] ?? `${k}.`;
      return `${ord} ${name}`;
    });
    out.push(`${w.on} ${days.join(", ")}`);
  }
  const count = parts.get("COUNT");
  if (count) out.push(w.times.replace("%n", count));
  const until = parts.get("UNTIL");
  if (until) {
    out.push(
      w.until.replace("%d", `${until.slice(0, 4)}-${until.slice(4, 6)}-${until.slice(6, 8)}`),
    );
  }
  return out.join(", ");
}
