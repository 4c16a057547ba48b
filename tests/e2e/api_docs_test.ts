// The examples in docs/api.md, run against the stack in order. Each request
// block is sent as written (tokens and learnt ids substituted); the answer
// must match the response block that follows it: status, the headers shown,
// and the body member by member (ids and per-run timestamps by shape).
// DOCS_WRITE=1 rewrites the response blocks from the run instead.
import { api, e2e, userToken } from "./_support/api.ts";
import { assertEquals } from "./_support/assert.ts";

const DOCS = new URL("../../docs/api.md", import.meta.url);
const WRITE = Deno.env.get("DOCS_WRITE") === "1";
const PREFIX = "/functions/v1/api";
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
// Members whose values are the clock's, not the example's.
const VOLATILE = new Set([
  "created_at",
  "updated_at",
  "responded_at",
  "cancelled_at",
  "at",
  "requested_at",
  "sync_requested_at",
  "next_attempt_at",
  "last_synced_at",
  "request_id",
  // Cursors are opaque and encode the run's ids.
  "next_cursor",
]);

// The demo users of supabase/seed.sql.
const USERS: Record<string, { id: string; email: string }> = {
  alice: { id: "a11ce000-0000-4000-8000-000000000001", email: "alice@example.com" },
  bob: { id: "b0b00000-0000-4000-8000-000000000002", email: "bob@example.com" },
  carol: { id: "ca201000-0000-4000-8000-000000000003", email: "carol@example.com" },
};

interface Block {
  start: number;
  end: number;
  text: string;
}

function httpBlocks(md: string): Block[] {
  return [...md.matchAll(/```http\n([\s\S]*?)```/g)].map((m) => ({
    start: m.index! + "```http\n".length,
    end: m.index! + m[0].length - 3,
    text: m[1],
  }));
}

function splitMessage(text: string) {
  const [head, ...rest] = text.split(/\n\n/);
  const [first, ...headerLines] = head.split("\n");
  const headers: [string, string][] = headerLines.filter(Boolean).map((l) => {
    const i = l.indexOf(":");
    return [l.slice(0, i).trim(), l.slice(i + 1).trim()];
  });
  return { first, headers, body: rest.join("\n\n").trim() };
}

const ids = new Map<string, string>();
const mapIds = (s: string) => s.replace(UUID, (u) => ids.get(u) ?? u);

// Learns doc id -> run id wherever both sides hold a UUID at the same place.
function learn(doc: unknown, actual: unknown) {
  if (typeof doc === "string" && typeof actual === "string") {
    const d = doc.match(UUID) ?? [];
    const a = actual.match(UUID) ?? [];
    if (d.length === a.length) d.forEach((u, i) => ids.has(u) || ids.set(u, a[i]));
  } else if (Array.isArray(doc) && Array.isArray(actual)) {
    doc.forEach((d, i) => learn(d, actual[i]));
  } else if (doc && actual && typeof doc === "object" && typeof actual === "object") {
    for (const k of Object.keys(doc)) {
      learn((doc as Record<string, unknown>)[k], (actual as Record<string, unknown>)[k]);
    }
  }
}

function compare(doc: unknown, actual: unknown, path: string, out: string[]) {
  const key = path.split(".").pop()!.replace(/\[\d+\]$/, "");
  if (VOLATILE.has(key)) {
    if ((doc === null) !== (actual === null) || typeof doc !== typeof actual) {
      out.push(`${path}: ${JSON.stringify(actual)} where the docs show ${JSON.stringify(doc)}`);
    }
    return;
  }
  if (Array.isArray(doc)) {
    if (!Array.isArray(actual) || actual.length !== doc.length) {
      out.push(
        `${path}: ${JSON.stringify(actual)?.slice(0, 200)} where the docs show ${doc.length} items`,
      );
      return;
    }
    doc.forEach((d, i) => compare(d, actual[i], `${path}[${i}]`, out));
    return;
  }
  if (doc && typeof doc === "object") {
    if (!actual || typeof actual !== "object" || Array.isArray(actual)) {
      out.push(`${path}: ${JSON.stringify(actual)} where the docs show an object`);
      return;
    }
    const a = actual as Record<string, unknown>;
    const d = doc as Record<string, unknown>;
    for (const k of new Set([...Object.keys(d), ...Object.keys(a)])) {
      if (!(k in d)) out.push(`${path}.${k}: in the answer, not in the docs`);
      else if (!(k in a)) out.push(`${path}.${k}: in the docs, not in the answer`);
      else compare(d[k], a[k], `${path}.${k}`, out);
    }
    return;
  }
  const expected = typeof doc === "string" ? mapIds(doc) : doc;
  if (expected !== actual) {
    out.push(`${path}: ${JSON.stringify(actual)} where the docs show ${JSON.stringify(expected)}`);
  }
}

e2e("every example in docs/api.md answers as documented", async () => {
  let md = await Deno.readTextFile(DOCS);
  const blocks = httpBlocks(md);
  const tokens = Object.fromEntries(
    await Promise.all(
      Object.entries(USERS).map(async ([n, u]) => [n, await userToken(u.id, u.email)] as const),
    ),
  );
  const ip = "2001:db8::d0c5";
  const problems: string[] = [];
  const edits: { block: Block; text: string }[] = [];
  let examples = 0;

  for (let i = 0; i < blocks.length; i++) {
    const req = splitMessage(blocks[i].text);
    const resBlock = blocks[i + 1];
    if (!/^(GET|POST|PUT|DELETE) /.test(req.first) || !resBlock?.text.startsWith("HTTP/1.1")) {
      continue;
    }
    i++;
    examples++;
    const [method, target] = req.first.split(" ");
    const headers: Record<string, string> = {};
    for (const [name, value] of req.headers) {
      const who = value.match(/^Bearer <(\w+)'s access token>$/);
      headers[name.toLowerCase()] = who ? `Bearer ${tokens[who[1]]}` : mapIds(value);
    }
    const path = mapIds(target).slice(PREFIX.length);
    const res = await api(method, path, {
      headers,
      rawBody: req.body ? mapIds(req.body) : undefined,
      ip,
    });

    const expected = splitMessage(resBlock.text);
    const where = `${method} ${target}`;
    const status = Number(expected.first.split(" ")[1]);
    const docBody = expected.body === "..." ? "..." : JSON.parse(expected.body || "null");
    if (WRITE) {
      // Learn ids from the old answer before it is replaced.
      if (docBody !== "...") learn(docBody, res.body);
      const shownHeaders = expected.headers.map(([n]) =>
        `${n}: ${res.headers.get(n) ?? "(absent)"}`
      );
      const body = docBody === "..." ? "..." : JSON.stringify(res.body, null, 2);
      edits.push({
        block: resBlock,
        text: [`HTTP/1.1 ${res.status} ${statusText(res.status)}`, ...shownHeaders].join("\n") +
          `\n\n${body}\n`,
      });
      edits.push({ block: blocks[i - 1], text: mapIds(blocks[i - 1].text) });
      continue;
    }
    if (res.status !== status) {
      problems.push(`${where}: status ${res.status} where the docs show ${status}: ${res.text}`);
      continue;
    }
    if (docBody !== "...") learn(docBody, res.body);
    for (const [name, value] of expected.headers) {
      if (res.headers.get(name) !== mapIds(value)) {
        problems.push(`${where}: ${name}: ${res.headers.get(name)} where the docs show ${value}`);
      }
    }
    if (docBody !== "...") {
      const out: string[] = [];
      compare(docBody, res.body, "body", out);
      problems.push(...out.map((o) => `${where}: ${o}`));
    }
  }

  if (WRITE) {
    for (const e of edits.sort((a, b) => b.block.start - a.block.start)) {
      md = md.slice(0, e.block.start) + e.text + md.slice(e.block.end);
    }
    await Deno.writeTextFile(DOCS, md);
    console.log(`rewrote ${examples} answers in docs/api.md`);
    return;
  }
  assertEquals(problems, [], problems.join("\n"));
  // Every route has its examples: a guard against sections going missing.
  if (examples < 25) throw new Error(`only ${examples} examples found in docs/api.md`);
});

function statusText(status: number): string {
  const texts: Record<number, string> = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    412: "Precondition Failed",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
  };
  return texts[status] ?? "";
}
