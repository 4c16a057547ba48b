// The REST API under load, against the SQL functions it wraps, in the same
// run: autocannon (Node, the npm package pinned in package.json) drives
// POST /meetings (every request a distinct slot, so every one books) and
// GET /availability through the real gateway, rate limiter, JWT check and
// transaction; pgbench calls the same SQL functions directly, as PostgREST
// would (role and claims set in the transaction), with as many connections
// as the API's pool. The ratio is what the HTTP layer costs.
import postgres from "postgres";
import { type BenchContext, ms, pgbench, table } from "./_harness.ts";
import { dbUrl, PROJECT_ROOT } from "../lib/cluster.ts";
import { signUserToken } from "../lib/keys.ts";
import { join } from "../lib/paths.ts";

export const title = "REST API (autocannon) against direct SQL calls";

const SECONDS = Number(Deno.env.get("BENCH_API_SECONDS") ?? "10");
const CONNECTIONS = 20; // HTTP connections: enough to keep the API's pool busy
const DB_CLIENTS = 10; // = the function's DB_POOL_SIZE default
const USERS = 64;
const TARGET_RPS = 500;

interface CannonResult {
  rps: number;
  total: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  statuses: Record<string, number>;
}

// Runs in Node: setupRequest gives every request its own user, address and,
// for bookings, its own hour, so every booking succeeds.
const RUNNER = `
import { createRequire } from "node:module";
const cfg = JSON.parse(process.argv[2]);
const autocannon = createRequire(cfg.root + "/package.json")("autocannon");
let n = 0;
const result = await autocannon({
  url: cfg.origin,
  connections: cfg.connections,
  duration: cfg.seconds,
  requests: [{
    method: cfg.method,
    setupRequest: (req) => {
      const i = n++;
      const u = i % cfg.tokens.length;
      const headers = {
        authorization: "Bearer " + cfg.tokens[u],
        "x-forwarded-for": "2001:db8::" + (u + 1).toString(16),
        "content-type": "application/json",
      };
      if (cfg.method === "GET") return { ...req, path: cfg.path, headers };
      const start = new Date(cfg.base + i * 3600000);
      const end = new Date(start.getTime() + 1800000);
      const body = JSON.stringify({
        title: "bench " + i, start: start.toISOString(), end: end.toISOString(), time_zone: "UTC",
      });
      return { ...req, path: cfg.path, headers, body };
    },
  }],
});
console.log(JSON.stringify({
  rps: result.requests.average,
  total: result.requests.total,
  p50: result.latency.p50,
  p99: result.latency.p99,
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
  statuses: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
}));
`;

async function autocannon(cfg: Record<string, unknown>): Promise<CannonResult> {
  const dir = await Deno.makeTempDir({ prefix: "bench-api-" });
  const script = join(dir, "runner.mjs");
  await Deno.writeTextFile(script, RUNNER);
  const out = await new Deno.Command("node", {
    args: [
      script,
      JSON.stringify({ root: PROJECT_ROOT, connections: CONNECTIONS, seconds: SECONDS, ...cfg }),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(dir, { recursive: true });
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  if (out.code !== 0 || !text.startsWith("{")) {
    throw new Error(`autocannon failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(text);
}

async function createUsers(admin: postgres.Sql, prefix: string): Promise<string[]> {
  const ids = Array.from({ length: USERS }, () => crypto.randomUUID());
  for (const [i, id] of ids.entries()) {
    await admin`
      insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data,
                              raw_user_meta_data, email_confirmed_at, created_at, updated_at)
      values ('00000000-0000-0000-0000-000000000000', ${id}, 'authenticated', 'authenticated',
              ${`${prefix}${i}@bench.example`}, '{"provider": "email"}', '{}', now(), now(), now())`;
  }
  return ids;
}

// Book at 00:00 UTC on a day far enough out that no notice rule applies;
// each request then takes its own hour after it.
function baseInstant(daysAhead: number): number {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  return d.getTime() + daysAhead * 86_400_000;
}

const BOOK_SQL = `
\\set u random(1, ${USERS})
select nextval('bench30.slot') as k, (select id::text from bench30.users where n = :u) as uid \\gset
begin;
select set_config('role', 'authenticated', true),
       set_config('request.jwt.claims', json_build_object('sub', :uid::text, 'role', 'authenticated')::text, true);
select public.book_meeting(p_title => 'bench',
  p_start => to_timestamp(:base::double precision) + make_interval(hours => :k::integer),
  p_end => to_timestamp(:base::double precision) + make_interval(hours => :k::integer, mins => 30),
  p_time_zone => 'UTC');
commit;
`;

const AVAILABILITY_SQL = `
\\set u random(1, ${USERS})
select (select id::text from bench30.users where n = :u) as uid \\gset
begin;
select set_config('role', 'authenticated', true),
       set_config('request.jwt.claims', json_build_object('sub', :uid::text, 'role', 'authenticated')::text, true);
select public.get_availability(p_user_ids => array[:a::uuid, :b::uuid],
  p_start => to_timestamp(:from::double precision), p_end => to_timestamp(:to::double precision),
  p_duration_minutes => 30, p_time_zone => 'UTC', p_limit => 100);
commit;
`;

interface Row {
  route: string;
  api: CannonResult;
  sql: { tps: number; median: number; p95: number; failed: number };
}

export async function run({ stack }: BenchContext): Promise<string> {
  const admin = postgres(dbUrl(stack.cluster, "supabase_admin"), { max: 2, onnotice: () => {} });
  const origin = `${stack.apiUrl}`;
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    const apiUsers = await createUsers(admin, "api");
    const sqlUsers = await createUsers(admin, "sql");
    await admin`create schema if not exists bench30`;
    await admin`create sequence if not exists bench30.slot`;
    await admin`create table if not exists bench30.users (n integer primary key, id uuid not null)`;
    await admin`insert into bench30.users ${admin(sqlUsers.map((id, i) => ({ n: i + 1, id })))}`;
    await admin`grant usage on schema bench30 to postgres`;
    await admin`grant select, usage on all sequences in schema bench30 to postgres`;
    await admin`grant select on all tables in schema bench30 to postgres`;
    const tokens = await Promise.all(
      apiUsers.map((id, i) =>
        signUserToken({ id, email: `api${i}@bench.example`, apiUrl: origin })
      ),
    );

    // POST /meetings: each side books in its own far-apart range of hours.
    console.log(`POST /meetings: autocannon ${CONNECTIONS} connections, ${SECONDS} s`);
    const book = await autocannon({
      origin,
      method: "POST",
      path: "/functions/v1/api/meetings",
      tokens,
      base: baseInstant(30),
    });
    console.log(`  ${book.rps.toFixed(0)} req/s, statuses ${JSON.stringify(book.statuses)}`);
    console.log(`POST /meetings: pgbench book_meeting, ${DB_CLIENTS} clients, ${SECONDS} s`);
    const bookSql = await pgbench(stack, {
      script: BOOK_SQL,
      clients: DB_CLIENTS,
      seconds: SECONDS,
      defines: { base: baseInstant(30 + 365 * 10) / 1000 },
    });
    rows.push({
      route: "POST /meetings (book_meeting)",
      api: book,
      sql: {
        tps: bookSql.tps,
        median: bookSql.latencyMedianMs,
        p95: bookSql.latencyP95Ms,
        failed: bookSql.failed,
      },
    });

    const [{ present }] = await admin<{ present: boolean }[]>`
      select to_regproc('public.get_availability') is not null as present`;
    if (!present) {
      notes.push(
        "GET /availability: skipped, public.get_availability does not exist in this build.",
      );
    } else {
      const from = baseInstant(3);
      const to = from + 7 * 86_400_000;
      const path = `/functions/v1/api/availability?user_ids=${apiUsers[0]},${apiUsers[1]}` +
        `&start=${new Date(from).toISOString()}&end=${new Date(to).toISOString()}` +
        `&duration_minutes=30&limit=100`;
      console.log(`GET /availability: autocannon ${CONNECTIONS} connections, ${SECONDS} s`);
      const avail = await autocannon({ origin, method: "GET", path, tokens });
      console.log(`  ${avail.rps.toFixed(0)} req/s, statuses ${JSON.stringify(avail.statuses)}`);
      const availSql = await pgbench(stack, {
        script: AVAILABILITY_SQL,
        clients: DB_CLIENTS,
        seconds: SECONDS,
        defines: { a: sqlUsers[0], b: sqlUsers[1], from: from / 1000, to: to / 1000 },
      });
      rows.push({
        route: "GET /availability (get_availability, 2 users, 7 days)",
        api: avail,
        sql: {
          tps: availSql.tps,
          median: availSql.latencyMedianMs,
          p95: availSql.latencyP95Ms,
          failed: availSql.failed,
        },
      });
    }
  } finally {
    await admin.end();
  }

  const verdicts = rows.map((r) => {
    const ratio = r.api.rps / r.sql.tps;
    const ok = r.api.rps >= TARGET_RPS && ratio >= 0.5 && r.api.non2xx === 0 && r.api.errors === 0;
    return { r, ratio, ok };
  });
  const out = [
    table(
      [
        "route",
        "API req/s",
        "API p50 ms",
        "API p99 ms",
        "API non-2xx",
        "direct SQL tx/s",
        "SQL p50 ms",
        "SQL p95 ms",
        "API / SQL",
        `target (>= ${TARGET_RPS}/s, >= 0.5)`,
      ],
      verdicts.map(({ r, ratio, ok }) => [
        r.route,
        r.api.rps.toFixed(0),
        ms(r.api.p50),
        ms(r.api.p99),
        `${r.api.non2xx + r.api.errors}`,
        r.sql.tps.toFixed(0),
        ms(r.sql.median),
        ms(r.sql.p95),
        ratio.toFixed(2),
        ok ? "met" : "missed",
      ]),
    ),
    "",
    `autocannon: ${CONNECTIONS} connections for ${SECONDS} s per route, ${USERS} users and ` +
    `addresses in rotation (rate limits on, logging on); pgbench: ${DB_CLIENTS} clients (the ` +
    `function's pool size), the same SQL function with role and claims set as PostgREST does. ` +
    `Everything, load generators included, shares the machine's cores.`,
    ...notes,
  ];
  return out.join("\n");
}
