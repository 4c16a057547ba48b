// The pg_net stand-in really sends: a request queued with net.http_post in a
// committed transaction reaches an HTTP server and its answer is recorded in
// net._http_response; a rolled-back one is never sent.
import { adminDb } from "./_support/db.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

Deno.test("net.http_post is delivered after commit and its response recorded", async () => {
  const received: { path: string; body: unknown; header: string | null }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    received.push({
      path: new URL(req.url).pathname,
      body: await req.json(),
      header: req.headers.get("x-probe"),
    });
    return Response.json({ thanks: true }, { status: 202 });
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const admin = adminDb();
  try {
    const rolledBack = new Error("roll back on purpose");
    await admin.begin(async (tx) => {
      await tx`select net.http_post(${url + "/rolled-back"}, '{"n": 0}'::jsonb)`;
      throw rolledBack;
    }).catch((e) => {
      if (e !== rolledBack) throw e;
    });
    const [{ id }] = await admin`
      select net.http_post(${url + "/hook"}, '{"n": 1}'::jsonb,
                           headers => '{"Content-Type": "application/json", "x-probe": "yes"}') as id`;
    const deadline = Date.now() + 10_000;
    let response: { status_code: number; content: string } | undefined;
    while (Date.now() < deadline && !response) {
      [response] =
        await admin`select status_code, content from net._http_response where id = ${id}`;
      if (!response) await new Promise((r) => setTimeout(r, 100));
    }
    assert(response, "a response row appears within 10 s");
    assert(response.status_code === 202, `status recorded, got ${response.status_code}`);
    assert(JSON.parse(response.content).thanks === true, "body recorded");
    assert(received.length === 1, `exactly one request arrived, got ${received.length}`);
    assert(received[0].path === "/hook" && received[0].header === "yes", "path and headers sent");
    assert((received[0].body as { n: number }).n === 1, "JSON body sent");
  } finally {
    await admin.end();
    await server.shutdown();
  }
});
