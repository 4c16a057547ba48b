// One feed import in a process of its own, so that its peak memory is its
// own: fetches the feed over HTTP, parses and expands it (ConnectionClient,
// as the worker does) and, given a database URL, a connection and its lease,
// stores it with apply_calendar_pull. Prints one JSON line: timings and the
// process's peak resident memory (VmHWM).
import postgres from "postgres";
import { ConnectionClient } from "../../functions/_shared/calendar/connection.ts";
import { endpointsFromEnv } from "../../functions/_shared/calendar/connection.ts";

const [feedUrl, dbUrl, connectionId, lease, from, to] = Deno.args;
const t0 = performance.now();
const client = new ConnectionClient(
  { provider: "ics", calendarRef: feedUrl, credentials: null },
  endpointsFromEnv(() => undefined),
);
const window = { from: new Date(from), to: new Date(to), timeZone: "Europe/Berlin" };
const pulled = await client.pull(null, window);
const pullMs = performance.now() - t0;
let storeMs = 0;
if (dbUrl) {
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  const t1 = performance.now();
  const r = pulled.result;
  await sql`select private.apply_calendar_pull(${connectionId}, ${lease}, ${r.full},
    ${sql.json(r.items as never)}, ${r.removedItems}::text[], ${sql.json(r.cursor as never)})`;
  storeMs = performance.now() - t1;
  await sql.end();
}
const status = await Deno.readTextFile("/proc/self/status");
console.log(JSON.stringify({
  occurrences: pulled.result.items.reduce((n, i) => n + i.busy.length, 0),
  skipped: pulled.result.skipped.length,
  pullMs,
  storeMs,
  totalMs: performance.now() - t0,
  peakRssMb: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? "0") / 1024,
}));
