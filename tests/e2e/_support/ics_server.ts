// A local HTTP server for iCalendar feeds: every file of a folder at
// /<file name>, plus feeds set in memory, with ETag and Last-Modified and
// 304 answers to conditional requests, as a feed host does.

interface Feed {
  body: string;
  etag: string;
  lastModified: string;
}

export class IcsServer {
  readonly feeds = new Map<string, Feed>();
  readonly requests: { path: string; ifNoneMatch: string | null; status: number }[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;
  #version = 0;
  failures: { status: number; retryAfter?: string }[] = [];

  constructor(folder?: string) {
    if (folder) {
      for (const entry of Deno.readDirSync(folder)) {
        if (entry.isFile && entry.name.endsWith(".ics")) {
          this.set(entry.name, Deno.readTextFileSync(`${folder}/${entry.name}`));
        }
      }
    }
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#handle(req),
    );
  }

  url(name: string): string {
    return `http://127.0.0.1:${this.#server.addr.port}/${encodeURIComponent(name)}`;
  }

  set(name: string, body: string) {
    const version = ++this.#version;
    this.feeds.set(name, {
      body,
      etag: `"v${version}"`,
      // One second apart at least, as HTTP dates have no finer grain.
      lastModified: new Date(Date.UTC(2026, 0, 1) + version * 1000).toUTCString(),
    });
  }

  close(): Promise<void> {
    return this.#server.shutdown();
  }

  #handle(req: Request): Response {
    const name = decodeURIComponent(new URL(req.url).pathname.slice(1));
    const ifNoneMatch = req.headers.get("If-None-Match");
    const respond = (r: Response) => {
      this.requests.push({ path: name, ifNoneMatch, status: r.status });
      return r;
    };
    const failure = this.failures.shift();
    if (failure) {
      return respond(
        new Response("try later", {
          status: failure.status,
          headers: failure.retryAfter ? { "Retry-After": failure.retryAfter } : {},
        }),
      );
    }
    const feed = this.feeds.get(name);
    if (!feed) return respond(new Response("no such feed", { status: 404 }));
    const headers = { ETag: feed.etag, "Last-Modified": feed.lastModified };
    if (ifNoneMatch === feed.etag) return respond(new Response(null, { status: 304, headers }));
    return respond(
      new Response(feed.body, {
        headers: { ...headers, "Content-Type": "text/calendar; charset=utf-8" },
      }),
    );
  }
}
