// Local stand-in for pg_net's background worker: sends the requests queued by
// net.http_get/http_post/http_delete after their transaction commits, and
// records each answer in net._http_response, as pg_net does (at most once: a
// request is taken off the queue before it is sent).
import postgres from "postgres";
import { exitWithParent } from "./lib/parent_watch.ts";

exitWithParent();

const dbUrl = Deno.env.get("NET_WORKER_DB_URL");
if (!dbUrl) throw new Error("NET_WORKER_DB_URL is required");
const sql = postgres(dbUrl, { max: 4, onnotice: () => {} });
const BATCH = 200;
const RESPONSE_TTL = "6 hours";

interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string> | null;
  body: Uint8Array | null;
  timeout_milliseconds: number;
}

async function send(r: QueuedRequest) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), r.timeout_milliseconds);
  try {
    const res = await fetch(r.url, {
      method: r.method.toUpperCase(),
      headers: r.headers ?? {},
      body: r.method.toUpperCase() === "GET" || !r.body ? undefined : new Uint8Array(r.body),
      signal: controller.signal,
    });
    const content = await res.text();
    await sql`
      insert into net._http_response (id, status_code, content_type, headers, content, timed_out)
      values (${r.id}, ${res.status}, ${res.headers.get("content-type")},
              ${sql.json(Object.fromEntries(res.headers))}, ${content}, false)`;
  } catch (err) {
    const timedOut = controller.signal.aborted;
    await sql`
      insert into net._http_response (id, timed_out, error_msg)
      values (${r.id}, ${timedOut}, ${timedOut ? "Timeout was reached" : String(err)})`;
  } finally {
    clearTimeout(timer);
  }
}

let draining = false;
let again = false;
async function drain() {
  if (draining) {
    again = true;
    return;
  }
  draining = true;
  try {
    do {
      again = false;
      const batch = await sql<QueuedRequest[]>`
        delete from net.http_request_queue
        where id in (select id from net.http_request_queue order by id limit ${BATCH}
                     for update skip locked)
        returning id, method, url, headers, body, timeout_milliseconds`;
      await Promise.all(batch.map(send));
      if (batch.length === BATCH) again = true;
    } while (again);
  } catch (err) {
    console.error(JSON.stringify({ level: "error", worker: "net", msg: String(err) }));
  } finally {
    draining = false;
  }
}

await sql.listen("pg_net_wake", () => drain());
// A wake-up can be missed while reconnecting; poll as pg_net's worker does.
setInterval(drain, 1000);
setInterval(
  () =>
    sql`delete from net._http_response where created < now() - ${RESPONSE_TTL}::interval`.catch(
      () => {},
    ),
  60_000,
);
await drain();
