// Health and the API's own description: what the anon key alone reaches.
import { defineRoute, json, type RouteSpec } from "../route.ts";
import { HealthSchema } from "../schemas.ts";
import { db } from "../../_shared/db.ts";

export const health = defineRoute({
  method: "get",
  path: "/health",
  operationId: "health",
  summary: "Liveness and database reachability",
  tag: "system",
  auth: "public",
  // Monitors poll it; counting them would only crowd out real clients.
  rateLimited: false,
  responses: {
    200: { description: "Up", schema: HealthSchema },
    503: { description: "The database is unreachable", schema: HealthSchema },
  },
  errors: [],
  async handle() {
    try {
      await db()`select 1`;
      return json({ status: "ok", database: "ok" });
    } catch {
      return json({ status: "degraded", database: "unreachable" }, 503);
    }
  },
});

// The document is built from every route, so it is handed in by the app.
export function openApiRoute(document: () => Record<string, unknown>): RouteSpec {
  return defineRoute({
    method: "get",
    path: "/openapi.json",
    operationId: "openapi",
    summary: "This API's OpenAPI 3.1 document",
    tag: "system",
    auth: "public",
    responses: { 200: { description: "OpenAPI 3.1" } },
    errors: [429],
    handle() {
      return Promise.resolve(json(document(), 200, { "cache-control": "public, max-age=300" }));
    },
  });
}

export const systemRoutes: RouteSpec[] = [health];
