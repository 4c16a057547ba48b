// The email-sender Edge Function: woken by pg_net when mail becomes due and by
// pg_cron every minute; delivers due notices through Postmark. The work is in
// ../_shared/email/.
import { db } from "../_shared/db.ts";
import { senderConfigFrom } from "../_shared/email/config.ts";
import { createEmailSenderHandler } from "../_shared/email/handler.ts";
import { loadTemplates, type Templates } from "../_shared/email/templates.ts";

let templates: Promise<Templates> | null = null;

Deno.serve(createEmailSenderHandler({
  config: senderConfigFrom(Deno.env.toObject()),
  jwtSecret: Deno.env.get("SUPABASE_JWT_SECRET") ?? "",
  serviceRoleKey: Deno.env.get("SUPABASE_SERVICE_ROLE_KEY") ?? "",
  sql: db,
  templates: () => (templates ??= loadTemplates()),
}));
