// A sender in its own process, so a test can kill it between claim and
// record as a crash or an Edge Function timeout would.
import postgres from "postgres";
import { senderConfigFrom } from "../../../functions/_shared/email/config.ts";
import { runSender } from "../../../functions/_shared/email/sender.ts";
import { loadTemplates } from "../../../functions/_shared/email/templates.ts";

const sql = postgres(Deno.env.get("DB_URL")!, { max: 2, onnotice: () => {} });
console.log("sender started");
const summary = await runSender({
  sql,
  templates: await loadTemplates(),
  config: senderConfigFrom(Deno.env.toObject()),
});
console.log(JSON.stringify(summary));
await sql.end();
