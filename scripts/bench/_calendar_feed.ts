// A deterministic iCalendar feed for the calendar benchmark: `events`
// VEVENTs in a zone with DST (a VTIMEZONE for it), one in five recurring
// (daily with COUNT, weekly on weekdays, monthly by day), a few with
// EXDATEs and overrides, some all-day, some free.
export function benchmarkFeed(events: number, start = Date.UTC(2026, 10, 1)): string {
  const lines = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//meeting-scheduler//bench//EN",
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Berlin",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
  ];
  const local = (ms: number) => new Date(ms).toISOString().replace(/[-:]|\.\d{3}Z/g, "");
  for (let i = 0; i < events; i++) {
    const day = start + (i % 180) * 86_400_000;
    const startMs = day + (8 + (i % 9)) * 3600_000 + (i % 2) * 1800_000;
    const uid = `bench-${i}@bench.example`;
    lines.push("BEGIN:VEVENT", `UID:${uid}`, "DTSTAMP:20261101T000000Z");
    if (i % 25 === 0) {
      lines.push(`DTSTART;VALUE=DATE:${local(day).slice(0, 8)}`);
    } else {
      lines.push(
        `DTSTART;TZID=Europe/Berlin:${local(startMs)}`,
        `DTEND;TZID=Europe/Berlin:${local(startMs + 45 * 60_000)}`,
      );
    }
    if (i % 5 === 1) lines.push("RRULE:FREQ=DAILY;COUNT=30");
    if (i % 5 === 2 && i % 10 !== 2) {
      lines.push("RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20270501T000000Z");
    }
    if (i % 10 === 2) {
      lines.push(
        "RRULE:FREQ=MONTHLY;BYMONTHDAY=15",
        `EXDATE;TZID=Europe/Berlin:${local(startMs + 14 * 86_400_000)}`,
      );
    }
    if (i % 7 === 0) lines.push("TRANSP:TRANSPARENT");
    lines.push(`SUMMARY:Benchmark event ${i}`, "END:VEVENT");
    if (i % 50 === 1) {
      // An override moving the third occurrence of a daily series.
      const rid = startMs + 2 * 86_400_000;
      lines.push(
        "BEGIN:VEVENT",
        `UID:${uid}`,
        "DTSTAMP:20261101T000000Z",
        `RECURRENCE-ID;TZID=Europe/Berlin:${local(rid)}`,
        `DTSTART;TZID=Europe/Berlin:${local(rid + 3 * 3600_000)}`,
        `DTEND;TZID=Europe/Berlin:${local(rid + 4 * 3600_000)}`,
        "END:VEVENT",
      );
    }
  }
  lines.push("END:VCALENDAR", "");
  return lines.join("\r\n");
}
