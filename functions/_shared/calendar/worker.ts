// One run of the sync worker: claim due connections (each under a lease),
// and for each: decrypt its credentials, pull what changed, store it, push
// the meetings its calendar should hold, store refreshed tokens, and finish
// with success or a failure the database schedules a retry for.
import type postgres from "postgres";
import { ConnectionClient, type Endpoints } from "./connection.ts";
import { AuthRejectedError, CalendarError, RateLimitedError } from "./errors.ts";
import type { Provider } from "./errors.ts";
import type { OutgoingEvent, PushedEvent, SkippedEvent } from "./types.ts";

export interface WorkerDeps {
  sql: postgres.Sql;
  endpoints: Endpoints;
  // Encrypts and decrypts connection credentials (pgcrypto); never stored.
  credentialsKey: string;
  fetchFn?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  // Public URL of the calendar-webhook function; unset: no push channels.
  webhookUrl?: string | null;
}

interface ClaimedSync {
  connection_id: string;
  lease_token: string;
  owner_id: string;
  provider: Provider;
  calendar_ref: string;
  time_zone: string;
  cursor: Record<string, unknown> | null;
  window_start: string;
  window_end: string;
  // Whether a push channel is open and not about to expire.
  channel_open: boolean;
}

type PushStep =
  | { action: "upsert"; meeting: OutgoingEvent; version: number; mapping: PushedEvent | null }
  | { action: "delete"; meeting: { meetingId: string }; mapping: PushedEvent };

export interface SyncOutcome {
  connectionId: string;
  provider: Provider;
  ok: boolean;
  error?: string;
  resynced?: boolean;
  unchanged?: boolean;
  items?: number;
  removed?: number;
  skipped?: number;
  pushed?: number;
  deleted?: number;
  status?: string;
  channelError?: string;
}

// Skipped events kept in the report: enough to see what went wrong.
const SKIPPED_IN_REPORT = 50;

export async function runDueSyncs(
  deps: WorkerDeps,
  options: { limit?: number; connectionIds?: string[] | null } = {},
): Promise<SyncOutcome[]> {
  const [{ claimed }] = await deps.sql<{ claimed: ClaimedSync[] }[]>`
    select private.claim_calendar_syncs(${options.limit ?? 5}, ${
    options.connectionIds ?? null
  }::uuid[]) as claimed`;
  const outcomes: SyncOutcome[] = [];
  for (const job of claimed) outcomes.push(await syncOne(deps, job));
  return outcomes;
}

async function syncOne(deps: WorkerDeps, job: ClaimedSync): Promise<SyncOutcome> {
  const { sql } = deps;
  const id = job.connection_id;
  const lease = job.lease_token;
  const outcome: SyncOutcome = { connectionId: id, provider: job.provider, ok: false };
  let client: ConnectionClient | null = null;
  try {
    const [{ credentials }] = await sql<{ credentials: Record<string, unknown> | null }[]>`
      select private.read_calendar_credentials(${id}, ${deps.credentialsKey}) as credentials`;
    client = new ConnectionClient(
      { provider: job.provider, calendarRef: job.calendar_ref, credentials },
      deps.endpoints,
      deps.fetchFn,
      deps.sleep,
    );
    const window = {
      from: new Date(job.window_start),
      to: new Date(job.window_end),
      timeZone: job.time_zone,
    };

    const pulled = await client.pull(job.cursor, window);
    const r = pulled.result;
    const cursorChanged = JSON.stringify(r.cursor) !== JSON.stringify(job.cursor);
    if (!r.unchanged || r.full || cursorChanged) {
      await sql`select private.apply_calendar_pull(
        ${id}, ${lease}, ${r.full}, ${sql.json(r.items as never)}, ${r.removedItems}::text[],
        ${sql.json(r.cursor as never)}, ${sql.json(report(r.skipped, pulled.resynced) as never)})`;
    }
    Object.assign(outcome, {
      resynced: pulled.resynced,
      unchanged: r.unchanged,
      items: r.items.length,
      removed: r.removedItems.length,
      skipped: r.skipped.length,
    });

    const [{ plan }] = await sql<{ plan: PushStep[] }[]>`
      select private.calendar_push_plan(${id}, ${lease}) as plan`;
    outcome.pushed = 0;
    outcome.deleted = 0;
    for (const step of plan) {
      if (step.action === "upsert") {
        const written = await client.upsert(step.meeting, step.mapping);
        await sql`select private.record_calendar_push(${id}, ${lease}, ${step.meeting.meetingId},
          ${written.externalId}, ${written.etag}, ${step.version})`;
        outcome.pushed++;
      } else {
        await client.remove(step.mapping);
        await sql`select private.forget_calendar_push(${id}, ${lease}, ${step.meeting.meetingId})`;
        outcome.deleted++;
      }
    }

    if (deps.webhookUrl && !job.channel_open) {
      // Best effort: without a channel the connection is still pulled on
      // schedule, so a provider refusing one does not fail the sync.
      try {
        const channel = await client.openChannel(deps.webhookUrl, new Date());
        if (channel) {
          await sql`select private.save_calendar_channel(${id}, ${lease}, ${job.provider},
            ${channel.channelId}, ${channel.secret}, ${channel.expiresAt})`;
        }
      } catch (e) {
        outcome.channelError = describe(e);
      }
    }

    await storeRefreshedTokens(deps, id, lease, client);
    const [{ finished }] = await sql<{ finished: { status: string } }[]>`
      select private.finish_calendar_sync(${id}, ${lease}) as finished`;
    outcome.ok = true;
    outcome.status = finished.status;
  } catch (e) {
    outcome.error = describe(e);
    try {
      // A rotated refresh token must be kept even when the run failed later.
      if (client) await storeRefreshedTokens(deps, id, lease, client);
      const retryAfter = e instanceof RateLimitedError && e.retryAfterMs !== null
        ? e.retryAfterMs / 1000
        : null;
      const [{ finished }] = await sql<{ finished: { status: string } }[]>`
        select private.finish_calendar_sync(${id}, ${lease}, ${outcome.error}, ${retryAfter},
          ${e instanceof AuthRejectedError}) as finished`;
      outcome.status = finished.status;
    } catch (finishError) {
      // The lease ran out (or the database is gone): the connection comes
      // back when the lease expires; nothing more to do here.
      outcome.error += `; not recorded: ${describe(finishError)}`;
    }
  }
  return outcome;
}

async function storeRefreshedTokens(
  deps: WorkerDeps,
  id: string,
  lease: string,
  client: ConnectionClient,
) {
  const refreshed = client.refreshedCredentials;
  if (!refreshed) return;
  await deps.sql`select private.store_calendar_credentials(${id}, ${lease},
    ${deps.sql.json(refreshed as never)}, ${deps.credentialsKey})`;
}

function report(skipped: SkippedEvent[], resynced: boolean) {
  return {
    resynced,
    skipped: skipped.slice(0, SKIPPED_IN_REPORT).map((s) => ({
      id: s.externalId,
      reason: s.reason.slice(0, 300),
    })),
    skipped_total: skipped.length,
  };
}

// Provider errors are ours to word; anything else is reported by class and
// message only (never a token or a credential: they are not in messages).
function describe(e: unknown): string {
  if (e instanceof CalendarError) return `${e.provider}: ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`.slice(0, 2000);
  return String(e).slice(0, 2000);
}
