// Booking throughput: pgbench driving book_meeting the way PostgREST would
// (connected as authenticator, role and claims set per transaction), for
// distinct organisers and for one contended organiser, against baselines
// measured in the same run: a bare insert of one meeting row with no checks,
// and a bare insert into a table guarded by the same EXCLUDE constraint.
import {
  type BenchContext,
  ms,
  pgbench,
  type PgbenchResult,
  table,
  withoutBackgroundDelivery,
} from "./_harness.ts";
import { psqlCommand } from "../lib/cluster.ts";

export const title = "Booking throughput (issue 2)";

const CLIENTS = 8;
const SECONDS = 10;
const USERS = 64;

const setup = `
create schema if not exists bench;
grant usage on schema bench to authenticator, authenticated;
create table bench.users (n int primary key, id uuid not null, claims text not null);
create sequence bench.slot;
grant select on bench.users to authenticator, authenticated;
grant usage on sequence bench.slot to authenticator, authenticated;
insert into auth.users (instance_id, id, aud, role, email, raw_user_meta_data, created_at, updated_at)
select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated',
       'bench' || g || '@bench.example', '{"time_zone": "Europe/Berlin"}', now(), now()
from generate_series(0, ${USERS - 1}) g;
insert into bench.users (n, id, claims)
select substring(u.email from 'bench(\\d+)@')::int, u.id,
       json_build_object('sub', u.id, 'role', 'authenticated', 'email', u.email)::text
from auth.users u where u.email like 'bench%@bench.example';
-- Baselines: the same row with no checks at all, and with only the EXCLUDE.
create table bench.plain_meetings (
  id uuid primary key default gen_random_uuid(), organizer_id uuid, title text,
  start_at timestamptz, end_at timestamptz, time_zone text, created_at timestamptz default now());
create table bench.excluded_busy (
  user_id uuid not null, range tstzrange not null,
  exclude using gist (user_id with =, range with &&));
grant insert on bench.plain_meetings, bench.excluded_busy to authenticated;
`;

const slot = "timestamptz '2032-01-01 00:00Z' + nextval('bench.slot') * interval '30 minutes'";

// Every run pays the same per-request envelope PostgREST pays (BEGIN, role and
// claims in one statement, the call, COMMIT), so the ratios measure what the
// booking logic costs, not protocol round trips.
const envelope = (userExpr: string, body: string) => `
BEGIN;
SELECT set_config('role', 'authenticated', true), set_config('request.jwt.claims', claims, true)
FROM bench.users WHERE n = ${userExpr};
${body}
COMMIT;
`;

const bookingScript = (userExpr: string) =>
  envelope(
    userExpr,
    `SELECT public.book_meeting(p_title => 'bench', p_start => s, p_end => s + interval '25 minutes',
                           p_time_zone => 'Europe/Berlin')
FROM (SELECT ${slot} AS s) x;`,
  );

const plainInsert = envelope(
  `:client_id % ${USERS}`,
  `INSERT INTO bench.plain_meetings (organizer_id, title, start_at, end_at, time_zone)
SELECT (auth.uid()), 'bench', s, s + interval '25 minutes', 'Europe/Berlin'
FROM (SELECT ${slot} AS s) x;`,
);

const excludedInsert = envelope(
  `:client_id % ${USERS}`,
  `INSERT INTO bench.excluded_busy (user_id, range)
SELECT (auth.uid()), tstzrange(s, s + interval '25 minutes')
FROM (SELECT ${slot} AS s) x;`,
);

export async function run({ stack }: BenchContext): Promise<string> {
  await psqlCommand(stack.cluster, setup);
  const runs: [string, string][] = [
    ["baseline: plain INSERT of one meeting row, no checks", plainInsert],
    ["baseline: bare INSERT into an EXCLUDE-guarded table", excludedInsert],
    [
      `book_meeting, ${CLIENTS} clients, distinct organisers`,
      bookingScript(`:client_id % ${USERS}`),
    ],
    [`book_meeting, ${CLIENTS} clients, one organiser (contention)`, bookingScript("0")],
  ];
  const results: [string, PgbenchResult][] = [];
  for (const [name, script] of runs) {
    const r = await withoutBackgroundDelivery(stack, () =>
      pgbench(stack, {
        script,
        clients: CLIENTS,
        seconds: SECONDS,
        user: "authenticator",
      }));
    console.log(
      `${name}: ${r.tps.toFixed(0)} tps, median ${ms(r.latencyMedianMs)} ms, p95 ${
        ms(r.latencyP95Ms)
      } ms` +
        (r.failed ? `, ${r.failed} failed` : ""),
    );
    results.push([name, r]);
  }
  const base = results[0][1].tps;
  const [{ count }] = [{
    count: await psqlCommand(stack.cluster, "select count(*) from public.meetings"),
  }];
  const distinct = results[2][1].tps;
  const rows = results.map(([name, r]) => [
    name,
    r.tps.toFixed(0),
    ms(r.latencyMedianMs),
    ms(r.latencyP95Ms),
    (r.tps / base).toFixed(2),
    String(r.failed),
  ]);
  const verdict = `Targets: >= 1,000 bookings/s with ${CLIENTS} clients on distinct organisers ` +
    `(${distinct >= 1000 ? "met" : "NOT met"}: ${
      distinct.toFixed(0)
    }/s) and >= 0.25x the plain-insert ` +
    `baseline (${distinct / base >= 0.25 ? "met" : "NOT met"}: ${
      (distinct / base).toFixed(2)
    }x). ` +
    `${count.trim()} meetings booked in total, each with its attendee row, busy row, audit rows and ` +
    `confirmation notice and two reminders (the local e-mail sender is not woken meanwhile: ` +
    `on a hosted project it runs in the Edge runtime, not on the database's cores).`;
  console.log(verdict);
  return table([
    "run (pgbench, " + SECONDS + " s each)",
    "TPS",
    "median ms",
    "p95 ms",
    "x baseline",
    "failed",
  ], rows) +
    "\n\n" + verdict;
}
