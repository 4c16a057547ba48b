// A local server that speaks the parts of the Google Calendar API v3 and
// Google's OAuth token endpoint that the sync uses, with their documented
// behaviour and error shapes: events.list paging (pageToken) and
// incremental sync (syncToken, 410 "fullSyncRequired" once invalidated),
// showDeleted cancelled entries, insert / patch / delete with If-Match (412
// "conditionNotMet"), 401 for an expired access token, 429 / 403
// rateLimitExceeded with Retry-After, and refresh_token grants.

export interface FakeGoogleEvent {
  id: string;
  etag: string;
  status: "confirmed" | "cancelled";
  transparency?: "opaque" | "transparent";
  start: { dateTime?: string; date?: string; timeZone?: string };
  end: { dateTime?: string; date?: string; timeZone?: string };
  summary?: string;
  iCalUID?: string;
  extendedProperties?: { private?: Record<string, string> };
  // Change sequence number: what a sync token is compared against.
  seq: number;
}

interface QueuedFailure {
  status: number;
  retryAfter?: string;
  reason?: string;
}

export class FakeGoogle {
  readonly calendars = new Map<string, Map<string, FakeGoogleEvent>>();
  readonly requests: { method: string; path: string; search: string; ifMatch: string | null }[] =
    [];
  accessToken = "google-access-1";
  refreshToken = "google-refresh";
  refreshCount = 0;
  // Time spent answering API requests, for benchmarks that subtract it.
  handlerMs = 0;
  #seq = 0;
  #tokenGeneration = 1;
  #failures: QueuedFailure[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;

  // port 0: any free port.
  constructor(port = 0) {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port, onListen: () => {} },
      async (req) => {
        const t0 = performance.now();
        try {
          return await this.#handle(req);
        } finally {
          this.handlerMs += performance.now() - t0;
        }
      },
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }
  get apiBase(): string {
    return `${this.url}/calendar/v3`;
  }
  get tokenUrl(): string {
    return `${this.url}/token`;
  }

  close(): Promise<void> {
    return this.#server.shutdown();
  }

  // Test controls ------------------------------------------------------------

  // Channels opened with events.watch.
  readonly channels: { id: string; token: string; address: string; calendarId: string }[] = [];

  // Tell every watcher of the calendar that it changed, as Google does: a
  // POST with the channel's headers and no body. Answers the statuses.
  async notifyChannels(calendarId: string): Promise<number[]> {
    const statuses: number[] = [];
    for (const c of this.channels.filter((c) => c.calendarId === calendarId)) {
      const res = await fetch(c.address, {
        method: "POST",
        headers: {
          "X-Goog-Channel-ID": c.id,
          "X-Goog-Channel-Token": c.token,
          "X-Goog-Resource-ID": `res-${c.id}`,
          "X-Goog-Resource-State": "exists",
          "X-Goog-Message-Number": "2",
        },
      });
      await res.body?.cancel();
      statuses.push(res.status);
    }
    return statuses;
  }

  put(
    calendarId: string,
    event: Omit<FakeGoogleEvent, "etag" | "seq" | "status"> & {
      status?: "confirmed" | "cancelled";
    },
  ): FakeGoogleEvent {
    const seq = ++this.#seq;
    const stored: FakeGoogleEvent = {
      status: "confirmed",
      ...event,
      etag: `"${seq}"`,
      seq,
    };
    this.#calendar(calendarId).set(event.id, stored);
    return stored;
  }

  cancel(calendarId: string, id: string) {
    const e = this.#calendar(calendarId).get(id);
    if (!e) throw new Error(`no event ${id}`);
    const seq = ++this.#seq;
    Object.assign(e, { status: "cancelled", etag: `"${seq}"`, seq });
  }

  // Every sync token issued so far stops working, as when Google expires them.
  invalidateSyncTokens() {
    this.#tokenGeneration++;
  }

  expireAccessToken() {
    this.accessToken = `expired-${crypto.randomUUID()}`;
    this.#currentAccess = null;
  }

  failNext(...failures: QueuedFailure[]) {
    this.#failures.push(...failures);
  }

  #currentAccess: string | null = this.accessToken;

  #calendar(id: string) {
    let c = this.calendars.get(id);
    if (!c) {
      c = new Map();
      this.calendars.set(id, c);
    }
    return c;
  }

  // Protocol -----------------------------------------------------------------

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    this.requests.push({
      method: req.method,
      path: url.pathname,
      search: url.search,
      ifMatch: req.headers.get("If-Match"),
    });
    if (url.pathname === "/token" && req.method === "POST") return this.#token(req);

    const failure = this.#failures.shift();
    if (failure) {
      const headers: Record<string, string> = {};
      if (failure.retryAfter !== undefined) headers["Retry-After"] = failure.retryAfter;
      return googleError(
        failure.status,
        failure.reason ?? (failure.status === 429 ? "rateLimitExceeded" : "backendError"),
        "Simulated failure",
        headers,
      );
    }

    const auth = req.headers.get("Authorization");
    if (auth !== `Bearer ${this.#currentAccess}`) {
      return googleError(401, "authError", "Invalid Credentials", {
        "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"',
      });
    }

    const watch = /^\/calendar\/v3\/calendars\/([^/]+)\/events\/watch$/.exec(url.pathname);
    if (watch && req.method === "POST") {
      const body = await req.json();
      if (body.type !== "web_hook" || typeof body.address !== "string" || !body.id) {
        return googleError(400, "invalid", "id, type web_hook and address are required");
      }
      this.channels.push({
        id: body.id,
        token: body.token ?? "",
        address: body.address,
        calendarId: decodeURIComponent(watch[1]),
      });
      return Response.json({
        kind: "api#channel",
        id: body.id,
        resourceId: `res-${body.id}`,
        resourceUri: `${this.apiBase}/calendars/${watch[1]}/events`,
        token: body.token,
        expiration: String(Date.now() + 7 * 86_400_000),
      });
    }
    const m = /^\/calendar\/v3\/calendars\/([^/]+)\/events(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return googleError(404, "notFound", "Not Found");
    const calendar = this.#calendar(decodeURIComponent(m[1]));
    const eventId = m[2] ? decodeURIComponent(m[2]) : null;

    if (req.method === "GET" && !eventId) return this.#list(calendar, url.searchParams);
    if (req.method === "POST" && !eventId) {
      const body = await req.json();
      const id = crypto.randomUUID().replaceAll("-", "");
      const seq = ++this.#seq;
      const event: FakeGoogleEvent = {
        ...body,
        id,
        status: "confirmed",
        etag: `"${seq}"`,
        seq,
      };
      calendar.set(id, event);
      return Response.json(publicEvent(event));
    }
    if (!eventId) return googleError(405, "methodNotAllowed", "Method Not Allowed");
    const existing = calendar.get(eventId);
    if (!existing || existing.status === "cancelled") {
      return existing
        ? googleError(410, "deleted", "Resource has been deleted")
        : googleError(404, "notFound", "Not Found");
    }
    const ifMatch = req.headers.get("If-Match");
    if (ifMatch && ifMatch !== existing.etag) {
      return googleError(412, "conditionNotMet", "Precondition Failed");
    }
    if (req.method === "GET") return Response.json(publicEvent(existing));
    if (req.method === "PATCH" || req.method === "PUT") {
      const body = await req.json();
      const seq = ++this.#seq;
      Object.assign(existing, body, { id: existing.id, etag: `"${seq}"`, seq });
      return Response.json(publicEvent(existing));
    }
    if (req.method === "DELETE") {
      const seq = ++this.#seq;
      Object.assign(existing, { status: "cancelled", etag: `"${seq}"`, seq });
      return new Response(null, { status: 204 });
    }
    return googleError(405, "methodNotAllowed", "Method Not Allowed");
  }

  #list(calendar: Map<string, FakeGoogleEvent>, params: URLSearchParams): Response {
    const syncToken = params.get("syncToken");
    const pageToken = params.get("pageToken");
    const max = Math.min(Number(params.get("maxResults") ?? "250"), 2500);
    if (syncToken && (params.has("timeMin") || params.has("timeMax"))) {
      return googleError(400, "invalid", "Sync token cannot be used with timeMin or timeMax");
    }
    let since = 0;
    if (syncToken) {
      const decoded = decodeToken(syncToken);
      if (!decoded || decoded.generation !== this.#tokenGeneration) {
        return googleError(
          410,
          "fullSyncRequired",
          "Sync token is no longer valid, a full sync is required.",
        );
      }
      since = decoded.seq;
    }
    // A page token pins the listing to the state when the listing began.
    const page = pageToken ? decodePage(pageToken) : { offset: 0, upTo: this.#seq };
    if (!page) return googleError(400, "invalid", "Invalid page token");
    const timeMin = params.get("timeMin");
    const all = [...calendar.values()]
      .filter((e) => e.seq > since && e.seq <= page.upTo)
      // A full listing leaves deleted events out unless asked; an incremental
      // one always includes them so the client can remove them.
      .filter((e) => syncToken || e.status !== "cancelled" || params.get("showDeleted") === "true")
      .filter((e) => !timeMin || syncToken || endOf(e) > Date.parse(timeMin))
      .sort((a, b) => a.seq - b.seq);
    const slice = all.slice(page.offset, page.offset + max);
    const body: Record<string, unknown> = {
      kind: "calendar#events",
      items: slice.map(publicEvent),
    };
    if (page.offset + max < all.length) {
      body.nextPageToken = btoa(JSON.stringify({ offset: page.offset + max, upTo: page.upTo }));
    } else {
      body.nextSyncToken = btoa(
        JSON.stringify({ seq: page.upTo, generation: this.#tokenGeneration }),
      );
    }
    return Response.json(body);
  }

  async #token(req: Request): Promise<Response> {
    const form = new URLSearchParams(await req.text());
    if (form.get("grant_type") !== "refresh_token") {
      return Response.json({ error: "unsupported_grant_type" }, { status: 400 });
    }
    if (form.get("refresh_token") !== this.refreshToken) {
      return Response.json(
        { error: "invalid_grant", error_description: "Token has been expired or revoked." },
        { status: 400 },
      );
    }
    this.refreshCount++;
    this.accessToken = `google-access-${this.refreshCount + 1}`;
    this.#currentAccess = this.accessToken;
    return Response.json({
      access_token: this.accessToken,
      expires_in: 3599,
      token_type: "Bearer",
      scope: "https://www.googleapis.com/auth/calendar",
    });
  }
}

function endOf(e: FakeGoogleEvent): number {
  return Date.parse(e.end.dateTime ?? `${e.end.date}T00:00:00Z`);
}

function publicEvent(e: FakeGoogleEvent) {
  const { seq: _seq, ...rest } = e;
  return { kind: "calendar#event", ...rest };
}

function decodeToken(token: string): { seq: number; generation: number } | null {
  try {
    const v = JSON.parse(atob(token));
    return typeof v.seq === "number" && typeof v.generation === "number" ? v : null;
  } catch {
    return null;
  }
}

function decodePage(token: string): { offset: number; upTo: number } | null {
  try {
    const v = JSON.parse(atob(token));
    return typeof v.offset === "number" && typeof v.upTo === "number" ? v : null;
  } catch {
    return null;
  }
}

function googleError(
  code: number,
  reason: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return Response.json(
    {
      error: {
        errors: [{ domain: "global", reason, message }],
        code,
        message,
      },
    },
    { status: code, headers },
  );
}
