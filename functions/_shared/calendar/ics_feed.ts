// Subscribed iCalendar feeds (webcal/https): a conditional GET with the
// stored ETag / Last-Modified (a 304 means nothing to do), then the whole
// feed parsed and expanded. A feed has no incremental form: every pull that
// finds a change is full.
import { CalendarError, parseRetryAfter, RateLimitedError } from "./errors.ts";
import { IcsError, importIcs } from "./ics.ts";
import type { PullResult, SyncWindow } from "./types.ts";

export interface IcsFeedCursor {
  etag: string | null;
  lastModified: string | null;
}

// Feeds larger than this are refused before parsing: the Edge runtime has
// 256 MB, and a calendar this big is a mistake or an attack.
export const MAX_FEED_BYTES = 20 * 1024 * 1024;
// The item id of a feed: it is one unit of change.
export const FEED_ITEM_ID = "feed";

export async function pullIcsFeed(
  url: string,
  cursor: IcsFeedCursor | null,
  window: SyncWindow,
  fetchFn: typeof fetch = fetch,
): Promise<PullResult> {
  const headers: Record<string, string> = { Accept: "text/calendar, */*;q=0.5" };
  if (cursor?.etag) headers["If-None-Match"] = cursor.etag;
  if (cursor?.lastModified) headers["If-Modified-Since"] = cursor.lastModified;
  const res = await fetchFn(url.replace(/^webcal:/i, "https:"), { headers, redirect: "follow" });
  if (res.status === 304 && cursor) {
    await res.body?.cancel();
    return {
      full: false,
      items: [],
      removedItems: [],
      skipped: [],
      cursor: { ...cursor },
      unchanged: true,
    };
  }
  if (res.status === 429 || res.status === 503) {
    await res.body?.cancel();
    throw new RateLimitedError(
      "ics",
      `GET feed: ${res.status} ${res.statusText}`,
      res.status,
      parseRetryAfter(res.headers.get("Retry-After")),
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new CalendarError("ics", `GET feed: ${res.status} ${res.statusText}`, res.status);
  }
  const declared = Number(res.headers.get("Content-Length") ?? "0");
  if (declared > MAX_FEED_BYTES) {
    await res.body?.cancel();
    throw new CalendarError("ics", `the feed is larger than ${MAX_FEED_BYTES} bytes`, res.status);
  }
  const text = await readCapped(res, MAX_FEED_BYTES);
  let imported;
  try {
    imported = importIcs(text, {
      timeZone: window.timeZone,
      from: window.from,
      to: window.to,
    });
  } catch (e) {
    if (e instanceof IcsError) {
      throw new CalendarError("ics", `the feed is not a calendar: ${e.message}`, res.status);
    }
    throw e;
  }
  return {
    full: true,
    items: [{ itemId: FEED_ITEM_ID, etag: res.headers.get("ETag"), busy: imported.busy }],
    removedItems: [],
    skipped: imported.skipped,
    cursor: {
      etag: res.headers.get("ETag"),
      lastModified: res.headers.get("Last-Modified"),
    },
    unchanged: false,
  };
}

async function readCapped(res: Response, limit: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new CalendarError("ics", `the feed is larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return new TextDecoder().decode(all);
}
