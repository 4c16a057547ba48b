// One sender run: claim a batch of due notices, compose each, send them
// through Postmark (one batch call), record every outcome, and go on while
// there is due mail and time left. Many runs may go at once (a wake-up from
// the database and one from pg_cron): the claim's skip-locked lease keeps
// them from ever holding the same row.
import type postgres from "postgres";
import { backoffSeconds } from "./backoff.ts";
import { composeMessage } from "./compose.ts";
import type { SenderConfig } from "./config.ts";
import { claimDueEmails, type RecordedOutcome, recordResults } from "./outbox.ts";
import { PostmarkClient, type PostmarkMessage } from "./postmark.ts";
import type { Templates } from "./templates.ts";

export interface RunSummary {
  batches: number;
  claimed: number;
  sent: number;
  retrying: number;
  dead: number;
  ignored: number;
}

export interface RunOptions {
  // Pins the clock (tests, what-if); otherwise the database's now().
  now?: Date;
  maxBatches?: number;
}

export interface SenderDeps {
  sql: postgres.Sql;
  templates: Templates;
  config: SenderConfig;
  postmark?: PostmarkClient;
  random?: () => number;
}

export async function runSender(deps: SenderDeps, opts: RunOptions = {}): Promise<RunSummary> {
  const { sql, templates, config } = deps;
  const postmark = deps.postmark ?? new PostmarkClient({
    baseUrl: config.postmarkApiUrl,
    serverToken: config.postmarkServerToken ?? "",
    timeoutMs: config.postmarkTimeoutMs,
  });
  const summary: RunSummary = { batches: 0, claimed: 0, sent: 0, retrying: 0, dead: 0, ignored: 0 };
  const started = Date.now();
  const deadline = started + config.runBudgetMs;
  const maxBatches = opts.maxBatches ?? Infinity;
  let settled = false;

  while (summary.batches < maxBatches && Date.now() < deadline) {
    const claimed = await claimDueEmails(sql, {
      limit: config.batchSize,
      leaseSeconds: config.leaseSeconds ?? undefined,
      now: opts.now,
    });
    if (claimed.length === 0) {
      const wait = started + config.settleMs - Date.now();
      if (settled || wait <= 0) break;
      settled = true;
      await new Promise((r) => setTimeout(r, wait));
      continue;
    }
    summary.batches++;
    summary.claimed += claimed.length;
    const composedAt = opts.now ?? new Date();

    const results: RecordedOutcome[] = [];
    const outgoing: { index: number; message: PostmarkMessage }[] = [];
    claimed.forEach((c, index) => {
      try {
        outgoing.push({ index, message: composeMessage(c.data, templates, config, composedAt) });
      } catch (err) {
        results.push({
          outbox_id: c.outboxId,
          lease_token: c.leaseToken,
          outcome: "render_error",
          error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        });
      }
    });

    const outcomes = await postmark.send(outgoing.map((o) => o.message));
    outcomes.forEach((o, i) => {
      const c = claimed[outgoing[i].index];
      const base = { outbox_id: c.outboxId, lease_token: c.leaseToken };
      if (o.outcome === "sent") {
        results.push({ ...base, outcome: "sent", message_id: o.messageId });
      } else {
        const wait = o.outcome === "retry"
          ? Math.max(
            backoffSeconds(c.data.attempt, config.backoff, deps.random),
            o.retryAfterSeconds ?? 0,
          )
          : undefined;
        results.push({
          ...base,
          outcome: o.outcome,
          error: o.error,
          error_code: o.errorCode,
          http_status: o.httpStatus,
          retry_in_seconds: wait,
        });
      }
    });

    const counts = await recordResults(sql, results, opts.now);
    summary.sent += counts.sent;
    summary.retrying += counts.retrying;
    summary.dead += counts.dead;
    summary.ignored += counts.ignored;
  }
  return summary;
}
