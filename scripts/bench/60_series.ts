// Recurring meetings: latency of booking a weekly series for a year (52
// occurrences) and a daily one (365), every occurrence conflict-checked and
// written with its attendee, busy and audit rows; against a baseline measured
// in the same run: one plain INSERT of the same number of meeting rows.
import postgres from "postgres";
import { type BenchContext, ms, summarise, table, withoutBackgroundDelivery } from "./_harness.ts";
import { dbUrl, psqlCommand } from "../lib/cluster.ts";

export const title = "Recurring meetings (issue 7)";

const RUNS = 15;

export async function run({ stack }: BenchContext): Promise<string> {
  await psqlCommand(
    stack.cluster,
    `create schema if not exists bench;
     create table if not exists bench.series_plain (like public.meetings including defaults);
     grant usage on schema bench to authenticator, authenticated;
     insert into auth.users (instance_id, id, aud, role, email, raw_user_meta_data, created_at, updated_at)
     select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated',
            'series' || g || '@bench.example', '{"time_zone": "Europe/Berlin"}', now(), now()
     from generate_series(1, ${RUNS * 2 + 10}) g;`,
  );
  const admin = postgres(dbUrl(stack.cluster, "supabase_admin"), { max: 1, onnotice: () => {} });
  const db = postgres(dbUrl(stack.cluster, "authenticator"), { max: 1, onnotice: () => {} });
  const users = await admin<{ id: string; email: string }[]>`
    select id, email from auth.users where email like 'series%@bench.example' order by email`;
  let next = 0;
  const book = async (rule: string) => {
    const u = users[next++];
    const t0 = performance.now();
    await db.begin(async (tx) => {
      await tx`select set_config('role', 'authenticated', true),
                      set_config('request.jwt.claims', ${
        JSON.stringify({ sub: u.id, role: "authenticated" })
      }, true)`;
      await tx`select public.book_meeting_series(p_title => 'bench', p_recurrence => ${rule},
                 p_start => now() + interval '1 day', p_end => now() + interval '1 day 30 minutes',
                 p_time_zone => 'Europe/Berlin')`;
    });
    return performance.now() - t0;
  };
  const plain = async (n: number) => {
    const t0 = performance.now();
    await admin`insert into bench.series_plain (organizer_id, title, start_at, end_at, time_zone)
                select ${
      users[0].id
    }, 'bench', now() + g * interval '1 day', now() + g * interval '1 day' + interval '30 minutes', 'Europe/Berlin'
                from generate_series(1, ${n}) g`;
    return performance.now() - t0;
  };
  const sample = async (fn: () => Promise<number>) => {
    await fn(); // warm-up
    const xs: number[] = [];
    for (let i = 0; i < RUNS - 1; i++) xs.push(await fn());
    return summarise(xs);
  };
  try {
    const { weekly, daily } = await withoutBackgroundDelivery(stack, async () => ({
      weekly: await sample(() => book("FREQ=WEEKLY;COUNT=52")),
      daily: await sample(() => book("FREQ=DAILY;COUNT=365")),
    }));
    const plain52 = await sample(() => plain(52));
    const plain365 = await sample(() => plain(365));
    const rows = [
      ["baseline: plain INSERT of 52 meeting rows", ms(plain52.median), ms(plain52.p95), "1.0"],
      [
        "book_meeting_series, weekly for a year (52)",
        ms(weekly.median),
        ms(weekly.p95),
        (weekly.median / plain52.median).toFixed(1),
      ],
      ["baseline: plain INSERT of 365 meeting rows", ms(plain365.median), ms(plain365.p95), "1.0"],
      [
        "book_meeting_series, daily for a year (365)",
        ms(daily.median),
        ms(daily.p95),
        (daily.median / plain365.median).toFixed(1),
      ],
    ];
    for (const r of rows) console.log(`${r[0]}: median ${r[1]} ms, p95 ${r[2]} ms`);
    const verdict = `Target: the daily series under 200 ms with every occurrence checked ` +
      `(${daily.median < 200 ? "met" : "NOT met"}: median ${
        ms(daily.median)
      } ms). Each occurrence is a ` +
      `meeting with organiser attendee row, busy row and audit rows; ${
        RUNS - 1
      } runs after a warm-up, ` +
      `one organiser per run.`;
    console.log(verdict);
    return table(["run", "median ms", "p95 ms", "x baseline"], rows) + "\n\n" + verdict;
  } finally {
    await db.end();
    await admin.end();
  }
}
