// The OpenAPI 3.1 document, generated from the routes' own zod schemas (the
// ones that validate requests), so the description cannot drift from the
// behaviour. OpenAPI 3.1 schemas are JSON Schema 2020-12, which is what
// z.toJSONSchema emits.
import { z } from "zod";
import type { RouteSpec } from "./route.ts";
import { ProblemSchema } from "./schemas.ts";
import { titleFor } from "../_shared/problem.ts";

type Json = Record<string, unknown>;

const COMPONENT = (id: string) => `#/components/schemas/${id}`;

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Json {
  const out = z.toJSONSchema(schema, {
    io,
    target: "draft-2020-12",
    unrepresentable: "any",
    reused: "inline",
  }) as Json;
  delete out.$schema;
  // Named sub-schemas come back as $defs; collectDefs hoists them into
  // components, where these references then point.
  return JSON.parse(JSON.stringify(out).replaceAll('"#/$defs/', `"${COMPONENT("")}`));
}

function collectDefs(schema: Json, into: Record<string, Json>): Json {
  const defs = schema.$defs as Record<string, Json> | undefined;
  if (defs) {
    for (const [id, def] of Object.entries(defs)) into[id] = def;
    delete schema.$defs;
  }
  const id = schema.id as string | undefined;
  if (id) {
    delete schema.id;
    into[id] = schema;
    return { $ref: COMPONENT(id) };
  }
  return schema;
}

const HEADER_DOCS: Record<string, string> = {
  ETag: "the meeting's version, for If-Match / If-None-Match",
  Location: "the created resource, relative to the request URL",
  "Idempotent-Replayed": "true when an idempotency key returned an earlier result",
};

export function buildOpenApi(routes: RouteSpec[], serverUrl: string): Json {
  const components: Record<string, Json> = {};
  const paths: Record<string, Record<string, Json>> = {};
  const problemRef = collectDefs(jsonSchema(ProblemSchema, "output"), components);

  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z_]+)/g, "{$1}");
    const parameters: Json[] = [];
    for (const [where, schema] of [["path", r.params], ["query", r.query]] as const) {
      if (!schema) continue;
      const s = jsonSchema(schema, "input");
      const required = new Set((s.required as string[] | undefined) ?? []);
      for (const [name, prop] of Object.entries((s.properties ?? {}) as Record<string, Json>)) {
        const { description, ...rest } = prop;
        parameters.push({
          name,
          in: where,
          required: where === "path" || required.has(name),
          ...(description ? { description } : {}),
          schema: rest,
        });
      }
    }
    for (const h of r.headers ?? []) {
      parameters.push({
        name: h.name,
        in: "header",
        required: h.required ?? false,
        description: h.description,
        schema: { type: "string" },
        ...(h.example ? { example: h.example } : {}),
      });
    }

    const responses: Record<string, Json> = {};
    for (const [status, doc] of Object.entries(r.responses)) {
      responses[status] = {
        description: doc.description,
        ...(doc.headers
          ? {
            headers: Object.fromEntries(
              doc.headers.map((h) => [h, {
                description: HEADER_DOCS[h] ?? h,
                schema: { type: "string" },
              }]),
            ),
          }
          : {}),
        ...(doc.schema
          ? {
            content: {
              "application/json": {
                schema: collectDefs(jsonSchema(doc.schema, "output"), components),
              },
            },
          }
          : {}),
      };
    }
    const errorStatuses = [...new Set([...r.errors, 500])].sort();
    for (const status of errorStatuses) {
      responses[String(status)] = {
        description: titleFor(status),
        content: { "application/problem+json": { schema: problemRef } },
      };
    }

    paths[path] ??= {};
    paths[path][r.method] = {
      operationId: r.operationId,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      ...(r.auth === "public" ? { security: [] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(r.body
        ? {
          requestBody: {
            required: r.bodyRequired ?? false,
            content: {
              "application/json": {
                schema: collectDefs(jsonSchema(r.body, "input"), components),
              },
            },
          },
        }
        : {}),
      responses,
    };
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "Meeting scheduler API",
      version: "1.0.0",
      description: "A thin REST layer over the scheduling functions in Postgres. Errors are " +
        "RFC 9457 problem details. Authenticate with a Supabase user's access token.",
    },
    servers: [{ url: serverUrl }],
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "A Supabase Auth access token (HS256 with the project secret, or the " +
            "project's signing keys via JWKS)",
        },
      },
    },
  };
}
