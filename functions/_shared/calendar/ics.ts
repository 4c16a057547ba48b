// iCalendar (RFC 5545) to busy time, with ical.js: parse, resolve time
// zones, expand recurrences over a window, apply overrides, drop what is
// cancelled, mark what is free. One event that cannot be read is reported and skipped; the others
// still import. A document that is not iCalendar at all is rejected with an
// IcsError saying why.
import ICAL from "ical.js";
import type { BusyOccurrence, SkippedEvent } from "./types.ts";
import { MEETING_ID_PROPERTY, MEETING_UID_SUFFIX } from "./types.ts";
import { isKnownTimeZone, wallTimeToEpochMs, zoneOffsetMs } from "./zoned_time.ts";

export class IcsError extends Error {
  override name = "IcsError";
}

export interface ExpandOptions {
  // Floating times and all-day dates are read in this zone (the owner's).
  timeZone: string;
  // Occurrences overlapping [from, to) are returned.
  from: Date;
  to: Date;
  // A rule that yields more than this inside the window is cut there and
  // reported: FREQ=MINUTELY would otherwise fill the table.
  maxOccurrencesPerEvent?: number;
}

export interface IcsImport {
  busy: BusyOccurrence[];
  skipped: SkippedEvent[];
  // Events read, busy or not (free and cancelled ones count here).
  eventCount: number;
}

type Component = InstanceType<typeof ICAL.Component>;
type Time = InstanceType<typeof ICAL.Time>;

const DEFAULT_MAX_OCCURRENCES = 2000;
// Walking a daily rule from 1970 to today is ~20,000 steps; beyond this many
// steps without reaching the window the rule is not worth following.
const MAX_ITERATIONS = 200_000;
// Longer than any real event; a larger DURATION is a broken file (and large
// enough ones overflow ical.js's date arithmetic).
const MAX_EVENT_SECONDS = 5 * 366 * 86_400;

// Parse and expand one iCalendar document (a feed or a CalDAV resource).
export function importIcs(text: string, options: ExpandOptions): IcsImport {
  const { root, losses } = parseDocument(text);
  const out: IcsImport = {
    busy: [],
    skipped: losses.map((reason) => ({ externalId: null, reason })),
    eventCount: 0,
  };
  const defaultZone = calendarDefaultZone(root, options.timeZone);
  withRegisteredTimezones(root, referencedZones(text), () => {
    const vevents = root.name === "vevent" ? [root] : root.getAllSubcomponents("vevent");
    for (const group of groupByUid(vevents, out.skipped)) {
      expandGroup(group, { ...options, timeZone: defaultZone }, options.timeZone, out);
    }
  });
  out.busy.sort((a, b) =>
    a.start.localeCompare(b.start) || a.externalId.localeCompare(b.externalId)
  );
  return out;
}

function parseDocument(text: string): { root: Component; losses: string[] } {
  if (typeof text !== "string" || text.trim() === "") {
    throw new IcsError("the calendar is empty (no BEGIN:VCALENDAR)");
  }
  // A UTF-8 byte order mark is common in exported files and harmless.
  const body = text.replace(/^\uFEFF/, "");
  if (!/^\s*BEGIN:(VCALENDAR|VEVENT)\s*$/im.test(body.split(/\r?\n/, 1)[0] ?? "")) {
    throw new IcsError(
      `not an iCalendar document: it must start with BEGIN:VCALENDAR, found "${
        (body.split(/\r?\n/, 1)[0] ?? "").slice(0, 60)
      }"`,
    );
  }
  let jcal: unknown;
  try {
    jcal = ICAL.parse(body);
  } catch (e) {
    // ical.js stops at the first bad line; salvage what can be read.
    return salvage(body, e);
  }
  const first = Array.isArray(jcal) && typeof jcal[0] === "string" ? jcal : null;
  const components = first ? [first] : (jcal as unknown[]);
  if (!Array.isArray(components) || components.length === 0) {
    throw new IcsError("not an iCalendar document: no component found");
  }
  const comp = new ICAL.Component(components[0] as never);
  if (comp.name !== "vcalendar" && comp.name !== "vevent") {
    throw new IcsError(
      `not an iCalendar document: expected VCALENDAR, found ${comp.name.toUpperCase()}`,
    );
  }
  return { root: comp, losses: [] };
}

// The document did not parse as a whole: rebuild a calendar from the
// VTIMEZONE and VEVENT blocks that parse on their own, and report the rest.
function salvage(body: string, cause: unknown): { root: Component; losses: string[] } {
  const lines = body.replace(/\r\n/g, "\n").replace(/\n[ \t]/g, "").split("\n");
  const blocks: { name: string; lines: string[] }[] = [];
  let current: { name: string; lines: string[] } | null = null;
  let depth = 0;
  for (const line of lines) {
    const begin = /^BEGIN:(VEVENT|VTIMEZONE)\s*$/i.exec(line);
    if (!current && begin) {
      current = { name: begin[1].toUpperCase(), lines: [] };
      depth = 0;
    }
    if (!current) continue;
    current.lines.push(line);
    if (/^BEGIN:/i.test(line)) depth++;
    if (/^END:/i.test(line) && --depth === 0) {
      blocks.push(current);
      current = null;
    }
  }
  const reason = cause instanceof Error ? cause.message : String(cause);
  if (blocks.length === 0) {
    throw new IcsError(`not a readable iCalendar document: ${reason}`);
  }
  const calendar = new ICAL.Component(["vcalendar", [], []]);
  const broken: string[] = [];
  for (const block of blocks) {
    try {
      const jcal = ICAL.parse(block.lines.join("\r\n"));
      calendar.addSubcomponent(new ICAL.Component(jcal as never));
    } catch (e) {
      const uid = block.lines.find((l) => /^UID[:;]/i.test(l))?.replace(/^UID[^:]*:/i, "") ?? null;
      broken.push(`${block.name}${uid ? ` ${uid}` : ""}: ${e instanceof Error ? e.message : e}`);
    }
  }
  if (calendar.getAllSubcomponents().length === 0) {
    throw new IcsError(`not a readable iCalendar document: ${broken.join("; ") || reason}`);
  }
  return { root: calendar, losses: broken };
}

function calendarDefaultZone(root: Component, ownerZone: string): string {
  const declared = root.getFirstPropertyValue("x-wr-timezone");
  return typeof declared === "string" && isKnownTimeZone(declared) ? declared : ownerZone;
}

// ical.js resolves TZIDs against the document's own VTIMEZONEs, and falls
// back to its global TimezoneService. Registering every VTIMEZONE there for
// the duration of the import (synchronously, then restoring whatever was
// there) makes both paths agree and keeps imports from leaking into each
// other.
function withRegisteredTimezones(root: Component, referenced: Set<string>, fn: () => void) {
  const registered: { tzid: string; previous: unknown }[] = [];
  const register = (tzid: string, zone: InstanceType<typeof ICAL.Timezone>) => {
    registered.push({
      tzid,
      previous: ICAL.TimezoneService.has(tzid) ? ICAL.TimezoneService.get(tzid) : null,
    });
    ICAL.TimezoneService.register(zone, tzid);
  };
  const defined = new Set<string>();
  for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
    const tzid = vtimezone.getFirstPropertyValue("tzid");
    if (typeof tzid !== "string" || tzid === "") continue;
    try {
      register(tzid, new ICAL.Timezone(vtimezone));
      defined.add(tzid);
    } catch { /* an unusable VTIMEZONE: times in it fall back to the IANA zone */ }
  }
  // A TZID the document names but does not define (common in CalDAV
  // resources and hand-written files) is taken from the runtime's tz
  // database, so that ical.js compares UNTIL and EXDATE in the right zone.
  for (const tzid of referenced) {
    if (!defined.has(tzid) && isKnownTimeZone(tzid)) register(tzid, intlTimezone(tzid));
  }
  try {
    fn();
  } finally {
    for (const { tzid, previous } of registered.reverse()) {
      if (previous) ICAL.TimezoneService.register(previous as never, tzid);
      else ICAL.TimezoneService.remove(tzid);
    }
  }
}

function referencedZones(text: string): Set<string> {
  const zones = new Set<string>();
  for (const m of text.matchAll(/;TZID=("?)([^";:]+)\1[;:]/gi)) zones.add(m[2]);
  return zones;
}

const intlZoneCache = new Map<string, InstanceType<typeof ICAL.Timezone>>();
const TRANSITION_YEARS: [number, number] = [1970, 2050];

// A VTIMEZONE built from the runtime's tz database: one observance per
// offset change between 1970 and 2050, found by weekly sampling and then
// narrowed to the minute.
export function intlTimezone(tzid: string): InstanceType<typeof ICAL.Timezone> {
  const cached = intlZoneCache.get(tzid);
  if (cached) return cached;
  const week = 7 * 86_400_000;
  const start = Date.UTC(TRANSITION_YEARS[0], 0, 1);
  const end = Date.UTC(TRANSITION_YEARS[1], 0, 1);
  const offsetAt = (ms: number) => Math.round(zoneOffsetMs(tzid, ms) / 60_000);
  const lines = ["BEGIN:VTIMEZONE", `TZID:${tzid}`];
  const observance = (atMs: number, from: number, to: number) => {
    const local = new Date(atMs + from * 60_000).toISOString().replace(/[-:]|\.\d{3}Z/g, "");
    lines.push(
      "BEGIN:STANDARD",
      `DTSTART:${local}`,
      `TZOFFSETFROM:${utcOffset(from)}`,
      `TZOFFSETTO:${utcOffset(to)}`,
      "END:STANDARD",
    );
  };
  let previous = offsetAt(start);
  observance(start, previous, previous);
  for (let t = start + week; t <= end; t += week) {
    const current = offsetAt(t);
    if (current === previous) continue;
    let lo = t - week;
    let hi = t;
    while (hi - lo > 60_000) {
      const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
      if (offsetAt(mid) === previous) lo = mid;
      else hi = mid;
    }
    observance(hi, previous, current);
    previous = current;
  }
  lines.push("END:VTIMEZONE");
  const zone = new ICAL.Timezone(new ICAL.Component(ICAL.parse(lines.join("\r\n")) as never));
  intlZoneCache.set(tzid, zone);
  return zone;
}

function utcOffset(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}${
    String(abs % 60).padStart(2, "0")
  }`;
}

interface EventGroup {
  uid: string;
  master: Component | null;
  overrides: Component[];
}

function groupByUid(vevents: Component[], skipped: SkippedEvent[]): EventGroup[] {
  const groups = new Map<string, EventGroup>();
  for (const vevent of vevents) {
    let uid = vevent.getFirstPropertyValue("uid");
    if (typeof uid !== "string" || uid.trim() === "") {
      // RFC 5545 requires a UID; some exporters omit it. A hash of the
      // event's text keeps the id stable across syncs of the same file.
      if (!vevent.hasProperty("dtstart")) {
        skipped.push({ externalId: null, reason: "event without UID and DTSTART" });
        continue;
      }
      uid = `nouid-${fnv1a(vevent.toString())}`;
    }
    let group = groups.get(uid as string);
    if (!group) {
      group = { uid: uid as string, master: null, overrides: [] };
      groups.set(uid as string, group);
    }
    if (vevent.hasProperty("recurrence-id")) group.overrides.push(vevent);
    else if (group.master === null) group.master = vevent;
    else skipped.push({ externalId: uid as string, reason: "duplicate event with the same UID" });
  }
  return [...groups.values()];
}

interface Occurrence {
  startMs: number;
  endMs: number;
  allDay: boolean;
}

function expandGroup(group: EventGroup, options: ExpandOptions, ownerZone: string, out: IcsImport) {
  const fromMs = options.from.getTime();
  const toMs = options.to.getTime();
  const limit = options.maxOccurrencesPerEvent ?? DEFAULT_MAX_OCCURRENCES;
  const overrideKeys = new Set<string>();
  const traits = new Map<Component, { free: boolean; meetingId: string | null }>();
  const emit = (id: string, occ: Occurrence, source: Component) => {
    if (occ.endMs <= fromMs || occ.startMs >= toMs) return;
    let t = traits.get(source);
    if (!t) {
      t = { free: isFree(source), meetingId: meetingIdOf(source, group.uid) };
      traits.set(source, t);
    }
    out.busy.push({
      externalId: id,
      start: new Date(occ.startMs).toISOString(),
      end: new Date(occ.endMs).toISOString(),
      allDay: occ.allDay,
      free: t.free,
      meetingId: t.meetingId,
    });
  };

  for (const override of group.overrides) {
    out.eventCount++;
    try {
      assertWellFormed(override);
      const recurrenceId = override.getFirstPropertyValue("recurrence-id") as Time;
      const key = instantKey(recurrenceId, override.getFirstProperty("recurrence-id"), options);
      overrideKeys.add(key);
      if (isCancelled(override)) continue;
      const occ = singleOccurrence(override, options, ownerZone);
      if (occ) emit(`${group.uid}/${key}`, occ, override);
    } catch (e) {
      out.skipped.push({ externalId: group.uid, reason: `override: ${describe(e)}` });
    }
  }

  const master = group.master;
  if (!master) return;
  out.eventCount++;
  try {
    assertWellFormed(master);
    if (isCancelled(master)) return;
    const first = singleOccurrence(master, options, ownerZone);
    if (!first) return;
    if (!master.hasProperty("rrule") && !master.hasProperty("rdate")) {
      emit(group.uid, first, master);
      return;
    }
    const durationMs = first.endMs - first.startMs;
    const dtstartProp = master.getFirstProperty("dtstart")!;
    const periods = rdatePeriods(master, options);
    const dateOptions = { ...options, timeZone: ownerZone };
    // ical.js cannot order PERIOD values among RDATEs; they are emitted
    // here and left out of its expansion.
    const expandable = periods.size > 0 ? withoutPeriodRdates(master) : master;
    const excluded = exdateKeys(master, options);
    let emitted = 0;
    for (const [key, period] of periods) {
      if (overrideKeys.has(key) || excluded.has(key)) continue;
      if (period.endMs <= fromMs || period.startMs >= toMs) continue;
      emit(`${group.uid}/${key}`, { ...period, allDay: false }, master);
      emitted++;
    }
    if (!expandable.hasProperty("rrule") && !expandable.hasProperty("rdate")) {
      const key = instantKey(dtstartProp.getFirstValue() as Time, dtstartProp, options);
      if (!overrideKeys.has(key) && !excluded.has(key)) {
        emit(`${group.uid}/${key}`, first, master);
      }
      return;
    }
    // Overrides are matched here; without an explicit (empty) list ical.js
    // scans every VEVENT of the calendar for each event, O(n²) on big feeds.
    const event = new ICAL.Event(expandable, { exceptions: [] });
    speedUpZones(expandable);
    const iterator = event.iterator();
    for (let i = 0; i < MAX_ITERATIONS; i++) {
      const next = iterator.next();
      if (!next) return;
      const startMs = timeToEpochMs(next, dtstartProp, next.isDate ? dateOptions : options);
      if (startMs >= toMs) return;
      const key = instantKey(next, dtstartProp, options);
      if (overrideKeys.has(key)) continue;
      // An RDATE may be a date-time in a date-time series and vice versa; its
      // length is the master's either way.
      const endMs = startMs + durationMs;
      if (endMs <= fromMs) continue;
      if (emitted >= limit) {
        out.skipped.push({
          externalId: group.uid,
          reason: `recurrence cut after ${limit} occurrences in the sync window`,
        });
        return;
      }
      emit(`${group.uid}/${key}`, { startMs, endMs, allDay: next.isDate }, master);
      emitted++;
    }
    out.skipped.push({
      externalId: group.uid,
      reason: `recurrence not followed past ${MAX_ITERATIONS} steps`,
    });
  } catch (e) {
    out.skipped.push({ externalId: group.uid, reason: describe(e) });
  }
}

// What ical.js accepts but no calendar means: a parameter name with stray
// characters (DTSTART;;VALUE=...), or two DTSTARTs.
function assertWellFormed(vevent: Component) {
  for (const prop of vevent.getAllProperties()) {
    const params = (prop.toJSON() as unknown[])[1] as Record<string, unknown>;
    for (const name of Object.keys(params)) {
      if (!/^[A-Za-z0-9-]+$/.test(name)) {
        throw new Error(`malformed parameter "${name}" on ${prop.name.toUpperCase()}`);
      }
    }
  }
  for (const name of ["dtstart", "dtend", "duration", "recurrence-id"]) {
    if (vevent.getAllProperties(name).length > 1) {
      throw new Error(`${name.toUpperCase()} appears more than once`);
    }
  }
  if (vevent.hasProperty("dtend") && vevent.hasProperty("duration")) {
    throw new Error("DTEND and DURATION are both present");
  }
}

// A cancelled event or occurrence is no event at all.
function isCancelled(vevent: Component): boolean {
  return String(vevent.getFirstPropertyValue("status") ?? "").toUpperCase() === "CANCELLED";
}

// TRANSP:TRANSPARENT: shown, but free time.
function isFree(vevent: Component): boolean {
  return String(vevent.getFirstPropertyValue("transp") ?? "OPAQUE").toUpperCase() === "TRANSPARENT";
}

// Ours: our marker property, or our UID (which survives a round trip
// through Google's or another server's iCalendar export).
function meetingIdOf(vevent: Component, uid: string): string | null {
  const v = vevent.getFirstPropertyValue(MEETING_ID_PROPERTY.toLowerCase());
  if (typeof v === "string" && v !== "") return v;
  return uid.endsWith(MEETING_UID_SUFFIX) ? uid.slice(0, -MEETING_UID_SUFFIX.length) : null;
}

// Start and end of an event (or of one override), per RFC 5545 3.6.1: DTEND,
// else DURATION, else one day for a date and no time for a date-time.
function singleOccurrence(
  vevent: Component,
  options: ExpandOptions,
  ownerZone: string,
): Occurrence | null {
  const dtstartProp = vevent.getFirstProperty("dtstart");
  if (!dtstartProp) throw new Error("DTSTART is missing");
  const start = dtstartProp.getFirstValue() as Time;
  if (!(start instanceof ICAL.Time)) throw new Error("DTSTART is not a date or date-time");
  const zoneOptions = start.isDate ? { ...options, timeZone: ownerZone } : options;
  const startMs = timeToEpochMs(start, dtstartProp, zoneOptions);
  let endMs: number;
  const dtendProp = vevent.getFirstProperty("dtend");
  const durationValue = vevent.getFirstPropertyValue("duration");
  if (dtendProp) {
    const end = dtendProp.getFirstValue() as Time;
    if (!(end instanceof ICAL.Time)) throw new Error("DTEND is not a date or date-time");
    endMs = timeToEpochMs(
      end,
      dtendProp,
      end.isDate ? { ...options, timeZone: ownerZone } : options,
    );
  } else if (durationValue) {
    const seconds = (durationValue as InstanceType<typeof ICAL.Duration>).toSeconds();
    if (!Number.isFinite(seconds) || Math.abs(seconds) > MAX_EVENT_SECONDS) {
      throw new Error(`DURATION ${durationValue} is not a plausible event length`);
    }
    endMs = startMs + seconds * 1000;
    if (start.isDate) {
      // Days of an all-day event are local days: DST does not shorten them.
      const end = start.clone();
      end.addDuration(durationValue as InstanceType<typeof ICAL.Duration>);
      endMs = timeToEpochMs(end, dtstartProp, zoneOptions);
    }
  } else if (start.isDate) {
    const end = start.clone();
    end.day += 1;
    endMs = timeToEpochMs(end, dtstartProp, zoneOptions);
  } else {
    endMs = startMs;
  }
  if (!Number.isFinite(startMs) || !Number.isFinite(endMs)) {
    throw new Error("DTSTART or DTEND is out of range");
  }
  if (endMs - startMs > MAX_EVENT_SECONDS * 1000) {
    throw new Error("the event lasts longer than five years");
  }
  if (endMs < startMs) throw new Error("DTEND is before DTSTART");
  // A zero-length event (DTSTART only) marks a moment, not busy time.
  if (endMs === startMs) return null;
  return { startMs, endMs, allDay: start.isDate };
}

// RDATE;VALUE=PERIOD gives an occurrence its own end.
function rdatePeriods(
  vevent: Component,
  options: ExpandOptions,
): Map<string, { startMs: number; endMs: number }> {
  const periods = new Map<string, { startMs: number; endMs: number }>();
  for (const prop of vevent.getAllProperties("rdate")) {
    for (const value of prop.getValues()) {
      if (value instanceof ICAL.Period) {
        periods.set(instantKey(value.start, prop, options), {
          startMs: timeToEpochMs(value.start, prop, options),
          endMs: timeToEpochMs(value.getEnd(), prop, options),
        });
      }
    }
  }
  return periods;
}

function withoutPeriodRdates(vevent: Component): Component {
  const copy = new ICAL.Component(vevent.toJSON() as never, vevent.parent ?? undefined);
  for (const prop of copy.getAllProperties("rdate")) {
    if (prop.getValues().some((v) => v instanceof ICAL.Period)) copy.removeProperty(prop);
  }
  return copy;
}

function exdateKeys(vevent: Component, options: ExpandOptions): Set<string> {
  const keys = new Set<string>();
  for (const prop of vevent.getAllProperties("exdate")) {
    for (const value of prop.getValues()) {
      if (value instanceof ICAL.Time) keys.add(instantKey(value, prop, options));
    }
  }
  return keys;
}

// A time's instant. ical.js knows UTC and zones defined in the document;
// a TZID it does not know (no VTIMEZONE) is read as an IANA zone, and a
// floating time in the calendar's or the owner's zone.
function timeToEpochMs(
  time: Time,
  prop: InstanceType<typeof ICAL.Property> | null,
  options: ExpandOptions,
): number {
  const zone = time.zone;
  const definedZone = zone && zone.tzid !== "floating" && zone !== ICAL.Timezone.localTimezone;
  if (!time.isDate && definedZone) return time.toUnixTime() * 1000;
  const tzid = prop?.getParameter("tzid");
  const zoneName = !time.isDate && typeof tzid === "string" && isKnownTimeZone(tzid)
    ? tzid
    : options.timeZone;
  if (!time.isDate && typeof tzid === "string" && !isKnownTimeZone(tzid)) {
    throw new Error(`unknown time zone "${tzid}" (no VTIMEZONE defines it)`);
  }
  return wallTimeToEpochMs(
    {
      year: time.year,
      month: time.month,
      day: time.day,
      hour: time.hour,
      minute: time.minute,
      second: time.second,
    },
    zoneName,
  );
}

// The key that ties an override's RECURRENCE-ID to the occurrence it
// replaces: the UTC instant for date-times, the date for dates.
function instantKey(
  time: Time,
  prop: InstanceType<typeof ICAL.Property> | null,
  options: ExpandOptions,
): string {
  if (time.isDate) {
    return `${String(time.year).padStart(4, "0")}${String(time.month).padStart(2, "0")}${
      String(time.day).padStart(2, "0")
    }`;
  }
  return compactUtc(timeToEpochMs(time, prop, options));
}

// 20240301T090000Z
function compactUtc(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => (n < 10 ? "0" : "") + n;
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}${
    p(d.getUTCMinutes())
  }${p(d.getUTCSeconds())}Z`;
}

// ical.js recomputes a zone's UTC offset from its rules on every comparison
// (a deep copy per step), which made recurrence expansion of a 5,000-event
// feed take seconds. Offsets only change at transitions, so a zone's offset
// is remembered per local hour (when the hour has no transition inside it).
// The wrapper inherits everything else from the zone it stands for.
type Zone = InstanceType<typeof ICAL.Timezone>;
type WallFields = {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
};
const fastZones = new WeakMap<Zone, Zone>();

function fastZone(zone: Zone): Zone {
  const known = fastZones.get(zone);
  if (known) return known;
  const cache = new Map<number, number>();
  const slow = (t: WallFields) => zone.utcOffset(t as never);
  const fast = Object.create(zone) as Zone;
  fast.utcOffset = ((tt: WallFields) => {
    const key = ((tt.year * 13 + tt.month) * 32 + tt.day) * 25 + tt.hour;
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const base = { year: tt.year, month: tt.month, day: tt.day, hour: tt.hour };
    const first = slow({ ...base, minute: 0, second: 0 });
    const last = slow({ ...base, minute: 59, second: 59 });
    if (first !== last) return slow(tt);
    cache.set(key, first);
    return first;
  }) as Zone["utcOffset"];
  fastZones.set(zone, fast);
  fastZones.set(fast, fast);
  return fast;
}

function speedUpZones(vevent: Component) {
  for (const name of ["dtstart", "dtend", "rdate", "exdate"]) {
    for (const prop of vevent.getAllProperties(name)) {
      for (const value of prop.getValues()) {
        const times = value instanceof ICAL.Period ? [value.start, value.end] : [value];
        for (const t of times) {
          if (!(t instanceof ICAL.Time) || !t.zone) continue;
          if (t.zone === ICAL.Timezone.utcTimezone || t.zone === ICAL.Timezone.localTimezone) {
            continue;
          }
          t.zone = fastZone(t.zone);
        }
      }
    }
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// 64-bit FNV-1a, hex: a stable id for events without a UID.
function fnv1a(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
}
