// Bring the local stack up: cluster, platform stand-ins, migrations (real
// supabase CLI), seed, pg_net worker and the Edge Functions gateway.
import {
  type Cluster,
  clusterInitialised,
  dbUrl,
  freePort,
  initCluster,
  mustRun,
  PROJECT_ROOT,
  psqlCommand,
  psqlFile,
  startPostgres,
  waitForPostgres,
} from "./cluster.ts";
import { LOCAL_CALENDAR_CREDENTIALS_KEY, LOCAL_JWT_SECRET, signRoleKey } from "./keys.ts";
import { join } from "./paths.ts";

export const SUPABASE_BIN = join(PROJECT_ROOT, "node_modules", ".bin", "supabase");
export const DENO_BIN = Deno.execPath();

export interface Stack {
  cluster: Cluster;
  functionsPort: number;
  apiUrl: string;
  anonKey: string;
  serviceRoleKey: string;
  processes: Deno.ChildProcess[];
  postgres: Deno.ChildProcess;
  logDir: string;
  // The dev mailbox (Postmark-compatible); null when POSTMARK_SERVER_TOKEN
  // sends through real Postmark.
  mailboxUrl: string | null;
  // Extra environment for the test suites (calendar fake server ports).
  testEnv: Record<string, string>;
}

async function pipeToFile(stream: ReadableStream<Uint8Array>, path: string) {
  const file = await Deno.open(path, { create: true, append: true, write: true });
  await stream.pipeTo(file.writable).catch(() => {});
}

export async function loadPlatform(c: Cluster) {
  const dir = join(PROJECT_ROOT, "sql", "platform");
  const files = [];
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".sql")) files.push(e.name);
  for (const f of files.sort()) await psqlFile(c, join(dir, f));
}

export async function pushMigrations(c: Cluster, opts: { seed: boolean }): Promise<string> {
  // --include-all: a local database that already has later migrations still
  // gets one that a pull brought in with an earlier timestamp, in order.
  const args = [
    SUPABASE_BIN,
    "db",
    "push",
    "--db-url",
    `${dbUrl(c)}?sslmode=disable`,
    "--include-all",
    "--yes",
  ];
  if (opts.seed) args.push("--include-seed");
  const r = await mustRun("supabase db push", args, {
    env: { SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
  });
  return r;
}

export function functionsEnv(
  stack: Pick<Stack, "cluster" | "functionsPort" | "anonKey" | "serviceRoleKey" | "mailboxUrl">,
) {
  return {
    SUPABASE_URL: `http://127.0.0.1:${stack.functionsPort}`,
    SUPABASE_ANON_KEY: stack.anonKey,
    SUPABASE_SERVICE_ROLE_KEY: stack.serviceRoleKey,
    SUPABASE_DB_URL: dbUrl(stack.cluster),
    SUPABASE_JWT_SECRET: LOCAL_JWT_SECRET,
    CALENDAR_CREDENTIALS_KEY: LOCAL_CALENDAR_CREDENTIALS_KEY,
    ...emailEnv(stack.mailboxUrl),
  };
}

// The email-sender always speaks Postmark's API; locally it speaks it to the
// dev mailbox, with Postmark's documented test token. With
// POSTMARK_SERVER_TOKEN in the environment, real Postmark is used instead.
function emailEnv(mailboxUrl: string | null): Record<string, string> {
  const pass = [
    "POSTMARK_SERVER_TOKEN",
    "POSTMARK_API_URL",
    "POSTMARK_MESSAGE_STREAM",
    "EMAIL_FROM",
  ];
  const env: Record<string, string> = {};
  for (const name of pass) {
    const v = Deno.env.get(name);
    if (v) env[name] = v;
  }
  if (mailboxUrl) {
    env.POSTMARK_API_URL = mailboxUrl;
    env.POSTMARK_SERVER_TOKEN = "POSTMARK_API_TEST";
  }
  return env;
}

// pg_net wake-ups and the pg_cron tick find the email-sender function and
// its key in Vault, as on a hosted project (see
// 20261128000300_email_wakeup.sql); here they point at the local gateway.
export async function storeFunctionSecretsInVault(
  c: Cluster,
  functionsUrl: string,
  serviceRoleKey: string,
) {
  for (const v of [functionsUrl, serviceRoleKey]) {
    if (!/^[A-Za-z0-9:/._-]+$/.test(v)) throw new Error(`unexpected characters in ${v}`);
  }
  await psqlCommand(
    c,
    `delete from vault.secrets where name in ('project_url', 'service_role_key');
     select vault.create_secret('${functionsUrl}', 'project_url', 'Edge Functions base URL');
     select vault.create_secret('${serviceRoleKey}', 'service_role_key', 'service_role key for pg_net calls');`,
  );
}

export async function bringUp(opts: {
  cluster: Cluster;
  functionsPort: number;
  seed: boolean;
  fast?: boolean;
  mailboxPort?: number;
  log?: (msg: string) => void;
  // Extra environment for the functions, and for the suites run against them.
  functionsEnvExtra?: Record<string, string>;
  testEnv?: Record<string, string>;
}): Promise<Stack> {
  const log = opts.log ?? (() => {});
  const c = opts.cluster;
  const logDir = c.dir;
  if (!(await clusterInitialised(c))) {
    log(`creating a Postgres 15 cluster in ${c.dir}`);
    await initCluster(c);
  }
  // A throw-away test cluster does not need to survive a power cut.
  const extra = opts.fast
    ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    : [];
  const postgres = await startPostgres(c, extra);
  pipeToFile(postgres.stdout, join(logDir, "postgres.log"));
  pipeToFile(postgres.stderr, join(logDir, "postgres.log"));
  await waitForPostgres(c, postgres);
  log(`postgres is up on 127.0.0.1:${c.port}`);

  await loadPlatform(c);
  log("platform stand-ins loaded (roles, auth, vault, pg_net, pg_cron)");
  // Before the push, so that the seed's notices already wake the sender.
  const serviceRoleKey = await signRoleKey("service_role");
  await storeFunctionSecretsInVault(c, `http://127.0.0.1:${opts.functionsPort}`, serviceRoleKey);
  log("Vault secrets project_url and service_role_key set for pg_net and pg_cron");
  const pushed = await pushMigrations(c, { seed: opts.seed });
  log(
    pushed.includes("up to date")
      ? "migrations: up to date"
      : "migrations applied with supabase db push",
  );

  const anonKey = await signRoleKey("anon");

  const processes: Deno.ChildProcess[] = [];
  // A start that fails half-way must not leave its children running (they
  // would hold their ports for the next start).
  try {
    let mailboxUrl: string | null = null;
    if (!Deno.env.get("POSTMARK_SERVER_TOKEN")) {
      const mailboxPort = opts.mailboxPort ?? freePort(54390, [c.port, opts.functionsPort]);
      const mailboxDir = join(c.dir, "mailbox");
      const mailbox = new Deno.Command(DENO_BIN, {
        args: ["run", "-A", "--quiet", join(PROJECT_ROOT, "scripts", "dev_mailbox.ts")],
        env: { MAILBOX_PORT: String(mailboxPort), MAILBOX_DIR: mailboxDir },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      pipeToFile(mailbox.stdout, join(logDir, "mailbox.log"));
      pipeToFile(mailbox.stderr, join(logDir, "mailbox.log"));
      processes.push(mailbox);
      mailboxUrl = `http://127.0.0.1:${mailboxPort}`;
      await waitForHttp(`${mailboxUrl}/messages`, mailbox);
      log(`dev mailbox (Postmark-compatible) on ${mailboxUrl}, messages in ${mailboxDir}`);
    } else {
      log("POSTMARK_SERVER_TOKEN is set: e-mail goes through Postmark");
    }

    const base = {
      cluster: c,
      functionsPort: opts.functionsPort,
      anonKey,
      serviceRoleKey,
      mailboxUrl,
    };
    const env = functionsEnv(base);

    const functions = new Deno.Command(DENO_BIN, {
      args: ["run", "-A", "--quiet", join(PROJECT_ROOT, "scripts", "functions_server.ts")],
      env: { ...env, ...opts.functionsEnvExtra, FUNCTIONS_PORT: String(opts.functionsPort) },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    processes.push(functions);
    pipeToFile(functions.stdout, join(logDir, "functions.log"));
    pipeToFile(functions.stderr, join(logDir, "functions.log"));
    await waitForHttp(`http://127.0.0.1:${opts.functionsPort}/functions/v1/`, functions);
    log(`edge functions are served on http://127.0.0.1:${opts.functionsPort}/functions/v1/<name>`);

    // After the functions are up: requests queued meanwhile (the seed's
    // wake-ups) are sent as soon as it starts.
    const netWorker = new Deno.Command(DENO_BIN, {
      args: ["run", "-A", "--quiet", join(PROJECT_ROOT, "scripts", "net_worker.ts")],
      env: { NET_WORKER_DB_URL: dbUrl(c, "supabase_admin") },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    processes.push(netWorker);
    pipeToFile(netWorker.stdout, join(logDir, "net_worker.log"));
    pipeToFile(netWorker.stderr, join(logDir, "net_worker.log"));
    return {
      ...base,
      testEnv: opts.testEnv ?? {},
      apiUrl: env.SUPABASE_URL,
      processes,
      postgres,
      logDir,
    };
  } catch (err) {
    for (const p of processes) {
      try {
        p.kill("SIGTERM");
      } catch { /* already gone */ }
    }
    postgres.kill("SIGINT");
    await postgres.status;
    throw err;
  }
}

async function waitForHttp(url: string, child: Deno.ChildProcess, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.status.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the process serving ${url} exited during start-up (see its log)`);
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

export async function tearDown(stack: Stack) {
  for (const p of stack.processes) {
    try {
      p.kill("SIGTERM");
    } catch { /* already gone */ }
  }
  await Promise.allSettled(stack.processes.map((p) => p.status));
  try {
    stack.postgres.kill("SIGINT");
  } catch { /* already gone */ }
  await stack.postgres.status;
}
