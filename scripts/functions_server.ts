// Local stand-in for Supabase's Edge Runtime: serves every function in
// functions/<name>/index.ts at /functions/v1/<name>, the hosted URL shape.
// A function calls Deno.serve(handler) exactly as it does when deployed; we
// capture that handler instead of opening a port per function. As on the
// hosted gateway, a function with verify_jwt (the default) only sees requests
// carrying a JWT signed with the project's secret.
import { jwtVerify } from "jose";
import { parse as parseToml } from "smol-toml";
import { join } from "./lib/paths.ts";
import { PROJECT_ROOT } from "./lib/cluster.ts";
import { exitWithParent } from "./lib/parent_watch.ts";

exitWithParent();

type Handler = (req: Request, info?: unknown) => Response | Promise<Response>;

const port = Number(Deno.env.get("FUNCTIONS_PORT") ?? "54321");
const jwtSecret = Deno.env.get("SUPABASE_JWT_SECRET") ?? "";
const functionsDir = join(PROJECT_ROOT, "functions");

interface FunctionConfig {
  verify_jwt?: boolean;
}
const config = parseToml(
  await Deno.readTextFile(join(PROJECT_ROOT, "supabase", "config.toml")),
) as {
  functions?: Record<string, FunctionConfig>;
};

const realServe = Deno.serve.bind(Deno);
let captured: Handler | null = null;
// deno-lint-ignore no-explicit-any
(Deno as any).serve = (...args: any[]) => {
  const [a, b] = args;
  captured = typeof a === "function" ? a : typeof b === "function" ? b : a?.handler;
  return {
    finished: new Promise(() => {}),
    addr: { hostname: "127.0.0.1", port, transport: "tcp" },
    shutdown: () => Promise.resolve(),
    ref() {},
    unref() {},
  };
};

const handlers = new Map<string, Handler>();
for await (const entry of Deno.readDir(functionsDir)) {
  if (!entry.isDirectory || entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
  const index = join(functionsDir, entry.name, "index.ts");
  try {
    await Deno.stat(index);
  } catch {
    continue;
  }
  captured = null;
  await import(`file://${index}`);
  if (captured) handlers.set(entry.name, captured);
  else console.error(`functions: ${entry.name}/index.ts did not call Deno.serve; skipped`);
}

function gatewayError(status: number, message: string): Response {
  return Response.json({ code: status, message }, { status });
}

async function jwtAccepted(req: Request): Promise<string | null> {
  const header = req.headers.get("authorization");
  if (!header) return "Missing authorization header";
  const token = header.replace(/^Bearer\s+/i, "");
  try {
    await jwtVerify(token, new TextEncoder().encode(jwtSecret), { algorithms: ["HS256"] });
    return null;
  } catch {
    return "Invalid JWT";
  }
}

realServe({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req, info) => {
  const url = new URL(req.url);
  const match = url.pathname.match(/^\/functions\/v1\/([^/]+)(\/.*)?$/);
  if (!match) return gatewayError(404, "Not found: functions live under /functions/v1/<name>");
  const [, name, rest = ""] = match;
  const handler = handlers.get(name);
  if (!handler) return gatewayError(404, `Function not found: ${name}`);
  const verify = config.functions?.[name]?.verify_jwt ?? true;
  if (verify && req.method !== "OPTIONS") {
    const reason = await jwtAccepted(req);
    if (reason) return gatewayError(401, reason);
  }
  // Hosted functions see /<name>/... as their path.
  const inner = new URL(`/${name}${rest}${url.search}`, url.origin);
  try {
    return await handler(new Request(inner, req), info);
  } catch (err) {
    console.error(JSON.stringify({ level: "error", fn: name, msg: String(err) }));
    return gatewayError(500, "Function failed");
  }
});
console.log(`functions: serving ${[...handlers.keys()].join(", ") || "(none)"} on port ${port}`);
