// The API assembled: each declared route gets the same pipeline, in order:
// request id, CORS, authentication, rate limit, validation, one transaction
// as the caller, and any failure turned into a problem+json answer.
import { Hono } from "hono";
import { z } from "zod";
import type { ApiConfig } from "../_shared/config.ts";
import { authenticate, type Caller, createVerifier, requireUser } from "../_shared/auth.ts";
import { asCaller, db, requestFacts } from "../_shared/db.ts";
import {
  fail,
  type FieldError,
  invalid,
  type Problem,
  ProblemError,
  problemResponse,
} from "../_shared/problem.ts";
import { problemFromDbError } from "../_shared/sql_errors.ts";
import { clientIp, hit, rateLimitHeaders } from "../_shared/rate_limit.ts";
import { parseOrFail } from "../_shared/validation.ts";
import { log } from "../_shared/log.ts";
import type { RouteSpec } from "./route.ts";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const ALLOWED_HEADERS = [
  "authorization",
  "x-client-info",
  "apikey",
  "content-type",
  "if-match",
  "if-none-match",
  "idempotency-key",
  "x-request-id",
].join(", ");
const EXPOSED_HEADERS = [
  "etag",
  "location",
  "retry-after",
  "x-request-id",
  "idempotent-replayed",
  "ratelimit-limit",
  "ratelimit-remaining",
  "ratelimit-reset",
].join(", ");

const emptyQuery = z.strictObject({});

type Env = { Bindings: { remoteAddr?: { hostname?: string } }; Variables: { requestId: string } };

// postgres.js's own errors when the database cannot be reached.
const CONNECTION_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
]);

function toProblem(err: unknown): { problem: Problem; fault: boolean } {
  if (err instanceof ProblemError) {
    return { problem: err.problem, fault: err.problem.status >= 500 };
  }
  const code = (err as { code?: string })?.code;
  if (code && CONNECTION_ERRORS.has(code)) {
    return {
      problem: {
        status: 503,
        code: "database_unavailable",
        detail: "the database cannot be reached; retry shortly",
        headers: { "retry-after": "5" },
      },
      fault: true,
    };
  }
  const mapped = code ? problemFromDbError(err as { code: string }) : null;
  if (mapped) return { problem: mapped, fault: mapped.status >= 500 };
  return {
    problem: {
      status: 500,
      code: "internal_error",
      detail: "something went wrong on our side; the request id identifies it in our logs",
    },
    fault: true,
  };
}

async function readBody(req: Request, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    fail(413, "body_too_large", `the body may be at most ${maxBytes} bytes`);
  }
  if (!req.body) return undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.byteLength;
    if (size > maxBytes) fail(413, "body_too_large", `the body may be at most ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    fail(400, "invalid_json", "the body is not valid UTF-8");
  }
  if (text.trim() === "") return undefined;
  const type = req.headers.get("content-type") ?? "";
  if (!/^application\/([\w.+-]*\+)?json\s*(;|$)/i.test(type)) {
    fail(415, "unsupported_media_type", "send the body as application/json");
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    fail(400, "invalid_json", `the body is not valid JSON: ${(err as Error).message}`);
  }
}

function readQuery(url: URL, repeatable: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const errors: FieldError[] = [];
  for (const [key, value] of url.searchParams) {
    if (key in out) {
      if (repeatable.includes(key)) out[key] += `,${value}`;
      else errors.push({ field: key, message: "is given more than once" });
    } else out[key] = value;
  }
  if (errors.length) invalid(errors);
  return out;
}

function corsHeaders(config: ApiConfig, origin: string | null): Record<string, string> {
  if (config.corsOrigins.includes("*")) return { "access-control-allow-origin": "*" };
  if (origin && config.corsOrigins.includes(origin)) {
    return { "access-control-allow-origin": origin, vary: "Origin" };
  }
  return {};
}

function patternFor(path: string): RegExp {
  return new RegExp(`^/api${path.replace(/:[A-Za-z_]+/g, "[^/]+")}$`);
}

export function buildApp(config: ApiConfig, routes: RouteSpec[]): Hono<Env> {
  const verify = createVerifier(config);
  const app = new Hono<Env>().basePath("/api");

  app.use("*", async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", requestId);
    const cors = corsHeaders(config, c.req.header("origin") ?? null);

    if (c.req.method === "OPTIONS") {
      c.res = new Response(null, {
        status: 204,
        headers: {
          ...cors,
          "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
          "access-control-allow-headers": ALLOWED_HEADERS,
          "access-control-max-age": "86400",
          "x-request-id": requestId,
        },
      });
      return;
    }
    await next();
    for (const [k, v] of Object.entries(cors)) c.res.headers.set(k, v);
    c.res.headers.set("access-control-expose-headers", EXPOSED_HEADERS);
    c.res.headers.set("x-request-id", requestId);
    log("info", "request", {
      request_id: requestId,
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });

  for (const spec of routes) {
    app.on(spec.method.toUpperCase(), spec.path, async (c) => {
      const requestId = c.get("requestId");
      const req = c.req.raw;
      let rateHeaders: Record<string, string> = {};
      let caller: Caller | null = null;
      try {
        let authError: unknown = null;
        if (spec.auth === "user") {
          try {
            caller = await authenticate(req.headers.get("authorization"), verify);
          } catch (err) {
            authError = err;
          }
        }
        // Counted before any 401, so guessing tokens is limited per address.
        if (spec.rateLimited !== false && config.rateLimit.enabled) {
          const ip = clientIp(req.headers.get("x-forwarded-for"), c.env?.remoteAddr?.hostname);
          const verdict = await hit(db(), config.rateLimit, ip, caller?.userId ?? null);
          rateHeaders = rateLimitHeaders(verdict);
          if (!verdict.allowed) {
            fail(429, "rate_limited", `too many requests; retry in ${verdict.resetSeconds} s`, {
              headers: { ...rateHeaders, "retry-after": String(verdict.resetSeconds) },
              extra: { limit: verdict.limit, retry_after: verdict.resetSeconds },
            });
          }
        }
        if (authError) throw authError;
        const user = spec.auth === "user" ? requireUser(caller) : null;

        const url = new URL(req.url);
        const params = spec.params ? parseOrFail(spec.params, c.req.param(), "path") : {};
        const query = parseOrFail(
          spec.query ?? emptyQuery,
          readQuery(url, spec.repeatableQuery),
          "query",
        );
        let body: unknown = undefined;
        if (spec.body) {
          const raw = await readBody(req, config.maxBodyBytes);
          if (raw !== undefined || spec.bodyRequired) body = parseOrFail(spec.body, raw, "body");
        }
        const facts = requestFacts(req, url.pathname);
        const res = await spec.handle({
          req,
          params,
          query,
          body,
          caller,
          user: user as Caller & { userId: string },
          requestId,
          config,
          facts,
          run: (fn) => asCaller(user ?? caller!, facts, fn),
        });
        for (const [k, v] of Object.entries(rateHeaders)) res.headers.set(k, v);
        return res;
      } catch (err) {
        const { problem, fault } = toProblem(err);
        if (fault) {
          const e = err as { code?: string; message?: string; routine?: string };
          // Message and SQLSTATE only: a driver error also carries the
          // query's parameters, which may hold credentials.
          log("error", "request failed", {
            request_id: requestId,
            route: `${spec.method.toUpperCase()} ${spec.path}`,
            sqlstate: e?.code,
            error: e?.message ?? String(err),
            routine: e?.routine,
          });
        }
        const res = problemResponse(problem, requestId);
        for (const [k, v] of Object.entries(rateHeaders)) {
          if (!res.headers.has(k)) res.headers.set(k, v);
        }
        return res;
      }
    });
  }

  const patterns = routes.map((r) => ({ re: patternFor(r.path), method: r.method.toUpperCase() }));
  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const allowed = patterns.filter((p) => p.re.test(path)).map((p) => p.method);
    if (allowed.length) {
      return problemResponse({
        status: 405,
        code: "method_not_allowed",
        detail: `${c.req.method} is not supported here; use ${allowed.join(", ")}`,
        headers: { allow: [...allowed, "OPTIONS"].join(", ") },
      }, c.get("requestId"));
    }
    return problemResponse({
      status: 404,
      code: "route_not_found",
      detail: `no route ${c.req.method} ${path}; see /api/openapi.json`,
    }, c.get("requestId"));
  });
  app.onError((err, c) => {
    const { problem } = toProblem(err);
    log("error", "unhandled", { request_id: c.get("requestId"), error: String(err) });
    return problemResponse(problem, c.get("requestId") ?? crypto.randomUUID());
  });
  return app;
}
