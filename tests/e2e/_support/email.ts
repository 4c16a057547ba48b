// Support for the e-mail suites: the sender exactly as the Edge Function runs
// it (same modules, same database functions), pointed at a Postmark test
// server; bookings made as their organiser; and a recorder standing in for
// the function's URL in Vault, so that the stack's own sender stays out of
// these tests while the wake-ups are still observed.
import postgres from "postgres";
import { type SenderConfig } from "../../../functions/_shared/email/config.ts";
import { type RunOptions, runSender } from "../../../functions/_shared/email/sender.ts";
import { loadTemplates } from "../../../functions/_shared/email/templates.ts";
import type { PostmarkTestServer } from "./postmark_test_server.ts";
import { asUser, type TestUser } from "./db.ts";

export const templates = await loadTemplates();

export function senderConfig(
  server: PostmarkTestServer,
  over: Partial<SenderConfig> = {},
): SenderConfig {
  return {
    postmarkApiUrl: server.url,
    postmarkServerToken: server.token,
    from: "Scheduler Tests <meetings@scheduler.test>",
    messageStream: "outbound",
    uidDomain: "scheduler.test",
    batchSize: 100,
    postmarkTimeoutMs: 2000,
    leaseSeconds: null,
    backoff: { baseSeconds: 1, capSeconds: 4 },
    runBudgetMs: 20_000,
    settleMs: 0,
    ...over,
  };
}

export function send(
  sql: postgres.Sql,
  server: PostmarkTestServer,
  opts: RunOptions & { config?: Partial<SenderConfig> } = {},
) {
  return runSender({ sql, templates, config: senderConfig(server, opts.config) }, opts);
}

export interface WakeRecorder {
  wakes: { path: string; authorization: string | null }[];
  restore(): Promise<void>;
}

// Points Vault's project_url at a local recorder for the duration of a suite.
export async function recordWakeups(admin: postgres.Sql): Promise<WakeRecorder> {
  const wakes: WakeRecorder["wakes"] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    wakes.push({
      path: new URL(req.url).pathname,
      authorization: req.headers.get("authorization"),
    });
    return Response.json({ recorded: true });
  });
  const [{ previous }] = await admin`
    select decrypted_secret as previous from vault.decrypted_secrets where name = 'project_url'`;
  const point = (url: string) =>
    admin`select vault.update_secret(id, ${url}) from vault.secrets where name = 'project_url'`;
  await point(`http://127.0.0.1:${server.addr.port}`);
  return {
    wakes,
    restore: async () => {
      await point(previous);
      await server.shutdown();
    },
  };
}

// Each booking of a suite gets its own hour, so one organiser never conflicts
// with themself.
let nextSlot = 0;

export async function book(
  sql: postgres.Sql,
  organizer: TestUser,
  opts: { title?: string; startInMinutes?: number; minutes?: number; attendees?: string[] } = {},
): Promise<{ id: string; version: number; start: string }> {
  const start = new Date(
    Date.now() + (opts.startInMinutes ?? 3 * 24 * 60 + 180 * nextSlot++) * 60_000,
  );
  start.setUTCSeconds(0, 0);
  const end = new Date(start.getTime() + (opts.minutes ?? 30) * 60_000);
  const attendees = (opts.attendees ?? []).map((email) => ({ email }));
  return await asUser(sql, organizer, async (tx) => {
    const [{ m }] = await tx`
      select public.book_meeting(p_title => ${opts.title ?? "E-mail test"}, p_start => ${start},
        p_end => ${end}, p_time_zone => 'Europe/Berlin', p_attendees => ${
      tx.json(attendees)
    }) as m`;
    return m as { id: string; version: number; start: string };
  });
}

export interface OutboxRow {
  id: string;
  recipient_email: string;
  kind: string;
  meeting_version: number;
  status: string;
  attempts: number;
  due_at: Date;
  next_attempt_at: Date;
  last_error: string | null;
  last_error_code: number | null;
  last_http_status: number | null;
  dead_reason: string | null;
  provider_message_id: string | null;
  late: boolean;
}

export async function outbox(admin: postgres.Sql, meetingId: string): Promise<OutboxRow[]> {
  return await admin<OutboxRow[]>`
    select id::text, recipient_email, kind, meeting_version, status, attempts, due_at, next_attempt_at,
           last_error, last_error_code, last_http_status, dead_reason, provider_message_id, late
    from private.email_outbox where meeting_id = ${meetingId} order by id`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}
