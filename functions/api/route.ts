// A route is declared once: its schemas validate the request and, through
// openapi.ts, describe it. The handler receives parsed input and a way to run
// SQL as the caller.
import type { z } from "zod";
import type { ApiConfig } from "../_shared/config.ts";
import type { Caller } from "../_shared/auth.ts";
import type { RequestFacts, Tx } from "../_shared/db.ts";

export type Method = "get" | "post" | "put" | "delete";

export interface HeaderDoc {
  name: string;
  required?: boolean;
  description: string;
  example?: string;
}

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  headers?: string[];
}

export interface RouteContext<P, Q, B> {
  req: Request;
  params: P;
  query: Q;
  body: B;
  caller: Caller | null;
  user: Caller & { userId: string };
  requestId: string;
  config: ApiConfig;
  // One transaction as the caller (role, claims, request.* settings).
  run<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  facts: RequestFacts;
}

export interface RouteSpec<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> {
  method: Method;
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  // public: no token needed (health, openapi); user: a signed-in user's token.
  auth: "public" | "user";
  rateLimited?: boolean;
  params?: P;
  query?: Q;
  // Query parameters that may repeat (their values are joined with commas).
  repeatableQuery?: string[];
  body?: B;
  bodyRequired?: boolean;
  headers?: HeaderDoc[];
  responses: Record<number, ResponseDoc>;
  // Problem statuses worth documenting for this route.
  errors: number[];
  handle(ctx: RouteContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<Response>;
}

// Keeps each route's handler typed by its own schemas.
export function defineRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(
  spec: RouteSpec<P, Q, B>,
): RouteSpec {
  return spec as unknown as RouteSpec;
}

export function json(data: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(data), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}
