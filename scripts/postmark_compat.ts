// A Postmark-compatible Email API (POST /email, POST /email/batch) for
// servers that stand in for Postmark on a developer machine: the dev mailbox
// (scripts/dev_mailbox.ts) and the test server with injected failures
// (tests/e2e/_support/postmark_test_server.ts). It validates and answers the
// way Postmark documents: X-Postmark-Server-Token required (401, ErrorCode
// 10), JSON required (422, ErrorCode 402), a From, a To (at most 50
// recipients) and a TextBody or HtmlBody per message (ErrorCode 300), at most
// 500 messages per batch (ErrorCode 410); a batch answers 200 with one result
// per message, in order, errors included.

export interface PostmarkResult {
  ErrorCode: number;
  Message: string;
  MessageID?: string;
  SubmittedAt?: string;
  To?: string;
}

export interface AcceptedMessage {
  id: string;
  submittedAt: string;
  message: Record<string, unknown>;
}

export interface PostmarkCompatOptions {
  // Stores or counts an accepted message.
  deliver: (m: AcceptedMessage) => void | Promise<void>;
  // A server token to insist on; any non-empty token when absent.
  serverToken?: string;
  // Per-message error to answer instead of accepting (tests inject 406, 300...).
  messageError?: (m: Record<string, unknown>) => { ErrorCode: number; Message: string } | undefined;
}

function recipients(value: unknown): string[] {
  return typeof value === "string" ? value.split(",").map((s) => s.trim()).filter(Boolean) : [];
}

function address(value: string): string {
  return (value.match(/<([^>]+)>\s*$/)?.[1] ?? value).trim();
}

const MAILBOX = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export function validateMessage(m: unknown): { ErrorCode: number; Message: string } | null {
  if (typeof m !== "object" || m === null || Array.isArray(m)) {
    return { ErrorCode: 402, Message: "Received invalid JSON input." };
  }
  const msg = m as Record<string, unknown>;
  if (typeof msg.From !== "string" || !MAILBOX.test(address(msg.From))) {
    return { ErrorCode: 300, Message: "Invalid 'From' address: '" + String(msg.From ?? "") + "'." };
  }
  const to = [...recipients(msg.To), ...recipients(msg.Cc), ...recipients(msg.Bcc)];
  if (recipients(msg.To).length === 0) {
    return { ErrorCode: 300, Message: "Zero recipients specified" };
  }
  if (to.length > 50) {
    return { ErrorCode: 300, Message: "Maximum of 50 recipients allowed per email message" };
  }
  const bad = to.find((r) => !MAILBOX.test(address(r)));
  if (bad) return { ErrorCode: 300, Message: `Invalid 'To' address: '${bad}'.` };
  if (!msg.TextBody && !msg.HtmlBody) {
    return { ErrorCode: 300, Message: "Provide either email TextBody or HtmlBody or both." };
  }
  for (const a of Array.isArray(msg.Attachments) ? msg.Attachments : []) {
    const att = a as Record<string, unknown>;
    if (!att?.Name || typeof att.Content !== "string" || !att.ContentType) {
      return { ErrorCode: 300, Message: "Attachments need Name, Content and ContentType." };
    }
    try {
      atob(att.Content);
    } catch {
      return { ErrorCode: 300, Message: `Attachment '${att.Name}' content is not base64.` };
    }
  }
  return null;
}

export function postmarkApi(opts: PostmarkCompatOptions) {
  const accept = async (m: Record<string, unknown>): Promise<PostmarkResult> => {
    const invalid = validateMessage(m) ?? opts.messageError?.(m);
    if (invalid) return invalid;
    const accepted = {
      id: crypto.randomUUID(),
      submittedAt: new Date().toISOString(),
      message: m,
    };
    await opts.deliver(accepted);
    return {
      To: String(m.To),
      SubmittedAt: accepted.submittedAt,
      MessageID: accepted.id,
      ErrorCode: 0,
      Message: "OK",
    };
  };

  // Answers a request to /email or /email/batch; null for any other path.
  return async (req: Request): Promise<Response | null> => {
    const path = new URL(req.url).pathname;
    if (req.method !== "POST" || (path !== "/email" && path !== "/email/batch")) return null;
    const token = req.headers.get("x-postmark-server-token");
    if (!token || (opts.serverToken && token !== opts.serverToken)) {
      return Response.json({
        ErrorCode: 10,
        Message: "No Account or Server API tokens were supplied in the HTTP headers.",
      }, { status: 401 });
    }
    let body: unknown;
    try {
      body = await req.json();
    } catch {
      return Response.json({ ErrorCode: 402, Message: "Received invalid JSON input." }, {
        status: 422,
      });
    }
    if (path === "/email") {
      const r = await accept(body as Record<string, unknown>);
      return Response.json(r, { status: r.ErrorCode === 0 ? 200 : 422 });
    }
    if (!Array.isArray(body)) {
      return Response.json({ ErrorCode: 403, Message: "Incompatible JSON: expected an array." }, {
        status: 422,
      });
    }
    if (body.length > 500) {
      return Response.json({ ErrorCode: 410, Message: "Too many batch messages (500 at most)." }, {
        status: 422,
      });
    }
    const results: PostmarkResult[] = [];
    for (const m of body) results.push(await accept(m as Record<string, unknown>));
    return Response.json(results);
  };
}
