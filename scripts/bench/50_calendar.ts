// Calendar sync (issue 6): importing a 5,000-event feed with recurring
// events (time and the importing process's peak memory; targets: under 5 s
// and 256 MB, the hosted Edge Function limit), and an incremental Google
// sync of 10 changes against a calendar of 5,000 events (target: under
// 200 ms plus the provider's own time, which is measured and shown apart).
import postgres from "postgres";
import { type BenchContext, ms, summarise, table } from "./_harness.ts";
import { dbUrl } from "../lib/cluster.ts";
import { DENO_BIN } from "../lib/stack.ts";
import { join } from "../lib/paths.ts";
import { PROJECT_ROOT } from "../lib/cluster.ts";
import { benchmarkFeed } from "./_calendar_feed.ts";
import { IcsServer } from "../../tests/e2e/_support/ics_server.ts";
import { FakeGoogle } from "../../tests/e2e/_support/fake_google.ts";
import { runDueSyncs } from "../../functions/_shared/calendar/worker.ts";
import { LOCAL_CALENDAR_CREDENTIALS_KEY } from "../lib/keys.ts";

export const title = "Calendar sync: feed import and incremental sync (issue 6)";

const EVENTS = 5000;
const IMPORT_RUNS = 3;
const INCREMENTAL_RUNS = 20;
const CHANGES = 10;

async function user(admin: postgres.Sql, label: string): Promise<string> {
  const id = crypto.randomUUID();
  await admin`insert into auth.users (instance_id, id, aud, role, email, raw_user_meta_data, created_at,
                                      updated_at)
    values ('00000000-0000-0000-0000-000000000000', ${id}, 'authenticated', 'authenticated',
            ${`${label}-${
    id.slice(0, 8)
  }@bench.example`}, '{"time_zone": "Europe/Berlin"}', now(), now())`;
  return id;
}

async function connection(
  admin: postgres.Sql,
  owner: string,
  provider: string,
  ref: string,
  credentials: Record<string, string> | null,
): Promise<string> {
  return await admin.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true),
                    set_config('request.jwt.claims', ${
      JSON.stringify({ sub: owner, role: "authenticated" })
    }, true)`;
    const [{ c }] = await tx`select public.create_calendar_connection(${provider}, ${ref},
      ${credentials ? tx.json(credentials) : null}, ${
      credentials ? LOCAL_CALENDAR_CREDENTIALS_KEY : null
    }) as c`;
    return c.id as string;
  });
}

export async function run(ctx: BenchContext): Promise<string> {
  const admin = postgres(dbUrl(ctx.stack.cluster, "supabase_admin"), {
    max: 2,
    onnotice: () => {},
  });
  const service = postgres(dbUrl(ctx.stack.cluster), { max: 2, onnotice: () => {} });
  const feeds = new IcsServer();
  const google = new FakeGoogle();
  try {
    // Import ---------------------------------------------------------------------------
    feeds.set("bench.ics", benchmarkFeed(EVENTS));
    const importRows: (string | number)[][] = [];
    for (let i = 0; i < IMPORT_RUNS; i++) {
      const owner = await user(admin, "feed");
      const id = await connection(admin, owner, "ics", feeds.url("bench.ics"), null);
      const [{ claimed }] = await service`select private.claim_calendar_syncs(1, ${[
        id,
      ]}::uuid[]) as claimed`;
      const job = claimed[0];
      const out = await new Deno.Command(DENO_BIN, {
        args: [
          "run",
          "-A",
          "--quiet",
          join(PROJECT_ROOT, "scripts", "bench", "_calendar_import_child.ts"),
          feeds.url("bench.ics"),
          dbUrl(ctx.stack.cluster),
          id,
          job.lease_token,
          "2026-11-01T00:00:00Z",
          "2027-05-01T00:00:00Z",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
      const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
      console.log(`  import ${i + 1}: ${JSON.stringify(r)}`);
      importRows.push([
        i + 1,
        r.occurrences,
        ms(r.pullMs),
        ms(r.storeMs),
        ms(r.totalMs),
        r.peakRssMb.toFixed(0),
      ]);
    }

    // Incremental ------------------------------------------------------------------------------
    const owner = await user(admin, "google");
    for (let i = 0; i < EVENTS; i++) {
      const start = Date.UTC(2026, 11, 1) + (i % 150) * 86_400_000 + (8 + (i % 10)) * 3600_000;
      google.put("primary", {
        id: `ev${i}`,
        start: { dateTime: new Date(start).toISOString() },
        end: { dateTime: new Date(start + 1800_000).toISOString() },
      });
    }
    const id = await connection(admin, owner, "google", "primary", {
      access_token: google.accessToken,
      refresh_token: google.refreshToken,
    });
    const endpoints = {
      googleApi: google.apiBase,
      google: { tokenUrl: google.tokenUrl, clientId: "bench", clientSecret: "bench" },
      graphApi: "http://127.0.0.1:9",
      microsoft: { tokenUrl: "http://127.0.0.1:9", clientId: "", clientSecret: "" },
    };
    const deps = { sql: service, endpoints, credentialsKey: LOCAL_CALENDAR_CREDENTIALS_KEY };
    const t0 = performance.now();
    const [full] = await runDueSyncs(deps, { connectionIds: [id] });
    const fullMs = performance.now() - t0;
    if (!full?.ok) throw new Error(`full sync failed: ${full?.error}`);
    const totals: number[] = [];
    const providerTimes: number[] = [];
    for (let run = 0; run < INCREMENTAL_RUNS; run++) {
      for (let k = 0; k < CHANGES; k++) {
        const n = (run * CHANGES + k) % EVENTS;
        const start = Date.UTC(2027, 0, 5) + run * 86_400_000 + k * 3600_000;
        google.put("primary", {
          id: `ev${n}`,
          start: { dateTime: new Date(start).toISOString() },
          end: { dateTime: new Date(start + 1800_000).toISOString() },
        });
      }
      google.handlerMs = 0;
      const t1 = performance.now();
      const [outcome] = await runDueSyncs(deps, { connectionIds: [id] });
      totals.push(performance.now() - t1);
      providerTimes.push(google.handlerMs);
      if (!outcome?.ok || outcome.items !== CHANGES) {
        throw new Error(`incremental sync: ${JSON.stringify(outcome)}`);
      }
    }
    const total = summarise(totals);
    const provider = summarise(providerTimes);
    const own = summarise(totals.map((t, i) => t - providerTimes[i]));

    const importTable = table(
      ["run", "occurrences", "fetch + parse + expand ms", "store ms", "total ms", "peak RSS MB"],
      importRows,
    );
    const incTable = table(
      ["", "median ms", "p95 ms"],
      [
        ["whole sync (claim, pull, store, push plan, finish)", ms(total.median), ms(total.p95)],
        ["of which the provider's own time", ms(provider.median), ms(provider.p95)],
        ["ours (whole less provider)", ms(own.median), ms(own.p95)],
      ],
    );
    const worstImport = Math.max(...importRows.map((r) => Number(r[4])));
    const worstRss = Math.max(...importRows.map((r) => Number(r[5])));
    return `Import of a ${EVENTS}-event feed (one in five recurring: daily, weekly on three days, ` +
      `monthly with EXDATEs; overrides; all-day and free events), six months expanded, in a ` +
      `process of its own:\n\n${importTable}\n\nIncremental Google sync of ${CHANGES} changed events ` +
      `in a calendar of ${EVENTS} (first full sync: ${
        ms(fullMs)
      } ms), ${INCREMENTAL_RUNS} runs:\n\n` +
      `${incTable}\n\nTargets: import < 5000 ms and < 256 MB (worst run: ${
        ms(worstImport)
      } ms, ${worstRss} MB); incremental < 200 ms plus the provider's time (ours, median: ${
        ms(own.median)
      } ms).`;
  } finally {
    await google.close();
    await feeds.close();
    await service.end();
    await admin.end();
  }
}
