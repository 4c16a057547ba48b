// Postmark's Email API over plain fetch: POST /email for one message,
// POST /email/batch for several (up to 500 per call). What Postmark answers
// is turned into one outcome per message:
//   sent      ErrorCode 0, with Postmark's MessageID;
//   retry     429, 5xx, 401 (a token problem we can fix), network errors,
//             timeouts, and error codes that a later attempt can get past
//             (maintenance, account or sender-signature state, rate limits);
//   permanent 406 inactive recipient, 300 invalid email request, and request
//             shapes no retry will change (invalid or incompatible JSON,
//             forbidden attachment type).
// A batch answers 200 even when single messages fail, so every result is
// checked, in order.
import { retryAfterSeconds } from "./backoff.ts";

export interface PostmarkAttachment {
  Name: string;
  Content: string; // base64
  ContentType: string;
}

export interface PostmarkMessage {
  From: string;
  To: string;
  Subject: string;
  HtmlBody: string;
  TextBody: string;
  MessageStream: string;
  Tag?: string;
  Metadata?: Record<string, string>;
  Attachments?: PostmarkAttachment[];
  Headers?: { Name: string; Value: string }[];
}

export type SendOutcome =
  | { outcome: "sent"; messageId: string }
  | {
    outcome: "retry" | "permanent";
    error: string;
    errorCode?: number;
    httpStatus?: number;
    retryAfterSeconds?: number;
  };

export interface PostmarkClientOptions {
  baseUrl: string;
  serverToken: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

// Postmark API error codes (developer docs, "API error codes").
export const POSTMARK_ERROR_CODES: Record<number, string> = {
  10: "Bad or missing API token",
  100: "Maintenance",
  300: "Invalid email request",
  400: "Sender signature not found",
  401: "Sender signature not confirmed",
  402: "Invalid JSON",
  403: "Incompatible JSON",
  405: "Not allowed to send",
  406: "Inactive recipient",
  409: "JSON required",
  410: "Too many batch messages",
  411: "Forbidden attachment type",
  412: "Account is pending",
  413: "Account may not send",
  429: "Rate limit exceeded",
};

const PERMANENT_CODES = new Set([300, 402, 403, 406, 409, 411]);

export function isPermanentErrorCode(code: number): boolean {
  return PERMANENT_CODES.has(code);
}

export const POSTMARK_BATCH_LIMIT = 500;

interface PostmarkResult {
  ErrorCode?: number;
  Message?: string;
  MessageID?: string;
  To?: string;
}

function fromResult(r: PostmarkResult | undefined, httpStatus: number): SendOutcome {
  if (!r || typeof r !== "object") {
    return {
      outcome: "retry",
      error: "Postmark answered without a result for this message",
      httpStatus,
    };
  }
  const code = Number(r.ErrorCode ?? -1);
  if (code === 0 && r.MessageID) return { outcome: "sent", messageId: String(r.MessageID) };
  const label = POSTMARK_ERROR_CODES[code] ?? "unknown error";
  return {
    outcome: code >= 0 && isPermanentErrorCode(code) ? "permanent" : "retry",
    error: `Postmark ErrorCode ${code} (${label}): ${r.Message ?? ""}`.trim(),
    errorCode: code,
    httpStatus,
  };
}

function whole(count: number, outcome: SendOutcome): SendOutcome[] {
  return Array.from({ length: count }, () => outcome);
}

export class PostmarkClient {
  #opts: PostmarkClientOptions;
  #fetch: typeof fetch;

  constructor(opts: PostmarkClientOptions) {
    this.#opts = opts;
    this.#fetch = opts.fetch ?? fetch;
  }

  async send(messages: PostmarkMessage[]): Promise<SendOutcome[]> {
    if (messages.length === 0) return [];
    if (messages.length > POSTMARK_BATCH_LIMIT) {
      const out: SendOutcome[] = [];
      for (let i = 0; i < messages.length; i += POSTMARK_BATCH_LIMIT) {
        out.push(...await this.send(messages.slice(i, i + POSTMARK_BATCH_LIMIT)));
      }
      return out;
    }
    const batch = messages.length > 1;
    const path = batch ? "/email/batch" : "/email";
    let res: Response;
    let body: unknown;
    try {
      res = await this.#fetch(new URL(path, this.#opts.baseUrl), {
        method: "POST",
        headers: {
          "Accept": "application/json",
          "Content-Type": "application/json",
          "X-Postmark-Server-Token": this.#opts.serverToken,
        },
        body: JSON.stringify(batch ? messages : messages[0]),
        signal: AbortSignal.timeout(this.#opts.timeoutMs),
      });
      const text = await res.text();
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
    } catch (err) {
      const timedOut = err instanceof DOMException && err.name === "TimeoutError";
      return whole(messages.length, {
        outcome: "retry",
        error: timedOut
          ? `no answer from Postmark within ${this.#opts.timeoutMs} ms`
          : `network error: ${err instanceof Error ? err.message : String(err)}`,
      });
    }

    if (res.status === 200) {
      if (!batch) return [fromResult(body as PostmarkResult, 200)];
      if (!Array.isArray(body) || body.length !== messages.length) {
        return whole(messages.length, {
          outcome: "retry",
          error: `Postmark batch answer has ${
            Array.isArray(body) ? body.length : "no"
          } results for ${messages.length} messages`,
          httpStatus: 200,
        });
      }
      return body.map((r) => fromResult(r as PostmarkResult, 200));
    }
    if (res.status === 413 && batch) {
      // Too large together: each message on its own may still fit.
      const out: SendOutcome[] = [];
      for (const m of messages) out.push(...await this.send([m]));
      return out;
    }
    const r = (body ?? {}) as PostmarkResult;
    const retryAfter = retryAfterSeconds(res.headers.get("retry-after"), new Date());
    const detail = r.Message ? `: ${r.Message}` : "";
    if (res.status === 422) {
      // The request as a whole was refused; its ErrorCode decides for all.
      return whole(messages.length, fromResult(r, 422));
    }
    return whole(messages.length, {
      outcome: res.status === 413 ? "permanent" : "retry",
      error: res.status === 401
        ? `Postmark refused the server token (401)${detail}`
        : `Postmark answered HTTP ${res.status}${detail}`,
      errorCode: typeof r.ErrorCode === "number" ? r.ErrorCode : undefined,
      httpStatus: res.status,
      retryAfterSeconds: retryAfter ?? undefined,
    });
  }
}
