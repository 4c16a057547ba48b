// CalDAV (RFC 4791) client for one calendar collection: collection state
// (getctag, sync-token), incremental listing with sync-collection (RFC 6578)
// and its fallbacks, calendar-multiget, and conditional PUT / DELETE.
import { XMLParser } from "fast-xml-parser";
import {
  AuthRejectedError,
  CalendarError,
  CursorInvalidError,
  InvalidResponseError,
  NotFoundError,
  parseRetryAfter,
  PreconditionFailedError,
  RateLimitedError,
} from "./errors.ts";

export interface CalDavCredentials {
  username: string;
  password: string;
}

// What a sync remembers between runs. syncToken is used where the server
// offers sync-collection; ctag plus per-resource etags everywhere else.
export interface CalDavCursor {
  syncToken: string | null;
  ctag: string | null;
  etags: Record<string, string>;
}

export interface CalDavResource {
  href: string;
  etag: string | null;
  data: string;
}

export interface CalDavChanges {
  // true: `changed` is the whole collection and anything not in it is gone.
  full: boolean;
  changed: CalDavResource[];
  removed: string[];
  cursor: CalDavCursor;
  // How the changes were found, for logs and tests.
  method: "unchanged" | "sync-collection" | "etag-diff" | "full-listing";
}

const xml = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => ["response", "propstat", "href"].includes(name),
});

const MULTIGET_BATCH = 100;

interface PropstatXml {
  prop?: Record<string, unknown>;
  status?: string;
}
interface ResponseXml {
  href?: string[];
  propstat?: PropstatXml[];
  status?: string;
}

export class CalDavClient {
  readonly collectionUrl: string;
  readonly #auth: string;
  readonly #fetch: typeof fetch;

  constructor(
    collectionUrl: string,
    credentials: CalDavCredentials,
    fetchFn: typeof fetch = fetch,
  ) {
    this.collectionUrl = collectionUrl.endsWith("/") ? collectionUrl : `${collectionUrl}/`;
    this.#auth = "Basic " + btoa(`${credentials.username}:${credentials.password}`);
    this.#fetch = fetchFn;
  }

  // The collection's change markers. syncToken is null where the server does
  // not implement RFC 6578.
  async collectionState(): Promise<{ ctag: string | null; syncToken: string | null }> {
    const body = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/">
  <d:prop><cs:getctag/><d:sync-token/></d:prop>
</d:propfind>`;
    const res = await this.#send("PROPFIND", this.collectionUrl, body, { Depth: "0" });
    const [first] = multistatus(await res.text());
    const prop = okProp(first);
    return { ctag: text(prop?.getctag), syncToken: text(prop?.["sync-token"]) };
  }

  // Every calendar object in the collection with its etag.
  async listEtags(): Promise<Record<string, string>> {
    const body = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:resourcetype/></d:prop></d:propfind>`;
    const res = await this.#send("PROPFIND", this.collectionUrl, body, { Depth: "1" });
    const etags: Record<string, string> = {};
    for (const r of multistatus(await res.text())) {
      const href = this.#resolve(r.href?.[0]);
      const prop = okProp(r);
      if (!href || href === this.collectionUrl || !prop) continue;
      if (prop.resourcetype && typeof prop.resourcetype === "object") {
        if ("collection" in (prop.resourcetype as Record<string, unknown>)) continue;
      }
      const etag = text(prop.getetag);
      if (etag) etags[href] = etag;
    }
    return etags;
  }

  // RFC 6578 section 3.2. A truncated answer (507 on the collection, 3.6)
  // is continued from the token that came with it.
  async syncCollection(
    token: string | null,
  ): Promise<{ changed: Record<string, string>; removed: string[]; token: string }> {
    const changed: Record<string, string> = {};
    const removed = new Set<string>();
    let current = token;
    for (let round = 0; round < 100; round++) {
      const body = `<?xml version="1.0" encoding="utf-8"?>
<d:sync-collection xmlns:d="DAV:">
  <d:sync-token>${current ? escapeXml(current) : ""}</d:sync-token>
  <d:sync-level>1</d:sync-level>
  <d:prop><d:getetag/></d:prop>
</d:sync-collection>`;
      const res = await this.#send("REPORT", this.collectionUrl, body, { Depth: "1" });
      const parsed = parseXml(await res.text());
      const ms = parsed.multistatus as Record<string, unknown> | undefined;
      if (!ms) throw new InvalidResponseError("caldav", "sync-collection: no multistatus");
      let truncated = false;
      for (const r of (ms.response as ResponseXml[] | undefined) ?? []) {
        const href = this.#resolve(r.href?.[0]);
        if (!href) continue;
        if (href === this.collectionUrl) {
          if (/\b507\b/.test(r.status ?? "")) truncated = true;
          continue;
        }
        if (/\b404\b/.test(r.status ?? "")) {
          removed.add(href);
          delete changed[href];
          continue;
        }
        const etag = text(okProp(r)?.getetag);
        if (etag) {
          changed[href] = etag;
          removed.delete(href);
        }
      }
      const next = text(ms["sync-token"]);
      if (!next) throw new InvalidResponseError("caldav", "sync-collection: no sync-token");
      current = next;
      if (!truncated) return { changed, removed: [...removed], token: current };
    }
    throw new InvalidResponseError("caldav", "sync-collection: the server kept truncating");
  }

  // calendar-multiget (RFC 4791 section 7.9), in batches.
  async multiget(hrefs: string[]): Promise<CalDavResource[]> {
    const out: CalDavResource[] = [];
    for (let i = 0; i < hrefs.length; i += MULTIGET_BATCH) {
      const batch = hrefs.slice(i, i + MULTIGET_BATCH);
      const body = `<?xml version="1.0" encoding="utf-8"?>
<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
  ${batch.map((h) => `<d:href>${escapeXml(new URL(h).pathname)}</d:href>`).join("\n  ")}
</c:calendar-multiget>`;
      const res = await this.#send("REPORT", this.collectionUrl, body, { Depth: "1" });
      for (const r of multistatus(await res.text())) {
        const href = this.#resolve(r.href?.[0]);
        const prop = okProp(r);
        const data = text(prop?.["calendar-data"]);
        if (!href || !prop || data === null) continue;
        out.push({ href, etag: text(prop.getetag), data });
      }
    }
    return out;
  }

  // Create (If-None-Match: *) or replace (If-Match: etag) one resource.
  // Answers the new etag; a server that sends none is asked for it.
  async put(
    href: string,
    ics: string,
    condition: { create: true } | { etag: string },
  ): Promise<string | null> {
    const url = this.#resolve(href) ?? href;
    const headers: Record<string, string> = { "Content-Type": "text/calendar; charset=utf-8" };
    if ("create" in condition) headers["If-None-Match"] = "*";
    else headers["If-Match"] = condition.etag;
    const res = await this.#send("PUT", url, ics, headers);
    await res.body?.cancel();
    return res.headers.get("ETag") ?? await this.etag(url);
  }

  async etag(href: string): Promise<string | null> {
    const url = this.#resolve(href) ?? href;
    const body = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>`;
    const res = await this.#send("PROPFIND", url, body, { Depth: "0" });
    return text(okProp(multistatus(await res.text())[0])?.getetag);
  }

  async delete(href: string, etag: string | null): Promise<void> {
    const url = this.#resolve(href) ?? href;
    const res = await this.#send("DELETE", url, undefined, etag ? { "If-Match": etag } : {});
    await res.body?.cancel();
  }

  // MKCALENDAR (RFC 4791 section 5.3.1), for setting a calendar up.
  async makeCalendar(displayName: string): Promise<void> {
    const body = `<?xml version="1.0" encoding="utf-8"?>
<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:set><d:prop><d:displayname>${escapeXml(displayName)}</d:displayname></d:prop></d:set>
</c:mkcalendar>`;
    const res = await this.#send("MKCALENDAR", this.collectionUrl, body, {});
    await res.body?.cancel();
  }

  // What changed since `cursor` (null: never synced). A rejected sync-token
  // falls back to a full listing; a server without sync-collection is
  // compared by ctag, then by etags.
  async changesSince(cursor: CalDavCursor | null): Promise<CalDavChanges> {
    const state = await this.collectionState();
    if (cursor && cursor.ctag && state.ctag === cursor.ctag) {
      return { full: false, changed: [], removed: [], cursor, method: "unchanged" };
    }
    if (cursor?.syncToken && state.syncToken) {
      try {
        const delta = await this.syncCollection(cursor.syncToken);
        const etags = { ...cursor.etags, ...delta.changed };
        for (const href of delta.removed) delete etags[href];
        const changed = await this.multiget(Object.keys(delta.changed));
        return {
          full: false,
          changed,
          removed: delta.removed,
          cursor: { syncToken: delta.token, ctag: state.ctag, etags },
          method: "sync-collection",
        };
      } catch (e) {
        if (!(e instanceof CursorInvalidError)) throw e;
        // The server forgot our token: list everything again below.
      }
    } else if (cursor && !cursor.syncToken && Object.keys(cursor.etags).length > 0) {
      const etags = await this.listEtags();
      const changedHrefs = Object.keys(etags).filter((h) => cursor.etags[h] !== etags[h]);
      const removed = Object.keys(cursor.etags).filter((h) => !(h in etags));
      return {
        full: false,
        changed: await this.multiget(changedHrefs),
        removed,
        cursor: { syncToken: null, ctag: state.ctag, etags },
        method: "etag-diff",
      };
    }
    // Full listing. The sync-token read before listing may replay a change
    // made meanwhile next time, which is harmless; the reverse would lose it.
    const etags = await this.listEtags();
    return {
      full: true,
      changed: await this.multiget(Object.keys(etags)),
      removed: [],
      cursor: { syncToken: state.syncToken, ctag: state.ctag, etags },
      method: "full-listing",
    };
  }

  #resolve(href: string | undefined): string | null {
    if (!href) return null;
    try {
      return new URL(href, this.collectionUrl).toString();
    } catch {
      return null;
    }
  }

  async #send(
    method: string,
    url: string,
    body: string | undefined,
    headers: Record<string, string>,
  ): Promise<Response> {
    const res = await this.#fetch(url, {
      method,
      body,
      headers: {
        Authorization: this.#auth,
        ...(body && !headers["Content-Type"]
          ? { "Content-Type": "application/xml; charset=utf-8" }
          : {}),
        ...headers,
      },
    });
    if (res.ok || res.status === 207) return res;
    const detail = await res.text().catch(() => "");
    const where = `${method} ${new URL(url).pathname}`;
    if (res.status === 401) {
      throw new AuthRejectedError("caldav", `${where}: the server refused the credentials`, 401);
    }
    if ((res.status === 403 || res.status === 409) && /valid-sync-token/.test(detail)) {
      throw new CursorInvalidError("caldav", `${where}: the sync-token is no longer valid`, 403);
    }
    if (res.status === 412) {
      throw new PreconditionFailedError("caldav", `${where}: the resource changed (412)`, 412);
    }
    if (res.status === 404 || res.status === 410) {
      throw new NotFoundError("caldav", `${where}: not found (${res.status})`, res.status);
    }
    if (res.status === 429 || res.status === 503) {
      throw new RateLimitedError(
        "caldav",
        `${where}: ${res.status} ${res.statusText}`,
        res.status,
        parseRetryAfter(res.headers.get("Retry-After")),
      );
    }
    throw new CalendarError(
      "caldav",
      `${where}: ${res.status} ${res.statusText}${detail ? `: ${detail.slice(0, 200)}` : ""}`,
      res.status,
    );
  }
}

function parseXml(body: string): Record<string, unknown> {
  try {
    return xml.parse(body) as Record<string, unknown>;
  } catch (e) {
    throw new InvalidResponseError("caldav", `unreadable XML: ${(e as Error).message}`);
  }
}

function multistatus(body: string): ResponseXml[] {
  const ms = parseXml(body).multistatus as { response?: ResponseXml[] } | undefined;
  if (!ms) throw new InvalidResponseError("caldav", "expected a DAV:multistatus answer");
  return ms.response ?? [];
}

function okProp(r: ResponseXml | undefined): Record<string, unknown> | null {
  const ok = r?.propstat?.find((p) => /\b200\b/.test(p.status ?? ""));
  return (ok?.prop as Record<string, unknown>) ?? null;
}

function text(v: unknown): string | null {
  if (typeof v === "string") return v === "" ? null : v;
  if (typeof v === "number") return String(v);
  return null;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
