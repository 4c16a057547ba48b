// A local server that speaks the parts of Microsoft Graph v1.0 and the
// Microsoft identity platform token endpoint that the sync uses:
// calendarView/delta with @odata.nextLink / @odata.deltaLink paging
// (odata.maxpagesize), "@removed" entries, a lost sync state answered 410
// with code "SyncStateNotFound", events create / update / delete with
// If-Match (412 "ErrorIrreversibleOperation"-style precondition failures),
// 401 "InvalidAuthenticationToken", 429 "TooManyRequests" with Retry-After,
// and refresh_token grants that rotate the refresh token.

export interface FakeGraphEvent {
  id: string;
  changeKey: string;
  subject?: string;
  isAllDay: boolean;
  isCancelled?: boolean;
  showAs: "free" | "tentative" | "busy" | "oof" | "workingElsewhere" | "unknown";
  type: "singleInstance" | "occurrence" | "exception" | "seriesMaster";
  start: { dateTime: string; timeZone: string };
  end: { dateTime: string; timeZone: string };
  removed?: boolean;
  seq: number;
}

interface QueuedFailure {
  status: number;
  retryAfter?: string;
  code?: string;
}

export class FakeGraph {
  readonly calendars = new Map<string, Map<string, FakeGraphEvent>>();
  readonly requests: {
    method: string;
    path: string;
    prefer: string | null;
    ifMatch: string | null;
  }[] = [];
  accessToken = "graph-access-1";
  refreshToken = "graph-refresh-1";
  refreshCount = 0;
  #currentAccess: string | null = "graph-access-1";
  #seq = 0;
  #lostStates = new Set<string>();
  #failures: QueuedFailure[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;

  // port 0: any free port.
  constructor(port = 0) {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port, onListen: () => {} },
      (req) => this.#handle(req),
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }
  get apiBase(): string {
    return `${this.url}/v1.0`;
  }
  get tokenUrl(): string {
    return `${this.url}/common/oauth2/v2.0/token`;
  }
  close(): Promise<void> {
    return this.#server.shutdown();
  }

  // Test controls ------------------------------------------------------------

  readonly subscriptions: { id: string; url: string; clientState: string; resource: string }[] = [];

  // Send a change notification to every subscriber, as Graph does.
  async notifySubscriptions(): Promise<number[]> {
    const statuses: number[] = [];
    for (const s of this.subscriptions) {
      const res = await fetch(s.url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          value: [{
            subscriptionId: s.id,
            clientState: s.clientState,
            changeType: "updated",
            resource: s.resource,
            tenantId: "00000000-0000-0000-0000-000000000000",
          }],
        }),
      });
      await res.body?.cancel();
      statuses.push(res.status);
    }
    return statuses;
  }

  put(calendarId: string, event: Omit<FakeGraphEvent, "changeKey" | "seq">): FakeGraphEvent {
    const seq = ++this.#seq;
    const stored = { ...event, changeKey: `ck${seq}`, seq };
    this.#calendar(calendarId).set(event.id, stored);
    return stored;
  }

  remove(calendarId: string, id: string) {
    const e = this.#calendar(calendarId).get(id);
    if (!e) throw new Error(`no event ${id}`);
    Object.assign(e, { removed: true, seq: ++this.#seq });
  }

  // Graph drops delta state it no longer keeps; the next use answers 410.
  loseSyncState(deltaLink: string) {
    const token = new URL(deltaLink).searchParams.get("$deltatoken");
    if (token) this.#lostStates.add(token);
  }

  expireAccessToken() {
    this.#currentAccess = null;
  }

  failNext(...failures: QueuedFailure[]) {
    this.#failures.push(...failures);
  }

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
      prefer: req.headers.get("Prefer"),
      ifMatch: req.headers.get("If-Match"),
    });
    if (url.pathname === "/common/oauth2/v2.0/token" && req.method === "POST") {
      return this.#token(req);
    }
    const failure = this.#failures.shift();
    if (failure) {
      const headers: Record<string, string> = {};
      if (failure.retryAfter !== undefined) headers["Retry-After"] = failure.retryAfter;
      return graphError(
        failure.status,
        failure.code ?? (failure.status === 429 ? "TooManyRequests" : "ServiceNotAvailable"),
        "Simulated failure",
        headers,
      );
    }
    if (req.headers.get("Authorization") !== `Bearer ${this.#currentAccess}`) {
      return graphError(
        401,
        "InvalidAuthenticationToken",
        "Access token has expired or is not yet valid.",
      );
    }

    if (url.pathname === "/v1.0/subscriptions" && req.method === "POST") {
      const body = await req.json();
      // Graph validates the endpoint before creating the subscription: it
      // must echo the validation token, in plain text, within 10 seconds.
      const token = crypto.randomUUID();
      const check = await fetch(
        `${body.notificationUrl}?validationToken=${encodeURIComponent(token)}`,
        {
          method: "POST",
          signal: AbortSignal.timeout(10_000),
        },
      ).catch(() => null);
      const echoed = check ? await check.text() : "";
      if (!check || check.status !== 200 || echoed !== token) {
        return graphError(400, "ValidationError", "Subscription validation request failed.");
      }
      const sub = {
        id: crypto.randomUUID(),
        url: body.notificationUrl,
        clientState: body.clientState ?? "",
        resource: body.resource,
      };
      this.subscriptions.push(sub);
      return Response.json({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
        id: sub.id,
        resource: sub.resource,
        changeType: body.changeType,
        clientState: sub.clientState,
        notificationUrl: sub.url,
        expirationDateTime: body.expirationDateTime,
      }, { status: 201 });
    }
    const delta = /^\/v1\.0\/me\/(?:calendar|calendars\/([^/]+))\/calendarView\/delta$/.exec(
      url.pathname,
    );
    if (delta && req.method === "GET") {
      return this.#delta(decodeURIComponent(delta[1] ?? "primary"), url, req.headers.get("Prefer"));
    }
    const create = /^\/v1\.0\/me\/(?:calendar|calendars\/([^/]+))\/events$/.exec(url.pathname);
    if (create && req.method === "POST") {
      const calendar = this.#calendar(decodeURIComponent(create[1] ?? "primary"));
      const body = await req.json();
      const seq = ++this.#seq;
      const event: FakeGraphEvent = {
        id: `AAMk${crypto.randomUUID().replaceAll("-", "")}`,
        changeKey: `ck${seq}`,
        subject: body.subject,
        isAllDay: body.isAllDay ?? false,
        showAs: body.showAs ?? "busy",
        type: "singleInstance",
        start: body.start,
        end: body.end,
        seq,
      };
      calendar.set(event.id, event);
      return Response.json(publicEvent(event), { status: 201 });
    }
    const single = /^\/v1\.0\/me\/events\/([^/]+)$/.exec(url.pathname);
    if (single) {
      const id = decodeURIComponent(single[1]);
      const found = [...this.calendars.values()].map((c) => c.get(id)).find((e) => e && !e.removed);
      if (!found) {
        return graphError(
          404,
          "ErrorItemNotFound",
          "The specified object was not found in the store.",
        );
      }
      const ifMatch = req.headers.get("If-Match");
      if (ifMatch && ifMatch !== etagOf(found)) {
        return graphError(
          412,
          "ErrorIrreversibleOperation",
          "The precondition failed: the change key does not match.",
        );
      }
      if (req.method === "PATCH") {
        const body = await req.json();
        const seq = ++this.#seq;
        Object.assign(found, {
          subject: body.subject ?? found.subject,
          start: body.start ?? found.start,
          end: body.end ?? found.end,
          isAllDay: body.isAllDay ?? found.isAllDay,
          showAs: body.showAs ?? found.showAs,
          changeKey: `ck${seq}`,
          seq,
        });
        return Response.json(publicEvent(found));
      }
      if (req.method === "DELETE") {
        Object.assign(found, { removed: true, seq: ++this.#seq });
        return new Response(null, { status: 204 });
      }
      if (req.method === "GET") return Response.json(publicEvent(found));
    }
    return graphError(400, "BadRequest", `Unsupported request ${req.method} ${url.pathname}`);
  }

  #delta(calendarId: string, url: URL, prefer: string | null): Response {
    const calendar = this.#calendar(calendarId);
    const pageSize = Number(/odata\.maxpagesize=(\d+)/.exec(prefer ?? "")?.[1] ?? "10");
    const deltaToken = url.searchParams.get("$deltatoken");
    const skipToken = url.searchParams.get("$skiptoken");
    let state: { since: number; upTo: number; offset: number; start: string; end: string };
    if (skipToken) {
      state = JSON.parse(atob(skipToken));
    } else if (deltaToken) {
      if (this.#lostStates.has(deltaToken)) {
        return graphError(410, "SyncStateNotFound", "The sync state generation is not found.");
      }
      const d = JSON.parse(atob(deltaToken));
      state = { since: d.upTo, upTo: this.#seq, offset: 0, start: d.start, end: d.end };
    } else {
      const start = url.searchParams.get("startDateTime");
      const end = url.searchParams.get("endDateTime");
      if (!start || !end) {
        return graphError(
          400,
          "ErrorInvalidParameter",
          "startDateTime and endDateTime are required.",
        );
      }
      state = { since: 0, upTo: this.#seq, offset: 0, start, end };
    }
    const inView = (e: FakeGraphEvent) =>
      Date.parse(`${e.end.dateTime}Z`) > Date.parse(state.start) &&
      Date.parse(`${e.start.dateTime}Z`) < Date.parse(state.end);
    const all = [...calendar.values()]
      .filter((e) => e.seq > state.since && e.seq <= state.upTo)
      .filter((e) => state.since > 0 || !e.removed)
      .filter((e) => e.removed || inView(e))
      .sort((a, b) => a.seq - b.seq);
    const slice = all.slice(state.offset, state.offset + pageSize);
    const base = `${this.apiBase}/me/calendars/${
      encodeURIComponent(calendarId)
    }/calendarView/delta`;
    const body: Record<string, unknown> = {
      "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
      value: slice.map((e) =>
        e.removed
          ? { "@odata.type": "#microsoft.graph.event", id: e.id, "@removed": { reason: "deleted" } }
          : publicEvent(e)
      ),
    };
    if (state.offset + pageSize < all.length) {
      body["@odata.nextLink"] = `${base}?$skiptoken=${
        encodeURIComponent(btoa(JSON.stringify({ ...state, offset: state.offset + pageSize })))
      }`;
    } else {
      body["@odata.deltaLink"] = `${base}?$deltatoken=${
        encodeURIComponent(
          btoa(JSON.stringify({ upTo: state.upTo, start: state.start, end: state.end })),
        )
      }`;
    }
    return Response.json(body);
  }

  async #token(req: Request): Promise<Response> {
    const form = new URLSearchParams(await req.text());
    if (
      form.get("grant_type") !== "refresh_token" || form.get("refresh_token") !== this.refreshToken
    ) {
      return Response.json(
        {
          error: "invalid_grant",
          error_description: "AADSTS70000: The provided grant is invalid or malformed.",
        },
        { status: 400 },
      );
    }
    this.refreshCount++;
    this.accessToken = `graph-access-${this.refreshCount + 1}`;
    this.refreshToken = `graph-refresh-${this.refreshCount + 1}`;
    this.#currentAccess = this.accessToken;
    return Response.json({
      token_type: "Bearer",
      scope: "Calendars.ReadWrite offline_access",
      expires_in: 3600,
      access_token: this.accessToken,
      refresh_token: this.refreshToken,
    });
  }
}

function etagOf(e: FakeGraphEvent): string {
  return `W/"${e.changeKey}"`;
}

function publicEvent(e: FakeGraphEvent) {
  return {
    "@odata.type": "#microsoft.graph.event",
    "@odata.etag": etagOf(e),
    id: e.id,
    changeKey: e.changeKey,
    subject: e.subject,
    isAllDay: e.isAllDay,
    isCancelled: e.isCancelled ?? false,
    showAs: e.showAs,
    type: e.type,
    start: e.start,
    end: e.end,
  };
}

function graphError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return Response.json(
    {
      error: {
        code,
        message,
        innerError: { date: new Date().toISOString(), "request-id": crypto.randomUUID() },
      },
    },
    { status, headers },
  );
}
