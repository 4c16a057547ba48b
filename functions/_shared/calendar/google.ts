// Google Calendar API v3: events.list with pageToken / syncToken (410 Gone:
// full resync), insert / patch / delete with If-Match etags. Errors follow
// Google's JSON shape {error: {code, message, errors: [{reason}]}}.
import {
  AuthExpiredError,
  CalendarError,
  CursorInvalidError,
  InvalidResponseError,
  isTransient,
  NotFoundError,
  parseRetryAfter,
  PreconditionFailedError,
  RateLimitedError,
  retryAfterOf,
} from "./errors.ts";
import { withRetries } from "./backoff.ts";
import type { TokenSource } from "./oauth.ts";
import type {
  BusyOccurrence,
  OutgoingEvent,
  PulledItem,
  PullResult,
  PushedEvent,
  SkippedEvent,
  SyncWindow,
} from "./types.ts";
import { MEETING_UID_SUFFIX } from "./types.ts";
import { localDate, wallTimeToEpochMs } from "./zoned_time.ts";

export const GOOGLE_API_BASE = "https://www.googleapis.com/calendar/v3";
const PAGE_SIZE = 250;
const MAX_PAGES = 1000;

interface GoogleTime {
  dateTime?: string;
  date?: string;
  timeZone?: string;
}
export interface GoogleEvent {
  id: string;
  etag?: string;
  status?: "confirmed" | "tentative" | "cancelled";
  transparency?: "opaque" | "transparent";
  start?: GoogleTime;
  end?: GoogleTime;
  extendedProperties?: { private?: Record<string, string> };
}

export class GoogleCalendarClient {
  constructor(
    readonly tokens: TokenSource,
    readonly baseUrl: string = GOOGLE_API_BASE,
    readonly fetchFn: typeof fetch = fetch,
    readonly sleep?: (ms: number) => Promise<void>,
  ) {}

  // Everything since `syncToken` (null: a full listing from window.from).
  // Instances of recurring events come expanded (singleEvents), each with
  // its own id, so a changed or cancelled occurrence is one item.
  async pull(
    calendarId: string,
    syncToken: string | null,
    window: SyncWindow,
  ): Promise<PullResult> {
    const items: PulledItem[] = [];
    const removed: string[] = [];
    const skipped: SkippedEvent[] = [];
    let pageToken: string | null = null;
    for (let page = 0; page < MAX_PAGES; page++) {
      const params = new URLSearchParams({
        singleEvents: "true",
        showDeleted: "true",
        maxResults: String(PAGE_SIZE),
      });
      if (syncToken) params.set("syncToken", syncToken);
      else params.set("timeMin", window.from.toISOString());
      if (pageToken) params.set("pageToken", pageToken);
      const body = await this.#json(
        "GET",
        `${this.#calendarPath(calendarId)}/events?${params}`,
      ) as { items?: GoogleEvent[]; nextPageToken?: string; nextSyncToken?: string };
      for (const event of body.items ?? []) {
        if (event.status === "cancelled") {
          removed.push(event.id);
          continue;
        }
        try {
          items.push({
            itemId: event.id,
            etag: event.etag ?? null,
            busy: googleBusy(event, window),
          });
        } catch (e) {
          skipped.push({ externalId: event.id, reason: (e as Error).message });
        }
      }
      if (body.nextPageToken) {
        pageToken = body.nextPageToken;
        continue;
      }
      if (!body.nextSyncToken) {
        throw new InvalidResponseError("google", "the last page carried no nextSyncToken");
      }
      return {
        full: syncToken === null,
        items,
        removedItems: removed,
        skipped,
        cursor: { syncToken: body.nextSyncToken },
        unchanged: syncToken !== null && items.length === 0 && removed.length === 0,
      };
    }
    throw new InvalidResponseError("google", `more than ${MAX_PAGES} pages`);
  }

  async insert(calendarId: string, event: OutgoingEvent): Promise<PushedEvent> {
    const created = await this.#json("POST", `${this.#calendarPath(calendarId)}/events`, {
      ...googleBody(event),
      iCalUID: `${event.meetingId}${MEETING_UID_SUFFIX}`,
    }) as GoogleEvent;
    return { externalId: created.id, etag: created.etag ?? null };
  }

  async patch(
    calendarId: string,
    eventId: string,
    event: OutgoingEvent,
    etag: string | null,
  ): Promise<PushedEvent> {
    const updated = await this.#json(
      "PATCH",
      `${this.#calendarPath(calendarId)}/events/${encodeURIComponent(eventId)}`,
      googleBody(event),
      etag,
    ) as GoogleEvent;
    return { externalId: updated.id, etag: updated.etag ?? null };
  }

  // events.watch: Google will POST to `address` when the calendar changes,
  // with X-Goog-Channel-ID = channelId and X-Goog-Channel-Token = token.
  async watch(
    calendarId: string,
    channelId: string,
    token: string,
    address: string,
  ): Promise<{ resourceId: string | null; expiresAt: string | null }> {
    const channel = await this.#json("POST", `${this.#calendarPath(calendarId)}/events/watch`, {
      id: channelId,
      type: "web_hook",
      address,
      token,
    }) as { resourceId?: string; expiration?: string };
    return {
      resourceId: channel.resourceId ?? null,
      // Google answers milliseconds since the epoch, as a string.
      expiresAt: channel.expiration ? new Date(Number(channel.expiration)).toISOString() : null,
    };
  }

  async etag(calendarId: string, eventId: string): Promise<string | null> {
    const event = await this.#json(
      "GET",
      `${this.#calendarPath(calendarId)}/events/${encodeURIComponent(eventId)}`,
    ) as GoogleEvent;
    if (event.status === "cancelled") {
      throw new NotFoundError("google", "GET: the event was deleted", 410);
    }
    return event.etag ?? null;
  }

  async delete(calendarId: string, eventId: string, etag: string | null): Promise<void> {
    await this.#json(
      "DELETE",
      `${this.#calendarPath(calendarId)}/events/${encodeURIComponent(eventId)}`,
      undefined,
      etag,
    );
  }

  #calendarPath(calendarId: string) {
    return `${this.baseUrl}/calendars/${encodeURIComponent(calendarId)}`;
  }

  #json(method: string, url: string, body?: unknown, ifMatch?: string | null): Promise<unknown> {
    // A POST that failed with a 5xx may have created the event: only a rate
    // limit (nothing done) is safe to repeat.
    return withRetries(() => this.#once(method, url, body, ifMatch), {
      isRetryable: (e) => method === "POST" ? e instanceof RateLimitedError : isTransient(e),
      retryAfterMs: retryAfterOf,
      sleep: this.sleep,
    });
  }

  #once(method: string, url: string, body?: unknown, ifMatch?: string | null): Promise<unknown> {
    return this.tokens.run(async (token) => {
      const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      if (ifMatch) headers["If-Match"] = ifMatch;
      const res = await this.fetchFn(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (res.status === 204) return null;
      const text = await res.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        if (res.ok) throw new InvalidResponseError("google", `${method}: answer is not JSON`);
      }
      if (res.ok) return parsed;
      throw googleError(method, res, parsed);
    });
  }
}

function googleError(method: string, res: Response, body: unknown): Error {
  const err = (body as { error?: { message?: string; errors?: { reason?: string }[] } })?.error;
  const reason = err?.errors?.[0]?.reason ?? null;
  const message = `${method}: ${res.status} ${err?.message ?? res.statusText}`;
  if (res.status === 401) return new AuthExpiredError("google", message, 401, reason);
  // 429, 403 rate limits and 503 (backendError) all ask us to come back
  // later, sometimes saying when.
  if (
    res.status === 429 || res.status === 503 ||
    (res.status === 403 && (reason === "rateLimitExceeded" || reason === "userRateLimitExceeded"))
  ) {
    return new RateLimitedError(
      "google",
      message,
      res.status,
      parseRetryAfter(res.headers.get("Retry-After")),
      reason,
    );
  }
  if (res.status === 410 && method === "GET") {
    return new CursorInvalidError("google", message, 410, reason);
  }
  if (res.status === 404 || res.status === 410) {
    return new NotFoundError("google", message, res.status, reason);
  }
  if (res.status === 412) return new PreconditionFailedError("google", message, 412, reason);
  return new CalendarError("google", message, res.status, reason);
}

// A Google event's time (transparent ones marked free); dates of all-day
// events are the owner's local days.
export function googleBusy(event: GoogleEvent, window: SyncWindow): BusyOccurrence[] {
  if (!event.start || !event.end) throw new Error("event without start or end");
  const allDay = Boolean(event.start.date);
  const startMs = googleTimeMs(event.start, window.timeZone);
  const endMs = googleTimeMs(event.end, window.timeZone);
  if (!(endMs > startMs)) return [];
  if (endMs <= window.from.getTime() || startMs >= window.to.getTime()) return [];
  return [{
    externalId: event.id,
    start: new Date(startMs).toISOString(),
    end: new Date(endMs).toISOString(),
    allDay,
    free: event.transparency === "transparent",
    meetingId: event.extendedProperties?.private?.schedulerMeetingId ?? null,
  }];
}

function googleTimeMs(t: GoogleTime, ownerZone: string): number {
  if (t.dateTime) {
    const ms = Date.parse(t.dateTime);
    if (Number.isNaN(ms)) throw new Error(`unreadable dateTime "${t.dateTime}"`);
    return ms;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t.date ?? "");
  if (!m) throw new Error(`unreadable date "${t.date}"`);
  return wallTimeToEpochMs({ year: +m[1], month: +m[2], day: +m[3] }, ownerZone);
}

function googleBody(event: OutgoingEvent) {
  const time = (iso: string) =>
    event.allDay
      ? { date: localDate(Date.parse(iso), event.timeZone) }
      : { dateTime: iso, timeZone: event.timeZone };
  return {
    summary: event.title,
    description: event.description,
    location: event.location ?? undefined,
    start: time(event.start),
    end: time(event.end),
    transparency: "opaque",
    attendees: event.attendees.map((a) => ({ email: a.email, displayName: a.name })),
    extendedProperties: { private: { schedulerMeetingId: event.meetingId } },
  };
}
