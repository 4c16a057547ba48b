// Microsoft Graph (Outlook calendars): calendarView/delta followed through
// @odata.nextLink to @odata.deltaLink (a lost sync state, 410
// syncStateNotFound, means a full resync), create / update / delete with
// If-Match, errors in Graph's {error: {code, message}} shape.
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
import { isKnownTimeZone, localDate, wallTimeToEpochMs } from "./zoned_time.ts";

export const GRAPH_API_BASE = "https://graph.microsoft.com/v1.0";
const PAGE_SIZE = 100;
const MAX_PAGES = 1000;
// Sync states Graph no longer honours (documented codes, in either case).
const RESYNC_CODES = /^(syncStateNotFound|syncStateInvalid|resyncRequired)$/i;

interface GraphTime {
  dateTime: string;
  timeZone: string;
}
export interface GraphEvent {
  id: string;
  "@odata.etag"?: string;
  "@removed"?: { reason: string };
  isCancelled?: boolean;
  isAllDay?: boolean;
  showAs?: "free" | "tentative" | "busy" | "oof" | "workingElsewhere" | "unknown";
  type?: "singleInstance" | "occurrence" | "exception" | "seriesMaster";
  start?: GraphTime;
  end?: GraphTime;
}

export class GraphCalendarClient {
  constructor(
    readonly tokens: TokenSource,
    readonly baseUrl: string = GRAPH_API_BASE,
    readonly fetchFn: typeof fetch = fetch,
    readonly sleep?: (ms: number) => Promise<void>,
  ) {}

  // Changes since `deltaLink` (null: the full view of the window). The
  // delta is bound to the window it was started with; a sync that moves its
  // window starts over with a full pull.
  async pull(
    calendarId: string,
    deltaLink: string | null,
    window: SyncWindow,
  ): Promise<PullResult> {
    const items: PulledItem[] = [];
    const removed: string[] = [];
    const skipped: SkippedEvent[] = [];
    let url = deltaLink ?? `${this.#calendarPath(calendarId)}/calendarView/delta?` +
        new URLSearchParams({
          startDateTime: window.from.toISOString(),
          endDateTime: window.to.toISOString(),
        });
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = await this.#json("GET", url) as {
        value?: GraphEvent[];
        "@odata.nextLink"?: string;
        "@odata.deltaLink"?: string;
      };
      for (const event of body.value ?? []) {
        if (event["@removed"] || event.isCancelled) {
          removed.push(event.id);
          continue;
        }
        // A series master describes the rule; its instances come separately.
        if (event.type === "seriesMaster") continue;
        try {
          items.push({
            itemId: event.id,
            etag: event["@odata.etag"] ?? null,
            busy: graphBusy(event, window),
          });
        } catch (e) {
          skipped.push({ externalId: event.id, reason: (e as Error).message });
        }
      }
      if (body["@odata.nextLink"]) {
        url = body["@odata.nextLink"];
        continue;
      }
      const next = body["@odata.deltaLink"];
      if (!next) throw new InvalidResponseError("outlook", "the last page carried no deltaLink");
      return {
        full: deltaLink === null,
        items,
        removedItems: removed,
        skipped,
        cursor: { deltaLink: next },
        unchanged: deltaLink !== null && items.length === 0 && removed.length === 0,
      };
    }
    throw new InvalidResponseError("outlook", `more than ${MAX_PAGES} pages`);
  }

  async create(calendarId: string, event: OutgoingEvent): Promise<PushedEvent> {
    const created = await this.#json(
      "POST",
      `${this.#calendarPath(calendarId)}/events`,
      graphBody(event),
    ) as GraphEvent;
    return { externalId: created.id, etag: created["@odata.etag"] ?? null };
  }

  async update(eventId: string, event: OutgoingEvent, etag: string | null): Promise<PushedEvent> {
    const updated = await this.#json(
      "PATCH",
      `${this.baseUrl}/me/events/${encodeURIComponent(eventId)}`,
      graphBody(event),
      etag,
    ) as GraphEvent;
    return { externalId: updated.id, etag: updated["@odata.etag"] ?? null };
  }

  // A change notification subscription on the calendar's events; Graph
  // validates notificationUrl first (validationToken) and then POSTs changes
  // carrying clientState. Calendar subscriptions last at most about 3 days.
  async subscribe(
    calendarId: string,
    notificationUrl: string,
    clientState: string,
    expiresAt: Date,
  ): Promise<{ id: string; expiresAt: string | null }> {
    const resource = calendarId === "primary"
      ? "me/events"
      : `me/calendars/${encodeURIComponent(calendarId)}/events`;
    const created = await this.#json("POST", `${this.baseUrl}/subscriptions`, {
      changeType: "created,updated,deleted",
      notificationUrl,
      resource,
      expirationDateTime: expiresAt.toISOString(),
      clientState,
    }) as { id: string; expirationDateTime?: string };
    return { id: created.id, expiresAt: created.expirationDateTime ?? null };
  }

  async etag(eventId: string): Promise<string | null> {
    const event = await this.#json(
      "GET",
      `${this.baseUrl}/me/events/${encodeURIComponent(eventId)}`,
    ) as GraphEvent;
    return event["@odata.etag"] ?? null;
  }

  async delete(eventId: string, etag: string | null): Promise<void> {
    await this.#json(
      "DELETE",
      `${this.baseUrl}/me/events/${encodeURIComponent(eventId)}`,
      undefined,
      etag,
    );
  }

  #calendarPath(calendarId: string) {
    return calendarId === "primary"
      ? `${this.baseUrl}/me/calendar`
      : `${this.baseUrl}/me/calendars/${encodeURIComponent(calendarId)}`;
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
      const headers: Record<string, string> = {
        Authorization: `Bearer ${token}`,
        // Times in UTC, pages of a bounded size.
        Prefer: `outlook.timezone="UTC", odata.maxpagesize=${PAGE_SIZE}`,
      };
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
        if (res.ok) throw new InvalidResponseError("outlook", `${method}: answer is not JSON`);
      }
      if (res.ok) return parsed;
      throw graphError(method, res, parsed);
    });
  }
}

function graphError(method: string, res: Response, body: unknown): Error {
  const err = (body as { error?: { code?: string; message?: string } })?.error;
  const code = err?.code ?? null;
  const message = `${method}: ${res.status} ${code ?? ""} ${err?.message ?? res.statusText}`
    .replace(/\s+/g, " ");
  if (res.status === 401) return new AuthExpiredError("outlook", message, 401, code);
  if (res.status === 429 || res.status === 503) {
    return new RateLimitedError(
      "outlook",
      message,
      res.status,
      parseRetryAfter(res.headers.get("Retry-After")),
      code,
    );
  }
  if (method === "GET" && (res.status === 410 || (code && RESYNC_CODES.test(code)))) {
    return new CursorInvalidError("outlook", message, res.status, code);
  }
  if (res.status === 404 || res.status === 410) {
    return new NotFoundError("outlook", message, res.status, code);
  }
  if (res.status === 412) return new PreconditionFailedError("outlook", message, 412, code);
  return new CalendarError("outlook", message, res.status, code);
}

// Free and working-elsewhere leave the time bookable; tentative, busy, away
// and unknown block it.
export function graphBusy(event: GraphEvent, window: SyncWindow): BusyOccurrence[] {
  if (!event.start || !event.end) throw new Error("event without start or end");
  const allDay = event.isAllDay === true;
  const startMs = graphTimeMs(event.start, allDay, window.timeZone);
  const endMs = graphTimeMs(event.end, allDay, window.timeZone);
  if (!(endMs > startMs)) return [];
  if (endMs <= window.from.getTime() || startMs >= window.to.getTime()) return [];
  return [{
    externalId: event.id,
    start: new Date(startMs).toISOString(),
    end: new Date(endMs).toISOString(),
    allDay,
    free: event.showAs === "free" || event.showAs === "workingElsewhere",
    meetingId: null,
  }];
}

// Graph writes local date-times without an offset ("2024-01-01T10:00:00.0000000")
// next to a zone name.
function graphTimeMs(t: GraphTime, allDay: boolean, ownerZone: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(t.dateTime ?? "");
  if (!m) throw new Error(`unreadable dateTime "${t.dateTime}"`);
  const wall = {
    year: +m[1],
    month: +m[2],
    day: +m[3],
    hour: allDay ? 0 : +m[4],
    minute: allDay ? 0 : +m[5],
    second: allDay ? 0 : +m[6],
  };
  if (allDay) return wallTimeToEpochMs(wall, ownerZone);
  const zone = t.timeZone === "UTC" || !t.timeZone ? "UTC" : t.timeZone;
  if (!isKnownTimeZone(zone)) throw new Error(`unknown time zone "${t.timeZone}"`);
  return wallTimeToEpochMs(wall, zone);
}

function graphBody(event: OutgoingEvent) {
  const time = (iso: string) =>
    event.allDay
      ? { dateTime: `${localDate(Date.parse(iso), event.timeZone)}T00:00:00`, timeZone: "UTC" }
      : { dateTime: new Date(iso).toISOString().replace(/Z$/, ""), timeZone: "UTC" };
  return {
    subject: event.title,
    body: { contentType: "text", content: event.description },
    location: event.location ? { displayName: event.location } : undefined,
    start: time(event.start),
    end: time(event.end),
    isAllDay: event.allDay,
    showAs: "busy",
    attendees: event.attendees.map((a) => ({
      emailAddress: { address: a.email, name: a.name },
      type: "required",
    })),
  };
}
