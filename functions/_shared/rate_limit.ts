// Per-user and per-IP request limits, counted in Postgres (Edge isolates
// share no memory). One statement per request counts it against both
// buckets; see private.rate_limit_hit.
import type postgres from "postgres";
import type { RateLimitConfig } from "./config.ts";

export interface RateLimitVerdict {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
}

// The client's address: the entry the nearest trusted proxy appended to
// X-Forwarded-For (entries to its left are whatever the client claimed), or
// the socket's peer when no proxy stands in front.
export function clientIp(
  forwardedFor: string | null,
  peer: string | undefined,
  trustedHops = 1,
): string {
  const entries = (forwardedFor ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if (trustedHops > 0 && entries.length > 0) {
    const candidate = entries[Math.max(0, entries.length - trustedHops)];
    if (/^[0-9a-fA-F:.]{2,45}$/.test(candidate)) return candidate.toLowerCase();
  }
  return peer ?? "unknown";
}

export function buckets(
  config: RateLimitConfig,
  ip: string,
  userId: string | null,
): { names: string[]; limits: number[] } {
  const names = [`ip:${ip}`];
  const limits = [config.ipLimit];
  if (userId) {
    names.push(`user:${userId}`);
    limits.push(config.userLimit);
  }
  return { names, limits };
}

export async function hit(
  sql: postgres.Sql,
  config: RateLimitConfig,
  ip: string,
  userId: string | null,
): Promise<RateLimitVerdict> {
  const b = buckets(config, ip, userId);
  const [row] = await sql<
    { allowed: boolean; limit_value: number; remaining: number; reset_seconds: number }[]
  >`select allowed, limit_value, remaining, reset_seconds
    from private.rate_limit_hit(${b.names}::text[], ${b.limits}::integer[], ${config.windowSeconds})`;
  return {
    allowed: row.allowed,
    limit: row.limit_value,
    remaining: row.remaining,
    resetSeconds: Math.max(1, row.reset_seconds),
  };
}

export function rateLimitHeaders(v: RateLimitVerdict): Record<string, string> {
  return {
    "ratelimit-limit": String(v.limit),
    "ratelimit-remaining": String(v.remaining),
    "ratelimit-reset": String(v.resetSeconds),
  };
}
