// Retry delays: capped exponential backoff with full jitter (each delay is
// uniform in [0, min(cap, base * 2^attempt)]), so that many connections that
// failed together do not come back together. A server's Retry-After is a
// floor: we never retry sooner than it asked.

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const SYNC_BACKOFF: BackoffPolicy = { baseMs: 30_000, capMs: 6 * 3600_000 };
export const REQUEST_BACKOFF: BackoffPolicy = { baseMs: 250, capMs: 8_000 };

export function backoffDelayMs(
  attempt: number,
  policy: BackoffPolicy,
  retryAfterMs: number | null = null,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt));
  const jittered = Math.floor(random() * ceiling);
  return retryAfterMs === null ? jittered : Math.max(retryAfterMs, jittered);
}

// Retry a provider call in place while the wait is short: rate limits with
// a small Retry-After, 5xx and connection errors. A longer wait is the sync
// schedule's business (next_attempt_at), so the error goes up.
export async function withRetries<T>(
  call: () => Promise<T>,
  options: {
    attempts?: number;
    policy?: BackoffPolicy;
    maxInlineWaitMs?: number;
    isRetryable: (e: unknown) => boolean;
    retryAfterMs: (e: unknown) => number | null;
    sleep?: (ms: number) => Promise<void>;
  },
): Promise<T> {
  const attempts = options.attempts ?? 3;
  const policy = options.policy ?? REQUEST_BACKOFF;
  const maxWait = options.maxInlineWaitMs ?? 10_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  for (let attempt = 0;; attempt++) {
    try {
      return await call();
    } catch (e) {
      if (attempt + 1 >= attempts || !options.isRetryable(e)) throw e;
      const wait = backoffDelayMs(attempt, policy, options.retryAfterMs(e));
      if (wait > maxWait) throw e;
      await sleep(wait);
    }
  }
}
