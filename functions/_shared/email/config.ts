// The sender's settings, from the environment (Edge Function secrets on a
// hosted project; the local stack sets them for its dev mailbox).
import type { BackoffPolicy } from "./backoff.ts";

export interface SenderConfig {
  postmarkApiUrl: string;
  postmarkServerToken: string | null;
  from: string;
  messageStream: string;
  uidDomain: string;
  batchSize: number;
  postmarkTimeoutMs: number;
  // Lease length for claimed rows; null uses private.email_settings.
  leaseSeconds: number | null;
  backoff: BackoffPolicy;
  // A run stops claiming new batches after this long, so one wake-up never
  // outlives the Edge Function's wall-clock limit.
  runBudgetMs: number;
  // An idle run waits until this long after its start before its last
  // claim: wake-ups are coalesced to one per second, and mail committed just
  // after the wake-up is picked up by the run it belongs to.
  settleMs: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

function int(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  min: number,
  max: number,
) {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(
      `${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

export function senderConfigFrom(env: Record<string, string | undefined>): SenderConfig {
  const from = env.EMAIL_FROM || "Meeting Scheduler <meetings@scheduler.localhost>";
  const address = from.match(/<([^>]+)>/)?.[1] ?? from;
  const leaseRaw = env.EMAIL_LEASE_SECONDS;
  return {
    postmarkApiUrl: env.POSTMARK_API_URL || "https://api.postmarkapp.com",
    postmarkServerToken: env.POSTMARK_SERVER_TOKEN || null,
    from,
    messageStream: env.POSTMARK_MESSAGE_STREAM || "outbound",
    uidDomain: env.EMAIL_UID_DOMAIN || address.split("@")[1] || "scheduler.localhost",
    batchSize: int(env, "EMAIL_BATCH_SIZE", 100, 1, 500),
    postmarkTimeoutMs: int(env, "POSTMARK_TIMEOUT_MS", 10_000, 100, 120_000),
    leaseSeconds: leaseRaw ? int(env, "EMAIL_LEASE_SECONDS", 120, 5, 3600) : null,
    backoff: {
      baseSeconds: int(env, "EMAIL_RETRY_BASE_SECONDS", 30, 1, 86_400),
      capSeconds: int(env, "EMAIL_RETRY_CAP_SECONDS", 3600, 1, 86_400),
    },
    runBudgetMs: int(env, "EMAIL_RUN_BUDGET_MS", 20_000, 100, 300_000),
    settleMs: int(env, "EMAIL_SETTLE_MS", 1500, 0, 10_000),
  };
}
