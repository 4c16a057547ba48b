// The REST API Edge Function. Thin: parse, authorise, call one SQL function
// in one transaction, map the answer. Routes live in routes/, the pipeline
// every route shares in app.ts.
import { loadConfig } from "../_shared/config.ts";
import { buildApp } from "./app.ts";
import { buildOpenApi } from "./openapi.ts";
import type { RouteSpec } from "./route.ts";
import { meetingRoutes } from "./routes/meetings.ts";
import { availabilityRoutes } from "./routes/availability.ts";
import { availabilityRuleRoutes } from "./routes/availability_rules.ts";
import { calendarRoutes } from "./routes/calendar.ts";
import { openApiRoute, systemRoutes } from "./routes/system.ts";

const config = loadConfig(Deno.env.toObject());

let document: Record<string, unknown> | null = null;
const routes: RouteSpec[] = [
  ...systemRoutes,
  openApiRoute(() => (document ??= buildOpenApi(routes, serverUrl()))),
  ...meetingRoutes,
  ...availabilityRoutes,
  ...availabilityRuleRoutes,
  ...calendarRoutes,
];

function serverUrl(): string {
  const base = Deno.env.get("SUPABASE_URL") ?? "http://127.0.0.1:54321";
  return `${base.replace(/\/$/, "")}/functions/v1/api`;
}

Deno.serve(buildApp(config, routes).fetch);
