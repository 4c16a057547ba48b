// `npm run bench`: brings up a throw-away stack (its own cluster and ports,
// durable settings as in production: fsync on), runs every benchmark module
// in scripts/bench/ in name order, prints each one's figures and writes them
// all to .local/bench-results.md for the README.
//
// Usage: npm run bench [-- <module-name-filter>]
import { clusterFor, freePort, PROJECT_ROOT, removeCluster } from "./lib/cluster.ts";
import { bringUp, tearDown } from "./lib/stack.ts";
import { join } from "./lib/paths.ts";
import type { BenchContext, BenchModule } from "./bench/_harness.ts";

const filter = Deno.args[0] ?? "";
const dir = join(PROJECT_ROOT, "scripts", "bench");
const modules = [...Deno.readDirSync(dir)]
  .filter((e) => e.isFile && e.name.endsWith(".ts") && !e.name.startsWith("_"))
  .map((e) => e.name)
  .filter((n) => n.includes(filter))
  .sort();

const dbPort = freePort(54372);
const functionsPort = freePort(54381);
const cluster = await clusterFor(`bench-${Deno.pid}`, dbPort);
await removeCluster(cluster);
const stack = await bringUp({
  cluster,
  functionsPort,
  seed: false,
  log: (m) => console.log(`• ${m}`),
});
const sections: string[] = [];
let failed = false;
try {
  const ctx: BenchContext = { stack };
  for (const name of modules) {
    const mod = (await import(join(dir, name))) as BenchModule;
    console.log(`\n== ${mod.title}`);
    try {
      sections.push(`### ${mod.title}\n\n${await mod.run(ctx)}`);
    } catch (err) {
      failed = true;
      console.error(`benchmark ${name} failed: ${err instanceof Error ? err.stack : err}`);
    }
  }
} finally {
  await tearDown(stack);
  await removeCluster(cluster);
}
const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1] ??
  "unknown CPU";
const report =
  `Measured ${new Date().toISOString().slice(0, 10)} on ${navigator.hardwareConcurrency} cores ` +
  `(${cpu}), Postgres 15, fsync on.\n\n${sections.join("\n\n")}\n`;
await Deno.writeTextFile(join(PROJECT_ROOT, ".local", "bench-results.md"), report);
console.log(`\nall figures: .local/bench-results.md`);
Deno.exit(failed ? 1 : 0);
