// A project-local Postgres 15 cluster, set up the way hosted Supabase runs:
// the bootstrap superuser is supabase_admin, pg_cron is preloaded, and the
// platform stand-ins in sql/platform are loaded by that superuser.
import { dirname, fromFileUrl, join } from "./paths.ts";

export const PROJECT_ROOT = join(dirname(fromFileUrl(import.meta.url)), "..", "..");
export const PG_BIN = Deno.env.get("PG_BIN") ?? "/usr/lib/postgresql/15/bin";
export const LOCAL_DB_PASSWORD = "postgres";

const isRoot = Deno.uid() === 0;
// initdb refuses to run as root; as root the cluster belongs to 'postgres'.
const asClusterOwner = (cmd: string[]) =>
  isRoot ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd;

export interface Cluster {
  name: string;
  dir: string;
  port: number;
}

export function dbUrl(c: Cluster, user = "postgres", password = LOCAL_DB_PASSWORD): string {
  return `postgresql://${user}:${password}@127.0.0.1:${c.port}/postgres`;
}

export async function run(
  cmd: string[],
  opts: { env?: Record<string, string>; cwd?: string; quiet?: boolean; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env: opts.env,
    cwd: opts.cwd ?? PROJECT_ROOT,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  return { code: out.code, stdout, stderr };
}

export async function mustRun(
  what: string,
  cmd: string[],
  opts: Parameters<typeof run>[1] = {},
): Promise<string> {
  const r = await run(cmd, opts);
  if (r.code !== 0) {
    throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`.trim());
  }
  return r.stdout;
}

function clusterBaseDir(): string {
  return join(PROJECT_ROOT, ".local");
}

// The cluster owner (postgres, when we are root) must be able to reach the
// data directory; a project under a private home directory falls back to /tmp.
async function reachableByOwner(path: string): Promise<boolean> {
  if (!isRoot) return true;
  const r = await run(["runuser", "-u", "postgres", "--", "test", "-x", path]);
  return r.code === 0;
}

export async function clusterFor(name: string, port: number): Promise<Cluster> {
  let base = clusterBaseDir();
  await Deno.mkdir(base, { recursive: true });
  if (!(await reachableByOwner(base))) {
    const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(PROJECT_ROOT));
    const tag = Array.from(new Uint8Array(digest)).slice(0, 6)
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    base = `/tmp/meeting-scheduler-${tag}`;
    await Deno.mkdir(base, { recursive: true });
  }
  return { name, dir: join(base, name), port };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

export async function clusterInitialised(c: Cluster): Promise<boolean> {
  return await exists(join(c.dir, "data", "PG_VERSION"));
}

export async function initCluster(c: Cluster): Promise<void> {
  const data = join(c.dir, "data");
  await Deno.mkdir(data, { recursive: true });
  const pwfile = join(c.dir, "pwfile");
  await Deno.writeTextFile(pwfile, LOCAL_DB_PASSWORD + "\n");
  if (isRoot) {
    await mustRun("chown", ["chown", "-R", "postgres:postgres", c.dir]);
  }
  await mustRun(
    "initdb",
    asClusterOwner([
      join(PG_BIN, "initdb"),
      "-D",
      data,
      "-U",
      "supabase_admin",
      "--auth=scram-sha-256",
      `--pwfile=${pwfile}`,
      "-E",
      "UTF8",
      "--locale=C.UTF-8",
    ]),
  );
  await Deno.remove(pwfile);
  // Settings that hosted Supabase has and that our code relies on.
  const conf = [
    "",
    "# meeting-scheduler local stack",
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${data}'`,
    "shared_preload_libraries = 'pg_cron'",
    "cron.database_name = 'postgres'",
    "timezone = 'UTC'",
    "max_connections = 200",
    "shared_buffers = '256MB'",
    "fsync = on",
    "log_min_messages = warning",
    "log_min_error_statement = panic",
    "",
  ].join("\n");
  const confPath = join(data, "postgresql.conf");
  await Deno.writeTextFile(confPath, conf, { append: true });
}

// Settings that differ per run (port) go on the command line, so one data
// directory can be started on any port. As root we spawn postgres directly as
// the cluster owner (not through runuser, which swallows SIGINT), so Ctrl-C
// and our own shutdown reach it.
export async function startPostgres(c: Cluster, extra: string[] = []): Promise<Deno.ChildProcess> {
  const data = join(c.dir, "data");
  const owner = isRoot ? await clusterOwnerIds() : {};
  // pg_cron runs its jobs in background workers: its default, a libpq
  // connection to localhost, cannot log in under scram-sha-256 and every job
  // would fail with "connection failed".
  const cron = ["-c", "cron.use_background_workers=on", "-c", "max_worker_processes=32"];
  return new Deno.Command(join(PG_BIN, "postgres"), {
    args: ["-D", data, "-p", String(c.port), ...cron, ...extra],
    ...owner,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function clusterOwnerIds(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await mustRun("id -u", ["id", "-u", "postgres"])).trim());
  const gid = Number((await mustRun("id -g", ["id", "-g", "postgres"])).trim());
  return { uid, gid };
}

export async function waitForPostgres(c: Cluster, child: Deno.ChildProcess, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.status.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error("postgres exited during start-up");
    const r = await run([
      join(PG_BIN, "pg_isready"),
      "-h",
      "127.0.0.1",
      "-p",
      String(c.port),
      "-q",
    ]);
    if (r.code === 0) return;
    await new Promise((res) => setTimeout(res, 150));
  }
  throw new Error(`postgres did not accept connections on port ${c.port} within ${timeoutMs} ms`);
}

// Another postgres already serving this data directory?
export async function runningPostmasterPid(c: Cluster): Promise<number | null> {
  try {
    const text = await Deno.readTextFile(join(c.dir, "data", "postmaster.pid"));
    const pid = Number(text.split("\n")[0]);
    if (!pid) return null;
    const r = await run(["kill", "-0", String(pid)]);
    return r.code === 0 ? pid : null;
  } catch {
    return null;
  }
}

export async function psqlFile(c: Cluster, file: string, user = "supabase_admin") {
  return await mustRun(`psql -f ${file}`, [
    join(PG_BIN, "psql"),
    dbUrl(c, user),
    "-X",
    "-q",
    "-v",
    "ON_ERROR_STOP=1",
    "-f",
    file,
  ]);
}

export async function psqlCommand(c: Cluster, sql: string, user = "supabase_admin") {
  return await mustRun(`psql -c`, [
    join(PG_BIN, "psql"),
    dbUrl(c, user),
    "-X",
    "-q",
    "-At",
    "-v",
    "ON_ERROR_STOP=1",
    "-c",
    sql,
  ]);
}

export function portInUse(port: number): boolean {
  try {
    const l = Deno.listen({ hostname: "127.0.0.1", port });
    l.close();
    return false;
  } catch {
    return true;
  }
}

// A port nobody listens on now, and not one we already picked for something
// that is not listening yet.
export function freePort(from: number, exclude: number[] = []): number {
  for (let p = from; p < from + 200; p++) {
    if (!exclude.includes(p) && !portInUse(p)) return p;
  }
  throw new Error(`no free port from ${from}`);
}

export async function removeCluster(c: Cluster) {
  await Deno.remove(c.dir, { recursive: true }).catch(() => {});
}
