// E-mail outbox: how fast the sender drains due mail to a local
// Postmark-compatible server (batches of 500, two senders at once, the Edge
// Function's own code on its own kind of connection), and how long the
// due-mail query takes with a million queued rows.
import postgres from "postgres";
import { type BenchContext, ms, summarise, table, timeIt } from "./_harness.ts";
import { dbUrl } from "../lib/cluster.ts";
import { postmarkApi } from "../postmark_compat.ts";
import { runSender } from "../../functions/_shared/email/sender.ts";
import { loadTemplates } from "../../functions/_shared/email/templates.ts";
import type { SenderConfig } from "../../functions/_shared/email/config.ts";

export const title = "E-mail outbox (issue 5)";

const THROUGHPUT_ROWS = 20_000;
const MILLION = 1_000_000;
const SENDERS = 2;

const DUE_QUERY = `
  select o.id from private.email_outbox o
  where o.status in ('queued', 'failed', 'sending') and o.next_attempt_at <= now()
  order by o.next_attempt_at
  limit 100
  for update skip locked`;

export async function run({ stack }: BenchContext): Promise<string> {
  const admin = postgres(dbUrl(stack.cluster, "supabase_admin"), { max: 4, onnotice: () => {} });
  const sql = postgres(dbUrl(stack.cluster), {
    max: 2 * SENDERS,
    onnotice: () => {},
    prepare: false,
  });
  let accepted = 0;
  const api = postmarkApi({ deliver: () => void accepted++ });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => (await api(req)) ?? new Response("not found", { status: 404 }),
  );
  // Keep the stack's own sender (woken by pg_net and pg_cron) out of it.
  const [{ url }] = await admin`
    select decrypted_secret as url from vault.decrypted_secrets where name = 'project_url'`;
  await admin`select vault.update_secret(id, 'http://127.0.0.1:9') from vault.secrets
              where name = 'project_url'`;
  try {
    const [{ organizer }] = await admin`
      insert into auth.users (instance_id, id, aud, role, email, raw_user_meta_data, created_at, updated_at)
      values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated',
              'mail-bench@bench.example', '{"time_zone": "Europe/Berlin"}', now(), now())
      returning id as organizer`;
    const meetingIds = await admin.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      const rows = await tx`
        insert into public.meetings (organizer_id, title, start_at, end_at, time_zone)
        select ${organizer}, 'Bench ' || g, now() + g * interval '1 hour',
               now() + g * interval '1 hour' + interval '30 minutes', 'Europe/Berlin'
        from generate_series(1, 1000) g
        returning id`;
      await tx`
        insert into public.attendees (meeting_id, user_id, email, display_name, role, response_status)
        select id, ${organizer}, 'mail-bench@bench.example', 'Bench', 'organizer', 'accepted'
        from public.meetings where organizer_id = ${organizer}`;
      return rows.map((r) => r.id as string);
    });
    console.log(`${meetingIds.length} meetings to write about`);

    // Throughput -------------------------------------------------------------
    await admin`
      insert into private.email_outbox (meeting_id, recipient_email, kind, meeting_version)
      select m.id, 'r' || g || '@bench.example', 'update', 1
      from generate_series(1, ${THROUGHPUT_ROWS}) g
      join lateral (select id from public.meetings where organizer_id = ${organizer}
                    offset (g % 1000) limit 1) m on true`;
    const config: SenderConfig = {
      postmarkApiUrl: `http://127.0.0.1:${server.addr.port}`,
      postmarkServerToken: "POSTMARK_API_TEST",
      from: "Bench <bench@scheduler.localhost>",
      messageStream: "outbound",
      uidDomain: "scheduler.localhost",
      batchSize: 500,
      postmarkTimeoutMs: 30_000,
      leaseSeconds: null,
      backoff: { baseSeconds: 30, capSeconds: 3600 },
      runBudgetMs: 600_000,
      settleMs: 0,
    };
    const templates = await loadTemplates();
    const t0 = performance.now();
    const runs = await Promise.all(
      Array.from({ length: SENDERS }, () => runSender({ sql, templates, config })),
    );
    const seconds = (performance.now() - t0) / 1000;
    const sent = runs.reduce((n, r) => n + r.sent, 0);
    const perSecond = sent / seconds;
    const [{ done }] = await admin`
      select count(*)::int as done from private.email_outbox where kind = 'update' and status = 'sent'`;
    console.log(
      `throughput: ${sent} e-mails in ${seconds.toFixed(2)} s = ${perSecond.toFixed(0)}/s`,
    );

    // Due query at a million rows ---------------------------------------------
    await admin`select set_config('maintenance_work_mem', '256MB', false)`;
    await admin`
      insert into private.email_outbox (meeting_id, recipient_email, kind, meeting_version, due_at,
                                        next_attempt_at)
      select (${meetingIds}::uuid[])[1 + g % 1000], 'million' || g || '@bench.example', 'update', 1,
             now() + (g % 43200) * interval '1 minute', now() + (g % 43200) * interval '1 minute'
      from generate_series(1, ${MILLION}) g`;
    await admin`vacuum analyze private.email_outbox`;
    const [{ queued }] = await admin`
      select count(*)::int as queued from private.email_outbox where status = 'queued'`;
    // One statement, one round trip: what the claim's locking select costs.
    const dueQuery = () => admin.unsafe(DUE_QUERY).then(() => {});
    const futureOnly = await timeIt(dueQuery, { iterations: 200, warmup: 20 });
    const claimNone = await timeIt(
      () => admin.begin((tx) => tx`select * from private.claim_due_emails(100)`).then(() => {}),
      { iterations: 200, warmup: 20 },
    );
    // Everything due: a day's backlog after an outage.
    const dayLater = new Date(Date.now() + 31 * 24 * 3600_000);
    const backlogSql = DUE_QUERY.replace("now()", `'${dayLater.toISOString()}'`);
    const backlogQuery = () => admin.unsafe(backlogSql).then(() => {});
    const allDue = await timeIt(backlogQuery, { iterations: 200, warmup: 20 });
    const claimBacklog = await timeIt(
      () =>
        admin.begin(async (tx) => {
          await tx`select * from private.claim_due_emails(100, null, ${dayLater})`;
          throw new RollbackSignal();
        }).catch((e) => {
          if (!(e instanceof RollbackSignal)) throw e;
        }),
      { iterations: 50, warmup: 5 },
    );
    // Execution time inside the server, without the client round trip.
    const serverMs = async (query: string) => {
      const times: number[] = [];
      for (let i = 0; i < 50; i++) {
        const [r] = await admin.unsafe(`explain (analyze, format json) ${query}`);
        times.push(r["QUERY PLAN"][0]["Execution Time"]);
      }
      return summarise(times);
    };
    const futureServer = await serverMs(DUE_QUERY);
    const backlogServer = await serverMs(backlogSql);
    const plan = (await admin.unsafe(`explain ${backlogSql}`)).map((r) => r["QUERY PLAN"]).join(
      "\n",
    );
    console.log(plan);

    const rows = [
      [
        `throughput: ${
          THROUGHPUT_ROWS.toLocaleString("en")
        } due e-mails, ${SENDERS} senders, batches of 500`,
        `${perSecond.toFixed(0)} e-mails/s`,
        `${seconds.toFixed(2)} s`,
        `${done} recorded sent`,
      ],
      [
        `due-mail query, ${queued.toLocaleString("en")} queued rows, none due yet`,
        `median ${ms(futureOnly.median)} ms`,
        `p95 ${ms(futureOnly.p95)} ms`,
        `in the server: median ${ms(futureServer.median)} ms, p95 ${ms(futureServer.p95)} ms`,
      ],
      [
        `due-mail query, ${queued.toLocaleString("en")} queued rows, all due (backlog)`,
        `median ${ms(allDue.median)} ms`,
        `p95 ${ms(allDue.p95)} ms`,
        `100 rows locked; in the server: median ${ms(backlogServer.median)} ms, p95 ${
          ms(backlogServer.p95)
        } ms`,
      ],
      [
        "claim_due_emails(100), nothing due",
        `median ${ms(claimNone.median)} ms`,
        `p95 ${ms(claimNone.p95)} ms`,
        "",
      ],
      [
        "claim_due_emails(100) from the backlog (lease + message JSON, rolled back)",
        `median ${ms(claimBacklog.median)} ms`,
        `p95 ${ms(claimBacklog.p95)} ms`,
        "",
      ],
    ];
    const verdict = `Targets: >= 1,000 e-mails/s (${perSecond >= 1000 ? "met" : "NOT met"}: ${
      perSecond.toFixed(0)
    }/s); due-mail query < 5 ms at 1M rows (${
      Math.max(futureOnly.median, allDue.median) < 5 ? "met" : "NOT met"
    }: median ${ms(futureOnly.median)} / ${ms(allDue.median)} ms with the round trip, p95 ${
      ms(futureOnly.p95)
    } / ${ms(allDue.p95)} ms; ${ms(futureServer.median)} / ${
      ms(backlogServer.median)
    } ms inside the server). Backlog plan: ${
      plan.split("\n").find((l) => /Index/.test(l))?.trim() ?? plan.split("\n")[0]
    }.`;
    console.log(verdict);
    return table(["run", "result", "", "note"], rows) + "\n\n" + verdict;
  } finally {
    await admin`select vault.update_secret(id, ${url}) from vault.secrets where name = 'project_url'`;
    await server.shutdown();
    await Promise.all([admin.end(), sql.end()]);
  }
}

class RollbackSignal extends Error {}
