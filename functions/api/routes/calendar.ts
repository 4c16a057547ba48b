// Calendar connections: list, link, unlink, and ask for a sync. The sync
// itself is the calendar worker's (issue 6); here the request is validated
// and queued. Credentials go to the database encrypted with the key from
// this function's environment and never come back out through the API.
import { z } from "zod";
import { defineRoute, json, type RouteSpec } from "../route.ts";
import {
  CalendarConnectionListSchema,
  CalendarConnectionSchema,
  SyncQueuedSchema,
} from "../schemas.ts";
import { uuid } from "../../_shared/validation.ts";
import { fail } from "../../_shared/problem.ts";

const ConnectionIdParams = z.strictObject({ id: uuid() });

const CreateConnectionBody = z.strictObject({
  provider: z.enum(["google", "outlook", "caldav", "ics"]),
  calendar_ref: z.string().min(1).max(2000).meta({
    description: "google/outlook: the calendar id ('primary'); caldav: the collection URL; " +
      "ics: the feed URL",
    examples: ["primary"],
  }),
  display_name: z.string().max(200).optional(),
  priority: z.number().int().min(0).max(100).optional().meta({
    description: "when sources disagree, the higher priority wins (default 0)",
  }),
  credentials: z.record(z.string().max(100), z.string().max(8192)).optional().meta({
    description: "google/outlook: access_token, refresh_token (expires_at optional); " +
      "caldav: username, password; ics: none (a secret feed URL may go in url). " +
      "Stored encrypted, never returned.",
  }),
});

const SyncBody = z.strictObject({
  connection_id: uuid().optional().meta({ description: "one connection; all of mine if absent" }),
});

type Connection = z.infer<typeof CalendarConnectionSchema>;

export const listConnections = defineRoute({
  method: "get",
  path: "/calendar/connections",
  operationId: "listCalendarConnections",
  summary: "List my calendar connections",
  tag: "calendar",
  auth: "user",
  responses: {
    200: { description: "Highest priority first", schema: CalendarConnectionListSchema },
  },
  errors: [401, 429],
  async handle({ run }) {
    const connections = await run(async (tx) => {
      const [row] = await tx<{ c: Connection[] }[]>`
        select public.list_calendar_connections() as c`;
      return row.c;
    });
    return json({ connections });
  },
});

export const createConnection = defineRoute({
  method: "post",
  path: "/calendar/connections",
  operationId: "createCalendarConnection",
  summary: "Connect a calendar",
  description: "The first sync is due at once. A calendar already connected answers 409.",
  tag: "calendar",
  auth: "user",
  body: CreateConnectionBody,
  bodyRequired: true,
  responses: {
    201: { description: "Connected", schema: CalendarConnectionSchema, headers: ["Location"] },
  },
  errors: [400, 401, 409, 413, 415, 422, 429],
  async handle({ body, run, config }) {
    const hasCredentials = body.credentials && Object.keys(body.credentials).length > 0;
    if (hasCredentials && !config.calendarKey) {
      // Refuse rather than store credentials the worker could never read.
      fail(
        503,
        "calendar_key_missing",
        "this server cannot store calendar credentials: CALENDAR_CREDENTIALS_KEY is not set",
      );
    }
    const c = await run(async (tx) => {
      const [row] = await tx<{ c: Connection }[]>`select public.create_calendar_connection(
        p_provider => ${body.provider},
        p_calendar_ref => ${body.calendar_ref},
        p_credentials => ${hasCredentials ? tx.json(body.credentials!) : null}::jsonb,
        p_encryption_key => ${hasCredentials ? config.calendarKey : null},
        p_priority => ${body.priority ?? 0}::integer,
        p_display_name => ${body.display_name ?? ""}
      ) as c`;
      return row.c;
    });
    return json(c, 201, { location: `connections/${c.id}` });
  },
});

export const deleteConnection = defineRoute({
  method: "delete",
  path: "/calendar/connections/:id",
  operationId: "deleteCalendarConnection",
  summary: "Disconnect a calendar",
  description: "A hard delete: the connection and its encrypted credentials are removed.",
  tag: "calendar",
  auth: "user",
  params: ConnectionIdParams,
  responses: {
    200: { description: "What was removed", schema: CalendarConnectionSchema },
  },
  errors: [401, 404, 422, 429],
  async handle({ params, run }) {
    const c = await run(async (tx) => {
      const [row] = await tx<{ c: Connection }[]>`
        select public.delete_calendar_connection(${params.id}::uuid) as c`;
      return row.c;
    });
    return json(c);
  },
});

export const requestSync = defineRoute({
  method: "post",
  path: "/calendar/sync",
  operationId: "requestCalendarSync",
  summary: "Sync my calendars now",
  description: "Marks the caller's connections (or one) due now; the calendar worker picks " +
    "them up. Disabled connections are not queued.",
  tag: "calendar",
  auth: "user",
  body: SyncBody,
  responses: { 202: { description: "Queued", schema: SyncQueuedSchema } },
  errors: [400, 401, 404, 413, 415, 422, 429],
  async handle({ body, run }) {
    const queued = await run(async (tx) => {
      const [row] = await tx<{ q: unknown }[]>`
        select public.request_calendar_sync(p_connection_id => ${
        body?.connection_id ?? null
      }::uuid) as q`;
      return row.q;
    });
    return json(queued, 202);
  },
});

export const calendarRoutes: RouteSpec[] = [
  listConnections,
  createConnection,
  deleteConnection,
  requestSync,
];
