// Capped exponential backoff with "equal jitter": the delay doubles with each
// attempt up to a cap, and half of it is randomised so that many notices
// failing together (a Postmark outage) do not all come back at once, while
// none is retried immediately.
export interface BackoffPolicy {
  baseSeconds: number;
  capSeconds: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseSeconds: 30, capSeconds: 3600 };

export function backoffSeconds(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, Math.floor(attempt));
  // 2 ** 60 would overflow nothing, but the cap is reached long before.
  const ceiling = Math.min(policy.capSeconds, policy.baseSeconds * 2 ** Math.min(n - 1, 30));
  return ceiling / 2 + random() * (ceiling / 2);
}

// A server's Retry-After (seconds or an HTTP date) is honoured when it asks
// for longer than our own backoff.
export function retryAfterSeconds(header: string | null, now: Date): number | null {
  if (!header) return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, (at - now.getTime()) / 1000);
}
