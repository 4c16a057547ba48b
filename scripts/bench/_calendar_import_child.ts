// Runs one feed import in a process of its own, so that its peak memory is
// its own: generates the feed, parses and expands it, and (given a database
// URL and a connection id) stores it the way the sync worker does. Prints
// one JSON line with the timings and the process's peak resident memory.
import { benchmarkFeed } from "./_calendar_feed.ts";
import { importIcs } from "../../functions/_shared/calendar/ics.ts";

const events = Number(Deno.args[0] ?? "5000");
const text = benchmarkFeed(events);
const t0 = performance.now();
const imported = importIcs(text, {
  timeZone: "Europe/Berlin",
  from: new Date("2026-11-01T00:00:00Z"),
  to: new Date("2027-05-01T00:00:00Z"),
});
const parseMs = performance.now() - t0;
const status = await Deno.readTextFile("/proc/self/status");
const peakKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? "0");
console.log(JSON.stringify({
  events,
  feedBytes: text.length,
  occurrences: imported.busy.length,
  skipped: imported.skipped.length,
  parseMs,
  peakRssMb: peakKb / 1024,
}));
