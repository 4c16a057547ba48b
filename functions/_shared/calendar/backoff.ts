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
