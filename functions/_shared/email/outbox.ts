// The sender's two SQL calls: claim due notices under a lease, and record
// what happened to them, both in one round trip per batch.
import type postgres from "postgres";
import type { ClaimedEmail, EmailMessageData } from "./types.ts";

export type RecordedOutcome =
  | { outbox_id: string; lease_token: string; outcome: "sent"; message_id: string }
  | {
    outbox_id: string;
    lease_token: string;
    outcome: "retry" | "permanent" | "render_error";
    error: string;
    error_code?: number;
    http_status?: number;
    retry_in_seconds?: number;
  };

export interface RecordCounts {
  sent: number;
  retrying: number;
  dead: number;
  ignored: number;
}

export async function claimDueEmails(
  sql: postgres.Sql,
  opts: { limit: number; leaseSeconds?: number; now?: Date },
): Promise<ClaimedEmail[]> {
  const rows = await sql<{ outbox_id: string; lease_token: string; message: EmailMessageData }[]>`
    select outbox_id, lease_token, message
    from private.claim_due_emails(${opts.limit}, ${opts.leaseSeconds ?? null}, ${
    opts.now ?? null
  })`;
  return rows.map((r) => ({ outboxId: r.outbox_id, leaseToken: r.lease_token, data: r.message }));
}

export async function recordResults(
  sql: postgres.Sql,
  results: RecordedOutcome[],
  now?: Date,
): Promise<RecordCounts> {
  if (results.length === 0) return { sent: 0, retrying: 0, dead: 0, ignored: 0 };
  const [row] = await sql<{ counts: RecordCounts }[]>`
    select private.record_email_results(${sql.json(results as unknown as postgres.JSONValue)}, ${
    now ?? null
  }) as counts`;
  return row.counts;
}
