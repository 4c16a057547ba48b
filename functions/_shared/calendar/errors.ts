// Errors a provider call can end in, sorted by what the sync does next.

export type Provider = "google" | "outlook" | "caldav" | "ics";

export class CalendarError extends Error {
  constructor(
    readonly provider: Provider,
    message: string,
    readonly status: number | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = "CalendarError";
  }
}

// The stored cursor (Google syncToken, Graph deltaLink, CalDAV sync-token)
// is no longer accepted: clear the synced state and list everything again.
export class CursorInvalidError extends CalendarError {
  override name = "CursorInvalidError";
}

// The access token is no longer valid: refresh it and try again once.
export class AuthExpiredError extends CalendarError {
  override name = "AuthExpiredError";
}

// Credentials are wrong for good (refresh refused, CalDAV 401): the user has
// to reconnect; retrying will not help.
export class AuthRejectedError extends CalendarError {
  override name = "AuthRejectedError";
}

// The server asked us to slow down; retryAfterMs comes from Retry-After.
export class RateLimitedError extends CalendarError {
  override name = "RateLimitedError";
  constructor(
    provider: Provider,
    message: string,
    status: number,
    readonly retryAfterMs: number | null,
    code: string | null = null,
  ) {
    super(provider, message, status, code);
  }
}

// If-Match failed: somebody changed the event since we last wrote it.
export class PreconditionFailedError extends CalendarError {
  override name = "PreconditionFailedError";
}

// The event we meant to update or delete is no longer there.
export class NotFoundError extends CalendarError {
  override name = "NotFoundError";
}

// The calendar answered something we cannot read (bad XML, broken iCalendar).
export class InvalidResponseError extends CalendarError {
  override name = "InvalidResponseError";
}

// Seconds (delta-seconds) or an HTTP date, per RFC 9110 section 10.2.3.
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}

export function isTransient(e: unknown): boolean {
  if (e instanceof RateLimitedError) return true;
  if (e instanceof CalendarError) return e.status === null || e.status >= 500;
  // fetch's TypeError: connection refused, reset, DNS.
  return e instanceof TypeError;
}

export function retryAfterOf(e: unknown): number | null {
  return e instanceof RateLimitedError ? e.retryAfterMs : null;
}
