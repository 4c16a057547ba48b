// Runs every check and suite against a running stack and sums them up in one
// closing line: "N passed, N failed[, N skipped]".
import { dbUrl, LOCAL_DB_PASSWORD, PROJECT_ROOT, psqlCommand, psqlFile } from "./cluster.ts";
import { DENO_BIN, pushMigrations, type Stack, SUPABASE_BIN } from "./stack.ts";
import { dumpSchema, SCHEMA_DUMP_PATH } from "./schema_dump.ts";
import { LOCAL_JWT_SECRET } from "./keys.ts";
import { join } from "./paths.ts";

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

const tally: Tally = { passed: 0, failed: 0, skipped: 0 };
const failures: string[] = [];

function record(name: string, ok: boolean, detail = "") {
  if (ok) tally.passed++;
  else {
    tally.failed++;
    failures.push(name);
  }
  console.log(`${ok ? "\x1b[32mok\x1b[0m" : "\x1b[31mnot ok\x1b[0m"} - ${name}`);
  if (!ok && detail) console.log(detail.trimEnd().split("\n").map((l) => `    ${l}`).join("\n"));
}

function heading(text: string) {
  console.log(`\n\x1b[1m== ${text}\x1b[0m`);
}

async function streamed(
  cmd: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: PROJECT_ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>, sink: typeof Deno.stdout) => {
    for await (const chunk of stream) {
      output += decoder.decode(chunk, { stream: true });
      await sink.write(chunk);
    }
  };
  const [status] = await Promise.all([
    child.status,
    pump(child.stdout, Deno.stdout),
    pump(child.stderr, Deno.stderr),
  ]);
  return { code: status.code, output };
}

async function quiet(cmd: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: PROJECT_ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, output: d.decode(out.stdout) + d.decode(out.stderr) };
}

async function staticChecks(stack: Stack) {
  heading("static checks");
  const fmt = await quiet([DENO_BIN, "fmt", "--check"]);
  record("deno fmt --check", fmt.code === 0, fmt.output);
  const lint = await quiet([DENO_BIN, "lint"]);
  record("deno lint", lint.code === 0, lint.output);
  const check = await quiet([DENO_BIN, "check", "functions/", "scripts/", "tests/"]);
  record("deno check", check.code === 0, check.output);
  const dbLint = await quiet([
    SUPABASE_BIN,
    "db",
    "lint",
    "--db-url",
    `${dbUrl(stack.cluster)}?sslmode=disable`,
    "--schema",
    "public,private",
    "--level",
    "warning",
    "--fail-on",
    "warning",
  ], { SUPABASE_TELEMETRY_DISABLED: "1" });
  record("supabase db lint (plpgsql_check, warnings fail)", dbLint.code === 0, dbLint.output);
}

async function schemaChecks(stack: Stack) {
  heading("migrations and schema");
  const before = await dumpSchema(stack.cluster);
  let committed = "";
  try {
    committed = await Deno.readTextFile(SCHEMA_DUMP_PATH);
  } catch { /* missing: reported below */ }
  if (before === committed) record("sql/schema.sql matches the migrated database", true);
  else {
    const tmp = await Deno.makeTempFile({ suffix: ".sql" });
    await Deno.writeTextFile(tmp, before);
    const diff = await quiet(["diff", "-u", SCHEMA_DUMP_PATH, tmp]);
    await Deno.remove(tmp);
    record(
      "sql/schema.sql matches the migrated database",
      false,
      "run `npm run db:dump` and review the diff:\n" +
        diff.output.split("\n").slice(0, 80).join("\n"),
    );
  }
  const again = await pushMigrations(stack.cluster, { seed: true });
  const after = await dumpSchema(stack.cluster);
  const applied = await psqlCommand(
    stack.cluster,
    "select count(*) from supabase_migrations.schema_migrations",
  );
  const files = [...Deno.readDirSync(join(PROJECT_ROOT, "supabase", "migrations"))]
    .filter((e) => e.name.endsWith(".sql")).length;
  record(
    "migrate twice: the second push applies nothing and changes nothing",
    /up to date/i.test(again) && before === after && Number(applied) === files,
    `push said: ${again}\nrecorded migrations: ${applied}, files: ${files}`,
  );
}

async function pgTap(stack: Stack) {
  heading("pgTAP (tests/db)");
  await psqlFile(stack.cluster, join(PROJECT_ROOT, "sql", "test_helpers.sql"));
  const files = [...Deno.readDirSync(join(PROJECT_ROOT, "tests", "db"))]
    .filter((e) => e.name.endsWith(".sql")).map((e) => join("tests", "db", e.name)).sort();
  if (files.length === 0) return;
  const r = await streamed(
    [
      "pg_prove",
      "--verbose",
      "--failures",
      "-h",
      "127.0.0.1",
      "-p",
      String(stack.cluster.port),
      "-U",
      "supabase_admin",
      "-d",
      "postgres",
      ...files,
    ],
    { PGPASSWORD: LOCAL_DB_PASSWORD },
  );
  const ok = (r.output.match(/^ok \d+/gm) ?? []).length;
  const notOk = (r.output.match(/^not ok \d+/gm) ?? []).length;
  tally.passed += ok;
  tally.failed += notOk;
  if (notOk > 0) failures.push(`pgTAP: ${notOk} failed assertion(s)`);
  if (r.code !== 0 && notOk === 0) {
    // A file that died or planned wrongly fails without a "not ok" line.
    tally.failed++;
    failures.push("pgTAP: a test file failed (bad plan or error), see above");
  }
}

async function denoSuites(stack: Stack) {
  const env = {
    API_URL: `${stack.apiUrl}/functions/v1/api`,
    FUNCTIONS_URL: `${stack.apiUrl}/functions/v1`,
    SUPABASE_URL: stack.apiUrl,
    DB_URL: dbUrl(stack.cluster),
    ADMIN_DB_URL: dbUrl(stack.cluster, "supabase_admin"),
    AUTHENTICATOR_DB_URL: dbUrl(stack.cluster, "authenticator"),
    SUPABASE_ANON_KEY: stack.anonKey,
    SUPABASE_SERVICE_ROLE_KEY: stack.serviceRoleKey,
    SUPABASE_JWT_SECRET: LOCAL_JWT_SECRET,
  };
  for (const suite of ["functions", "e2e"]) {
    const dir = join(PROJECT_ROOT, "tests", suite);
    // git keeps no empty folders: a suite nobody has written yet is absent.
    let hasTests = false;
    try {
      hasTests = [...Deno.readDirSync(dir)].some((e) => /_test\.ts$/.test(e.name));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    if (!hasTests) continue;
    heading(`deno test (tests/${suite})`);
    const r = await streamed([DENO_BIN, "test", "-A", "--no-check", `tests/${suite}/`], env);
    // deno's own summary: "ok | 12 passed (3 steps) | 0 failed | 1 ignored (2s)"
    const summary = r.output.split("\n").reverse().find((l) => /\d+ passed.*\d+ failed/.test(l)) ??
      "";
    const passed = Number(summary.match(/(\d+) passed/)?.[1] ?? 0);
    const failed = Number(summary.match(/(\d+) failed/)?.[1] ?? 0);
    const ignored = Number(summary.match(/(\d+) ignored/)?.[1] ?? 0);
    tally.passed += passed;
    tally.failed += failed;
    tally.skipped += ignored;
    if (failed > 0) failures.push(`tests/${suite}: ${failed} failed`);
    if (r.code !== 0 && failed === 0) {
      tally.failed++;
      failures.push(`tests/${suite}: deno test exited with ${r.code}`);
    }
  }
}

export async function runTests(stack: Stack): Promise<number> {
  await staticChecks(stack);
  await schemaChecks(stack);
  await pgTap(stack);
  await denoSuites(stack);
  if (failures.length) {
    console.log("\nFailures:");
    for (const f of failures) console.log(`  - ${f}`);
  }
  console.log("");
  console.log(
    `${tally.passed} passed, ${tally.failed} failed` +
      (tally.skipped ? `, ${tally.skipped} skipped` : ""),
  );
  return tally.failed === 0 && tally.passed > 0 ? 0 : 1;
}

export { LOCAL_JWT_SECRET };
