// Bring the local stack up: cluster, platform stand-ins, migrations (real
// supabase CLI), seed, pg_net worker and the Edge Functions gateway.
import {
  type Cluster,
  clusterInitialised,
  dbUrl,
  initCluster,
  mustRun,
  PROJECT_ROOT,
  psqlFile,
  startPostgres,
  waitForPostgres,
} from "./cluster.ts";
import { LOCAL_JWT_SECRET, signRoleKey } from "./keys.ts";
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
  const args = [SUPABASE_BIN, "db", "push", "--db-url", `${dbUrl(c)}?sslmode=disable`, "--yes"];
  if (opts.seed) args.push("--include-seed");
  const r = await mustRun("supabase db push", args, {
    env: { SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
  });
  return r;
}

export function functionsEnv(
  stack: Pick<Stack, "cluster" | "functionsPort" | "anonKey" | "serviceRoleKey">,
) {
  return {
    SUPABASE_URL: `http://127.0.0.1:${stack.functionsPort}`,
    SUPABASE_ANON_KEY: stack.anonKey,
    SUPABASE_SERVICE_ROLE_KEY: stack.serviceRoleKey,
    SUPABASE_DB_URL: dbUrl(stack.cluster),
    SUPABASE_JWT_SECRET: LOCAL_JWT_SECRET,
  };
}

export async function bringUp(opts: {
  cluster: Cluster;
  functionsPort: number;
  seed: boolean;
  fast?: boolean;
  log?: (msg: string) => void;
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
  // A failure part-way must not leave this cluster's postgres (or a worker)
  // running with nobody to stop it: the caller only gets a Stack on success.
  const processes: Deno.ChildProcess[] = [];
  try {
    await waitForPostgres(c, postgres);
    log(`postgres is up on 127.0.0.1:${c.port}`);

    await loadPlatform(c);
    log("platform stand-ins loaded (roles, auth, vault, pg_net, pg_cron)");
    const pushed = await pushMigrations(c, { seed: opts.seed });
    log(
      pushed.includes("up to date")
        ? "migrations: up to date"
        : "migrations applied with supabase db push",
    );

    const anonKey = await signRoleKey("anon");
    const serviceRoleKey = await signRoleKey("service_role");
    const base = { cluster: c, functionsPort: opts.functionsPort, anonKey, serviceRoleKey };
    const env = functionsEnv(base);

    const netWorker = new Deno.Command(DENO_BIN, {
      args: ["run", "-A", "--quiet", join(PROJECT_ROOT, "scripts", "net_worker.ts")],
      env: { NET_WORKER_DB_URL: dbUrl(c, "supabase_admin") },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    processes.push(netWorker);
    pipeToFile(netWorker.stdout, join(logDir, "net_worker.log"));
    pipeToFile(netWorker.stderr, join(logDir, "net_worker.log"));

    const functions = new Deno.Command(DENO_BIN, {
      args: ["run", "-A", "--quiet", join(PROJECT_ROOT, "scripts", "functions_server.ts")],
      env: { ...env, FUNCTIONS_PORT: String(opts.functionsPort) },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    processes.push(functions);
    pipeToFile(functions.stdout, join(logDir, "functions.log"));
    pipeToFile(functions.stderr, join(logDir, "functions.log"));
    await waitForHttp(`http://127.0.0.1:${opts.functionsPort}/functions/v1/`, functions);
    log(`edge functions are served on http://127.0.0.1:${opts.functionsPort}/functions/v1/<name>`);

    return {
      ...base,
      apiUrl: env.SUPABASE_URL,
      processes,
      postgres,
      logDir,
    };
  } catch (err) {
    await tearDown({ processes, postgres });
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

export async function tearDown(stack: Pick<Stack, "processes" | "postgres">) {
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
