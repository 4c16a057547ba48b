// A local server speaking Postmark's Email API (the same emulation as the dev
// mailbox) whose behaviour tests inject: whole-request failures (401, 422
// with an ErrorCode, 429, 500), per-recipient errors (406, 300) answered the
// way Postmark does (inside a 200 batch, or as a 422 for /email), slow
// answers before or after accepting, and requests that never get an answer.
import { type AcceptedMessage, postmarkApi } from "../../../scripts/postmark_compat.ts";

export interface Injection {
  status?: number;
  errorCode?: number;
  message?: string;
  retryAfter?: string;
  delayMs?: number;
  // Accept the messages, then answer this much later (past a client timeout).
  delayAfterAcceptMs?: number;
  hang?: boolean;
}

export interface SeenRequest {
  path: string;
  messages: number;
  token: string | null;
}

export class PostmarkTestServer {
  readonly accepted: AcceptedMessage[] = [];
  readonly requests: SeenRequest[] = [];
  readonly url: string;
  #queue: Injection[] = [];
  #recipientErrors = new Map<string, { ErrorCode: number; Message: string }>();
  #hung: (() => void)[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;

  constructor(readonly token = "test-server-token") {
    const api = postmarkApi({
      serverToken: token,
      deliver: (m) => {
        this.accepted.push(m);
      },
      messageError: (m) => {
        const to = String(m.To ?? "");
        const email = to.match(/<([^>]+)>/)?.[1] ?? to;
        return this.#recipientErrors.get(email.toLowerCase());
      },
    });
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (req) => {
        const path = new URL(req.url).pathname;
        const body = await req.text();
        let count = 0;
        try {
          const parsed = JSON.parse(body);
          count = Array.isArray(parsed) ? parsed.length : 1;
        } catch { /* the API answers that */ }
        this.requests.push({
          path,
          messages: count,
          token: req.headers.get("x-postmark-server-token"),
        });
        const inject = this.#queue.shift();
        if (inject?.delayMs) await new Promise((r) => setTimeout(r, inject.delayMs));
        if (inject?.hang) {
          await new Promise<void>((r) => this.#hung.push(r));
          return new Response("gone", { status: 503 });
        }
        if (inject?.status) {
          const headers = inject.retryAfter ? { "retry-after": inject.retryAfter } : undefined;
          return Response.json({
            ErrorCode: inject.errorCode ?? (inject.status === 429 ? 429 : 0),
            Message: inject.message ?? `injected ${inject.status}`,
          }, { status: inject.status, headers });
        }
        const res = await api(
          new Request(req.url, { method: req.method, headers: req.headers, body }),
        );
        if (inject?.delayAfterAcceptMs) {
          await new Promise((r) => setTimeout(r, inject.delayAfterAcceptMs));
        }
        return res ?? new Response("not found", { status: 404 });
      },
    );
    this.url = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  // Behaviours for the next requests, one each, in order.
  next(...injections: Injection[]) {
    this.#queue.push(...injections);
  }

  rejectRecipient(email: string, errorCode: number, message = `injected ErrorCode ${errorCode}`) {
    this.#recipientErrors.set(email.toLowerCase(), { ErrorCode: errorCode, Message: message });
  }

  acceptedFor(outboxIds: Iterable<string>): AcceptedMessage[] {
    const ids = new Set([...outboxIds].map(String));
    return this.accepted.filter((m) =>
      ids.has(String((m.message.Metadata as Record<string, string> | undefined)?.outbox_id))
    );
  }

  reset() {
    this.accepted.length = 0;
    this.requests.length = 0;
    this.#queue.length = 0;
    this.#recipientErrors.clear();
  }

  async close() {
    for (const release of this.#hung.splice(0)) release();
    await this.#server.shutdown();
  }
}
