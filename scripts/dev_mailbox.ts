// The local stack's mailbox: speaks Postmark's Email API, so the
// email-sender function sends here exactly as it sends to Postmark, and keeps
// every message under MAILBOX_DIR (one folder per message: message.json, the
// text and HTML bodies, attachments such as invite.ics). Open the page at
// MAILBOX_URL to read them; /messages and /messages/<id> answer JSON.
import { type AcceptedMessage, postmarkApi } from "./postmark_compat.ts";
import { join } from "./lib/paths.ts";
import { exitWithParent } from "./lib/parent_watch.ts";

exitWithParent();

const port = Number(Deno.env.get("MAILBOX_PORT") ?? "54324");
const dir = Deno.env.get("MAILBOX_DIR");
if (!dir) throw new Error("MAILBOX_DIR is required");
await Deno.mkdir(dir, { recursive: true });

interface Attachment {
  Name: string;
  Content: string;
  ContentType: string;
}

const safeName = (name: string) => name.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 100) || "file";

function decodeBase64(content: string): Uint8Array {
  return Uint8Array.from(atob(content), (c) => c.charCodeAt(0));
}

async function store(m: AcceptedMessage) {
  const folder = join(dir!, m.id);
  await Deno.mkdir(folder, { recursive: true });
  const msg = m.message;
  const attachments = (Array.isArray(msg.Attachments) ? msg.Attachments : []) as Attachment[];
  for (const a of attachments) {
    await Deno.writeFile(join(folder, safeName(a.Name)), decodeBase64(a.Content));
  }
  await Deno.writeTextFile(join(folder, "body.txt"), String(msg.TextBody ?? ""));
  await Deno.writeTextFile(join(folder, "body.html"), String(msg.HtmlBody ?? ""));
  const summary = {
    id: m.id,
    submitted_at: m.submittedAt,
    from: msg.From,
    to: msg.To,
    subject: msg.Subject,
    tag: msg.Tag ?? null,
    message_stream: msg.MessageStream ?? null,
    metadata: msg.Metadata ?? {},
    attachments: attachments.map((a) => ({ name: safeName(a.Name), content_type: a.ContentType })),
  };
  // Written last: a message is listed once it is complete.
  await Deno.writeTextFile(join(folder, "message.json"), JSON.stringify(summary, null, 2));
}

type Summary = {
  id: string;
  submitted_at: string;
  to: string;
  subject: string;
  tag: string | null;
  metadata: Record<string, string>;
  attachments: { name: string; content_type: string }[];
};

async function list(): Promise<Summary[]> {
  const out: Summary[] = [];
  for await (const e of Deno.readDir(dir!)) {
    if (!e.isDirectory) continue;
    try {
      out.push(JSON.parse(await Deno.readTextFile(join(dir!, e.name, "message.json"))));
    } catch { /* still being written */ }
  }
  return out.sort((a, b) => b.submitted_at.localeCompare(a.submitted_at));
}

const esc = (s: unknown) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function page(): Promise<Response> {
  const messages = (await list()).slice(0, 500);
  const rows = messages.map((m) => {
    const base = `/messages/${m.id}`;
    const files = [
      `<a href="${base}/text">text</a>`,
      `<a href="${base}/html">HTML</a>`,
      ...m.attachments.map((a) =>
        `<a href="${base}/files/${encodeURIComponent(a.name)}">${esc(a.name)}</a>`
      ),
    ].join(" · ");
    return `<tr><td>${esc(m.submitted_at.replace("T", " ").slice(0, 19))}</td><td>${
      esc(m.to)
    }</td><td>${esc(m.subject)}</td><td>${esc(m.tag)}</td><td>${files}</td></tr>`;
  }).join("\n");
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Dev mailbox</title>
<meta http-equiv="refresh" content="10">
<style>body{font-family:system-ui,sans-serif;margin:24px}table{border-collapse:collapse}
td,th{padding:4px 12px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}</style>
</head><body><h1>Dev mailbox</h1>
<p>${messages.length} message(s) sent by the local stack, newest first. Stored in <code>${
    esc(dir)
  }</code>. Nothing here left this machine.</p>
<table><tr><th>sent (UTC)</th><th>to</th><th>subject</th><th>kind</th><th>open</th></tr>
${rows || '<tr><td colspan="5">No mail yet: book a meeting and it arrives here.</td></tr>'}
</table></body></html>`;
  return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
}

async function file(id: string, name: string, type: string): Promise<Response> {
  if (!/^[0-9a-f-]{36}$/.test(id)) return new Response("not found", { status: 404 });
  try {
    const body = await Deno.readFile(join(dir!, id, safeName(name)));
    return new Response(body, { headers: { "content-type": type } });
  } catch {
    return new Response("not found", { status: 404 });
  }
}

const api = postmarkApi({ deliver: store });

Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
  const fromApi = await api(req);
  if (fromApi) return fromApi;
  const path = new URL(req.url).pathname;
  if (req.method !== "GET") return new Response("not found", { status: 404 });
  if (path === "/") return await page();
  if (path === "/messages") return Response.json(await list());
  const m = path.match(/^\/messages\/([^/]+)(?:\/(text|html|files\/(.+)))?$/);
  if (!m) return new Response("not found", { status: 404 });
  const [, id, what, fileName] = m;
  if (!what) {
    const found = (await list()).find((x) => x.id === id);
    if (!found) return new Response("not found", { status: 404 });
    const read = (n: string) => Deno.readTextFile(join(dir!, id, n));
    return Response.json({
      ...found,
      text_body: await read("body.txt"),
      html_body: await read("body.html"),
    });
  }
  if (what === "text") return await file(id, "body.txt", "text/plain; charset=utf-8");
  if (what === "html") return await file(id, "body.html", "text/html; charset=utf-8");
  const name = decodeURIComponent(fileName);
  return await file(
    id,
    name,
    name.endsWith(".ics") ? "text/calendar; charset=utf-8" : "application/octet-stream",
  );
});
console.log(`dev mailbox: http://127.0.0.1:${port}/ (messages in ${dir})`);
