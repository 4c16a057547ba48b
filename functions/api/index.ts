// The REST API Edge Function. Thin: parse, authorise, call one SQL function
// in one transaction, map the answer.
import { Hono } from "hono";
import { db } from "../_shared/db.ts";

const app = new Hono().basePath("/api");

app.get("/health", async (c) => {
  try {
    await db()`select 1`;
    return c.json({ status: "ok", database: "ok" });
  } catch {
    return c.json({ status: "degraded", database: "unreachable" }, 503);
  }
});

Deno.serve(app.fetch);
