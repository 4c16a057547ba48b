// A user's own availability rules: weekly working hours, date overrides and
// limits. The rule RPCs validate and store (each bad field named, nothing
// stored on error); these routes map HTTP onto them. Times are "HH:MM" in
// the user's own zone, dates "YYYY-MM-DD".
import { z } from "zod";
import { defineRoute, json, type RouteSpec } from "../route.ts";
import { date, uuid } from "../../_shared/validation.ts";

const hhmm = () =>
  z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/, { error: 'must be a time of day such as "09:30"' });

const WorkingHoursSchema = z.object({
  id: z.string(),
  weekday: z.number().int().meta({ description: "1 = Monday ... 7 = Sunday (ISO)" }),
  start_time: z.string(),
  end_time: z.string(),
  crosses_midnight: z.boolean(),
  valid_from: z.string().nullable(),
  valid_until: z.string().nullable(),
}).meta({ id: "WorkingHours" });

const OverrideSchema = z.object({
  id: z.string(),
  date: z.string(),
  kind: z.enum(["available", "unavailable"]),
  start_time: z.string().nullable(),
  end_time: z.string().nullable(),
  whole_day: z.boolean(),
}).meta({ id: "AvailabilityOverride" });

const LimitsSchema = z.object({
  earliest_start: z.string().nullable(),
  latest_end: z.string().nullable(),
  horizon_days: z.number().int().nullable(),
  max_meetings_per_day: z.number().int().nullable(),
}).meta({ id: "AvailabilityLimits" });

export const AvailabilityRulesSchema = z.object({
  user_id: z.string(),
  time_zone: z.string(),
  minimum_notice_minutes: z.number().int(),
  buffer_before_minutes: z.number().int(),
  buffer_after_minutes: z.number().int(),
  working_hours: z.array(WorkingHoursSchema),
  limits: LimitsSchema,
}).meta({ id: "AvailabilityRules" });

const WorkingHoursBody = z.strictObject({
  weekday: z.number().int().min(1).max(7),
  start_time: hhmm(),
  end_time: hhmm(),
  valid_from: date().optional(),
  valid_until: date().optional(),
});

const WeekBody = z.strictObject({
  working_hours: z.array(WorkingHoursBody).max(50),
}).meta({ description: "the whole week at once; [] leaves no working hours" });

const OverrideBody = z.strictObject({
  date: date(),
  kind: z.enum(["available", "unavailable"]),
  start_time: hhmm().optional(),
  end_time: hhmm().optional(),
}).meta({
  description:
    "available: extra hours (times required); unavailable: time off, the whole date without times",
});

const LimitsBody = z.strictObject({
  earliest_start: hhmm().optional(),
  latest_end: hhmm().optional(),
  horizon_days: z.number().int().min(0).max(3650).optional(),
  max_meetings_per_day: z.number().int().min(1).max(1000).optional(),
}).meta({ description: "replaces the limits: an omitted one is no limit" });

const IdParams = z.strictObject({ id: uuid() });
const OverridesQuery = z.strictObject({
  from: date().optional().meta({ description: "first local date, inclusive" }),
  to: date().optional().meta({ description: "last local date, inclusive" }),
});

const ruleErrors = [400, 401, 403, 413, 415, 422, 429];

export const getRules = defineRoute({
  method: "get",
  path: "/availability/rules",
  operationId: "getAvailabilityRules",
  summary: "My availability rules",
  description: "Working hours, limits, and the profile settings availability uses (zone, " +
    "buffers, minimum notice).",
  tag: "availability",
  auth: "user",
  responses: { 200: { description: "The rules", schema: AvailabilityRulesSchema } },
  errors: [401, 403, 429],
  async handle({ run }) {
    return json(
      await run(async (tx) => {
        const [row] = await tx<{ r: unknown }[]>`select public.get_availability_rules() as r`;
        return row.r;
      }),
    );
  },
});

export const replaceWeek = defineRoute({
  method: "put",
  path: "/availability/working-hours",
  operationId: "replaceWorkingHours",
  summary: "Set the whole week of working hours",
  tag: "availability",
  auth: "user",
  body: WeekBody,
  bodyRequired: true,
  responses: { 200: { description: "The new week", schema: z.array(WorkingHoursSchema) } },
  errors: ruleErrors,
  async handle({ body, run }) {
    return json(
      await run(async (tx) => {
        const [row] = await tx<{ r: unknown }[]>`
        select public.replace_working_hours(${tx.json(body.working_hours)}::jsonb) as r`;
        return row.r;
      }),
    );
  },
});

export const createWindow = defineRoute({
  method: "post",
  path: "/availability/working-hours",
  operationId: "createWorkingHours",
  summary: "Add a window of working hours",
  description: "A window may cross midnight (22:00-06:00); 24:00 ends the day.",
  tag: "availability",
  auth: "user",
  body: WorkingHoursBody,
  bodyRequired: true,
  responses: { 201: { description: "The window", schema: WorkingHoursSchema } },
  errors: ruleErrors,
  async handle({ body, run }) {
    return json(
      await run(async (tx) => {
        const [row] = await tx<{ r: unknown }[]>`select public.create_working_hours(
          p_weekday => ${body.weekday}::integer, p_start_time => ${body.start_time}::time,
          p_end_time => ${body.end_time}::time, p_valid_from => ${body.valid_from ?? null}::date,
          p_valid_until => ${body.valid_until ?? null}::date) as r`;
        return row.r;
      }),
      201,
    );
  },
});

export const updateWindow = defineRoute({
  method: "put",
  path: "/availability/working-hours/:id",
  operationId: "updateWorkingHours",
  summary: "Replace a window of working hours",
  tag: "availability",
  auth: "user",
  params: IdParams,
  body: WorkingHoursBody,
  bodyRequired: true,
  responses: { 200: { description: "The window", schema: WorkingHoursSchema } },
  errors: [...ruleErrors, 404],
  async handle({ params, body, run }) {
    return json(
      await run(async (tx) => {
        const [row] = await tx<{ r: unknown }[]>`select public.update_working_hours(
        p_id => ${params.id}::uuid, p_weekday => ${body.weekday}::integer,
        p_start_time => ${body.start_time}::time, p_end_time => ${body.end_time}::time,
        p_valid_from => ${body.valid_from ?? null}::date,
        p_valid_until => ${body.valid_until ?? null}::date) as r`;
        return row.r;
      }),
    );
  },
});

export const deleteWindow = defineRoute({
  method: "delete",
  path: "/availability/working-hours/:id",
  operationId: "deleteWorkingHours",
  summary: "Delete a window of working hours",
  tag: "availability",
  auth: "user",
  params: IdParams,
  responses: { 200: { description: "The deleted window", schema: WorkingHoursSchema } },
  errors: [401, 403, 404, 422, 429],
  async handle({ params, run }) {
    return json(
      await run(async (tx) => {
        const [row] = await tx<{ r: unknown }[]>`
        select public.delete_working_hours(${params.id}::uuid) as r`;
        return row.r;
      }),
    );
  },
});

export const listOverrides = defineRoute({
  method: "get",
  path: "/availability/overrides",
  operationId: "listAvailabilityOverrides",
  summary: "My date overrides",
  tag: "availability",
  auth: "user",
  query: OverridesQuery,
  responses: { 200: { description: "Sorted by date", schema: z.array(OverrideSchema) } },
  errors: [401, 403, 422, 429],
  async handle({ query, run }) {
    return json(
      await run(async (tx) => {
        const [row] = await tx<{ r: unknown }[]>`select public.list_availability_overrides(
        p_from => ${query.from ?? null}::date, p_to => ${query.to ?? null}::date) as r`;
        return row.r;
      }),
    );
  },
});

export const createOverride = defineRoute({
  method: "post",
  path: "/availability/overrides",
  operationId: "createAvailabilityOverride",
  summary: "Add a date override",
  tag: "availability",
  auth: "user",
  body: OverrideBody,
  bodyRequired: true,
  responses: { 201: { description: "The override", schema: OverrideSchema } },
  errors: ruleErrors,
  async handle({ body, run }) {
    return json(
      await run(async (tx) => {
        const [row] = await tx<{ r: unknown }[]>`select public.create_availability_override(
          p_date => ${body.date}::date, p_kind => ${body.kind},
          p_start_time => ${body.start_time ?? null}::time,
          p_end_time => ${body.end_time ?? null}::time) as r`;
        return row.r;
      }),
      201,
    );
  },
});

export const updateOverride = defineRoute({
  method: "put",
  path: "/availability/overrides/:id",
  operationId: "updateAvailabilityOverride",
  summary: "Replace a date override",
  tag: "availability",
  auth: "user",
  params: IdParams,
  body: OverrideBody,
  bodyRequired: true,
  responses: { 200: { description: "The override", schema: OverrideSchema } },
  errors: [...ruleErrors, 404],
  async handle({ params, body, run }) {
    return json(
      await run(async (tx) => {
        const [row] = await tx<{ r: unknown }[]>`select public.update_availability_override(
        p_id => ${params.id}::uuid, p_date => ${body.date}::date, p_kind => ${body.kind},
        p_start_time => ${body.start_time ?? null}::time,
        p_end_time => ${body.end_time ?? null}::time) as r`;
        return row.r;
      }),
    );
  },
});

export const deleteOverride = defineRoute({
  method: "delete",
  path: "/availability/overrides/:id",
  operationId: "deleteAvailabilityOverride",
  summary: "Delete a date override",
  tag: "availability",
  auth: "user",
  params: IdParams,
  responses: { 200: { description: "The deleted override", schema: OverrideSchema } },
  errors: [401, 403, 404, 422, 429],
  async handle({ params, run }) {
    return json(
      await run(async (tx) => {
        const [row] = await tx<{ r: unknown }[]>`
        select public.delete_availability_override(${params.id}::uuid) as r`;
        return row.r;
      }),
    );
  },
});

export const setLimits = defineRoute({
  method: "put",
  path: "/availability/limits",
  operationId: "setAvailabilityLimits",
  summary: "Set my limits",
  description: "Never before / never after a time of day, how far ahead people may book, and " +
    "at most how many meetings a day.",
  tag: "availability",
  auth: "user",
  body: LimitsBody,
  bodyRequired: true,
  responses: { 200: { description: "The limits", schema: LimitsSchema } },
  errors: ruleErrors,
  async handle({ body, run }) {
    return json(
      await run(async (tx) => {
        const [row] = await tx<{ r: unknown }[]>`select public.set_availability_limits(
        p_earliest_start => ${body.earliest_start ?? null}::time,
        p_latest_end => ${body.latest_end ?? null}::time,
        p_horizon_days => ${body.horizon_days ?? null}::integer,
        p_max_meetings_per_day => ${body.max_meetings_per_day ?? null}::integer) as r`;
        return row.r;
      }),
    );
  },
});

export const availabilityRuleRoutes: RouteSpec[] = [
  getRules,
  replaceWeek,
  createWindow,
  updateWindow,
  deleteWindow,
  listOverrides,
  createOverride,
  updateOverride,
  deleteOverride,
  setLimits,
];
