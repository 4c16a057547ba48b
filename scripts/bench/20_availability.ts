// The availability engine (issue 3), measured as a client sees it: one SQL
// call of public.get_availability over a prepared statement, as a signed-in
// user (role authenticated + JWT claims, as PostgREST sets them).
//
//   1 user, 30 days, 30-minute slots: two years of history (2,000 meetings)
//     and 500 external busy blocks, against the bare index scan that reads
//     the same busy rows (the floor any implementation pays);
//   50 users (eight European zones), 30 days, common slots;
//   both again with 10 thousand and with 1 million meetings of other people
//     in the same tables.
//
// Data is generated set-based as the superuser, triggers off, writing exactly
// the rows the triggers would: meetings, their organiser attendee row and the
// busy row padded by the organiser's buffers (audit rows are left out).
import postgres from "postgres";
import { dbUrl } from "../lib/cluster.ts";
import { type BenchContext, type LatencySummary, ms, summarise, table } from "./_harness.ts";

export const title = "Availability engine: get_availability";

const SOLO = "bench-solo";
const TEAM_SIZE = 50;
const TEAM_ZONES = [
  "Europe/Berlin",
  "Europe/Paris",
  "Europe/Madrid",
  "Europe/Rome",
  "Europe/Warsaw",
  "Europe/London",
  "Europe/Lisbon",
  "Europe/Dublin",
];
const OTHER_MEETINGS_PER_USER = 100;
const STAGES = [0, 10_000, 1_000_000];

// Anything that runs SQL: a pool or the transaction inside begin().
type Sql = Pick<postgres.Sql, "unsafe">;

// People: the solo user, the team, and "others" numbered from..to. Profiles
// and working hours are inserted directly (the default-hours trigger is off).
async function addPeople(sql: Sql, prefix: string, from: number, to: number, zones: string[]) {
  await sql.unsafe(
    `insert into public.profiles (id, email, display_name, time_zone, buffer_after_minutes)
     select md5($1 || u)::uuid, $1 || u || '@bench.example', $1 || u, ($2::text[])[1 + u % cardinality($2::text[])], 10
     from generate_series($3::integer, $4::integer) u`,
    [prefix, zones, from, to],
  );
  await sql.unsafe(
    `insert into public.working_hours (user_id, weekday, start_time, end_time)
     select md5($1 || u)::uuid, d, '09:00', '17:00'
     from generate_series($2::integer, $3::integer) u, generate_series(1, 5) d`,
    [prefix, from, to],
  );
}

// Meetings organised by each of those people: `perDay`-spaced, at 09:00,
// 11:30 or 14:00 local (45 minutes), from `daysBack` days ago to 30 days
// ahead; the busy row is padded by the organiser's 10-minute after-buffer.
async function addMeetings(
  sql: Sql,
  prefix: string,
  from: number,
  to: number,
  count: number,
  daysBack: number,
) {
  await sql.unsafe(`drop table if exists bench_meeting`);
  await sql.unsafe(
    `create temp table bench_meeting as
     select md5($1 || u || '/' || i)::uuid as id, md5($1 || u)::uuid as organizer_id,
            $1 || u || '@bench.example' as email, p.time_zone,
            ((current_date - $5::integer + (i * ($5::integer + 30) / $4::integer))::timestamp
               + time '09:00' + (i % 3) * interval '150 minutes') at time zone p.time_zone as start_at
     from generate_series($2::integer, $3::integer) u
     join public.profiles p on p.id = md5($1 || u)::uuid
     cross join generate_series(0, $4::integer - 1) i`,
    [prefix, from, to, count, daysBack],
  );
  await sql.unsafe(
    `insert into public.meetings (id, organizer_id, title, start_at, end_at, time_zone)
     select id, organizer_id, 'Bench meeting', start_at, start_at + interval '45 minutes', time_zone
     from bench_meeting`,
  );
  await sql.unsafe(
    `insert into public.attendees (meeting_id, user_id, email, role, response_status, responded_at)
     select id, organizer_id, email, 'organizer', 'accepted', now() from bench_meeting`,
  );
  await sql.unsafe(
    `insert into private.busy_blocks (meeting_id, user_id, buffer_before_minutes, buffer_after_minutes, range, active)
     select id, organizer_id, 0, 10, tstzrange(start_at, start_at + interval '55 minutes'), true
     from bench_meeting`,
  );
}

// External busy blocks spread pseudo-randomly over the next 60 days.
async function addExternalBusy(sql: Sql, prefix: string, from: number, to: number, count: number) {
  await sql.unsafe(
    `insert into private.external_busy (user_id, external_id, range)
     select md5($1 || u)::uuid, 'bench-' || i,
            tstzrange(t, t + (30 + 30 * (i % 2)) * interval '1 minute')
     from generate_series($2::integer, $3::integer) u,
          lateral (select i, date_trunc('hour', now())
                             + ((i * 7919 + u * 104729) % (60 * 24 * 60)) * interval '1 minute' as t
                   from generate_series(0, $4::integer - 1) i) x`,
    [prefix, from, to, count],
  );
}

async function loadBase(admin: postgres.Sql) {
  await admin.begin(async (sql) => {
    await sql.unsafe(`set local session_replication_role = replica`);
    await addPeople(sql, SOLO, 0, 0, ["Europe/Berlin"]);
    await addMeetings(sql, SOLO, 0, 0, 2000, 700);
    await addExternalBusy(sql, SOLO, 0, 0, 500);
    await addPeople(sql, "bench-team-", 1, TEAM_SIZE, TEAM_ZONES);
    await addMeetings(sql, "bench-team-", 1, TEAM_SIZE, 300, 270);
    await addExternalBusy(sql, "bench-team-", 1, TEAM_SIZE, 20);
  });
}

// Other people's meetings, up to `total` in all (100 per person).
async function growOthers(admin: postgres.Sql, have: number, total: number) {
  const fromUser = have / OTHER_MEETINGS_PER_USER + 1;
  const toUser = total / OTHER_MEETINGS_PER_USER;
  const batch = 500;
  for (let u = fromUser; u <= toUser; u += batch) {
    const last = Math.min(toUser, u + batch - 1);
    await admin.begin(async (sql) => {
      await sql.unsafe(`set local session_replication_role = replica`);
      await addPeople(sql, "bench-other-", u, last, [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Asia/Tokyo",
      ]);
      await addMeetings(sql, "bench-other-", u, last, OTHER_MEETINGS_PER_USER, 700);
    });
  }
}

// Interleaved rounds, so that noise from other work on the machine falls on
// every measured query alike.
async function measure(
  queries: Record<string, () => Promise<unknown>>,
  rounds: number,
  perRound: Record<string, number>,
): Promise<Record<string, LatencySummary>> {
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(queries)) {
    samples[name] = [];
    for (let i = 0; i < 5; i++) await queries[name]();
  }
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of Object.entries(queries)) {
      for (let i = 0; i < perRound[name]; i++) {
        const t0 = performance.now();
        await run();
        samples[name].push(performance.now() - t0);
      }
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarise(v)]));
}

export async function run(ctx: BenchContext): Promise<string> {
  const admin = postgres(dbUrl(ctx.stack.cluster, "supabase_admin"), {
    max: 1,
    onnotice: () => {},
  });
  const user = postgres(dbUrl(ctx.stack.cluster, "supabase_admin"), { max: 1, onnotice: () => {} });
  try {
    console.log("loading: 1 user with 2,000 meetings and 500 external blocks, 50 team members");
    let t0 = performance.now();
    await loadBase(admin);
    await admin.unsafe(`vacuum analyze`);
    console.log(`  loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const [{ solo }] = await admin`select md5(${SOLO + "0"})::uuid as solo`;
    const team: string[] = (await admin`
      select md5('bench-team-' || u)::uuid as id from generate_series(1, ${TEAM_SIZE}::integer) u`)
      .map((r) => r.id);

    // As PostgREST runs an RPC for a signed-in user.
    await user.unsafe(`set role authenticated`);
    await user`select set_config('request.jwt.claims', ${
      JSON.stringify({ sub: solo, role: "authenticated" })
    }, false)`;

    const window = async () => {
      const [w] = await admin`select now() as start, now() + interval '30 days' as end`;
      return w as { start: Date; end: Date };
    };

    const rows: (string | number)[][] = [];
    const checks: string[] = [];
    let have = 0;
    for (const stage of STAGES) {
      if (stage > have) {
        console.log(`loading other people's meetings: ${have} -> ${stage}`);
        t0 = performance.now();
        await growOthers(admin, have, stage);
        await admin.unsafe(`vacuum analyze`);
        console.log(`  loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        have = stage;
      }
      const w = await window();
      const soloCall = () =>
        user`select public.get_availability(${[solo]}::uuid[], ${w.start}, ${w.end}, 30, null,
                                            'Europe/Berlin', null, null, 1000) as a`;
      const teamCall = () =>
        user`select public.get_availability(${team}::uuid[], ${w.start}, ${w.end}, 30, null,
                                            'Europe/Berlin', null, null, 1000) as a`;
      // The same busy rows get_availability reads for the solo user: meetings
      // and external blocks overlapping the window.
      const indexScan = () =>
        admin`select range from private.busy_blocks
              where user_id = ${solo} and active and range && tstzrange(${w.start}, ${w.end})
              union all
              select range from private.external_busy
              where user_id = ${solo} and range && tstzrange(${w.start}, ${w.end})`;

      const [soloAnswer] = await soloCall();
      const [teamAnswer] = await teamCall();
      const busyRows = (await indexScan()).length;
      const soloSlots = soloAnswer.a.slots.length;
      const teamSlots = teamAnswer.a.slots.length;
      console.log(
        `  ${stage} other meetings: solo ${soloSlots} slots from ${busyRows} busy rows, team ${teamSlots} common slots`,
      );
      if (soloSlots === 0 || teamSlots === 0 || busyRows < 300) {
        checks.push(
          `stage ${stage}: unexpected data (solo ${soloSlots} slots, team ${teamSlots}, ${busyRows} busy rows)`,
        );
      }

      const s = await measure(
        { solo: soloCall, scan: indexScan, team: teamCall },
        10,
        { solo: 30, scan: 30, team: 6 },
      );
      const ratio = s.solo.median / s.scan.median;
      console.log(
        `  1 user ${ms(s.solo.median)}/${ms(s.solo.p95)} ms, index scan ${ms(s.scan.median)}/${
          ms(s.scan.p95)
        } ms ` +
          `(x${ratio.toFixed(1)}), 50 users ${ms(s.team.median)}/${ms(s.team.p95)} ms`,
      );
      rows.push([
        stage.toLocaleString("en-US"),
        `${ms(s.solo.median)} / ${ms(s.solo.p95)}`,
        `${ms(s.scan.median)} / ${ms(s.scan.p95)}`,
        `${ratio.toFixed(1)}x`,
        `${ms(s.team.median)} / ${ms(s.team.p95)}`,
        `${soloSlots} / ${teamSlots}`,
      ]);
      if (s.solo.median >= 3) {
        checks.push(`stage ${stage}: 1 user median ${ms(s.solo.median)} ms (target < 3 ms)`);
      }
      if (ratio > 5) {
        checks.push(`stage ${stage}: 1 user is ${ratio.toFixed(1)}x the index scan (target <= 5x)`);
      }
      if (s.team.median >= 30) {
        checks.push(`stage ${stage}: 50 users median ${ms(s.team.median)} ms (target < 30 ms)`);
      }
    }

    const verdict = checks.length === 0
      ? "All targets met at every scale: 1 user < 3 ms median and within 5x of the index scan, 50 users < 30 ms median."
      : `Targets missed: ${checks.join("; ")}.`;
    return [
      "Medians / p95 in ms, client-side (postgres.js, prepared statements), as a signed-in user; " +
      "30-day window, 30-minute slots, all slots in one page (limit 1000).",
      "",
      table(
        [
          "other meetings",
          "1 user (2,000 meetings, 500 external)",
          "bare index scan, same rows",
          "ratio",
          "50 users, common slots",
          "slots (1 / 50)",
        ],
        rows,
      ),
      "",
      verdict,
    ].join("\n");
  } finally {
    await user.end();
    await admin.end();
  }
}
