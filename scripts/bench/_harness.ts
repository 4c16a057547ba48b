// Shared pieces for benchmark modules: timing, percentiles, pgbench, tables.
import type { Stack } from "../lib/stack.ts";
import { dbUrl, LOCAL_DB_PASSWORD, PG_BIN } from "../lib/cluster.ts";
import { join } from "../lib/paths.ts";

export interface BenchContext {
  stack: Stack;
}

export interface BenchModule {
  title: string;
  // Prints as it goes; returns a markdown section (tables, one line of verdict).
  run(ctx: BenchContext): Promise<string>;
}

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  const i = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[i];
}

export interface LatencySummary {
  n: number;
  median: number;
  p95: number;
  p99: number;
  mean: number;
}

export function summarise(samplesMs: number[]): LatencySummary {
  const s = [...samplesMs].sort((a, b) => a - b);
  return {
    n: s.length,
    median: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length),
  };
}

// Time an async call `iterations` times after `warmup` unmeasured calls.
export async function timeIt(
  fn: () => Promise<unknown>,
  opts: { iterations: number; warmup?: number },
): Promise<LatencySummary> {
  for (let i = 0; i < (opts.warmup ?? 5); i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < opts.iterations; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return summarise(samples);
}

export const ms = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));

export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

export interface PgbenchResult {
  tps: number;
  latencyAvgMs: number;
  latencyMedianMs: number;
  latencyP95Ms: number;
  transactions: number;
  failed: number;
}

// Run pgbench with a custom script; per-transaction latencies come from its
// log so that median and p95 are real percentiles, not averages.
export async function pgbench(
  stack: Stack,
  opts: {
    script: string;
    clients: number;
    seconds: number;
    user?: string;
    defines?: Record<string, string | number>;
  },
): Promise<PgbenchResult> {
  const dir = await Deno.makeTempDir({ prefix: "pgbench-" });
  const scriptPath = join(dir, "script.sql");
  await Deno.writeTextFile(scriptPath, opts.script);
  const url = new URL(dbUrl(stack.cluster, opts.user ?? "postgres"));
  const args = [
    "-n",
    "-h",
    "127.0.0.1",
    "-p",
    url.port,
    "-U",
    decodeURIComponent(url.username),
    "-c",
    String(opts.clients),
    "-j",
    String(Math.min(opts.clients, 2)),
    "-T",
    String(opts.seconds),
    "-M",
    "prepared",
    "-f",
    scriptPath,
    "-l",
    "--log-prefix",
    join(dir, "log"),
    ...Object.entries(opts.defines ?? {}).flatMap(([k, v]) => ["-D", `${k}=${v}`]),
    "postgres",
  ];
  const out = await new Deno.Command(join(PG_BIN, "pgbench"), {
    args,
    env: { PGPASSWORD: LOCAL_DB_PASSWORD },
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (out.code !== 0 && !/tps = /.test(text)) throw new Error(`pgbench failed:\n${text}`);
  const latencies: number[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (!e.name.startsWith("log")) continue;
    for (const line of Deno.readTextFileSync(join(dir, e.name)).split("\n")) {
      const f = line.split(" ");
      if (f.length >= 3 && f[2] !== "failed" && f[2] !== "skipped") {
        latencies.push(Number(f[2]) / 1000);
      }
    }
  }
  await Deno.remove(dir, { recursive: true });
  const s = summarise(latencies);
  return {
    tps: Number(text.match(/tps = ([\d.]+)/)?.[1] ?? NaN),
    latencyAvgMs: Number(text.match(/latency average = ([\d.]+) ms/)?.[1] ?? NaN),
    latencyMedianMs: s.median,
    latencyP95Ms: s.p95,
    transactions: Number(text.match(/number of transactions actually processed: (\d+)/)?.[1] ?? 0),
    failed: Number(text.match(/number of failed transactions: (\d+)/)?.[1] ?? 0),
  };
}

// Run `fn` with the database's wake-ups (e-mail sender, calendar worker)
// pointed at a closed port: the local stack would otherwise deliver every
// notice the benchmark queues into the dev mailbox on the same two cores,
// which on a hosted project happens in the Edge runtime, not the database.
// The notices are still written, in the same transaction, as always.
export async function withoutBackgroundDelivery<T>(stack: Stack, fn: () => Promise<T>): Promise<T> {
  const url = dbUrl(stack.cluster, "supabase_admin");
  const psql = (sql: string) =>
    new Deno.Command(join(PG_BIN, "psql"), { args: [url, "-X", "-q", "-At", "-c", sql] }).output();
  const previous = new TextDecoder().decode(
    (await psql("select decrypted_secret from vault.decrypted_secrets where name = 'project_url'"))
      .stdout,
  ).trim();
  await psql(
    "select vault.update_secret(id, 'http://127.0.0.1:9') from vault.secrets where name = 'project_url'",
  );
  try {
    return await fn();
  } finally {
    await psql(
      `select vault.update_secret(id, '${
        previous.replace(/'/g, "''")
      }') from vault.secrets where name = 'project_url'`,
    );
  }
}
