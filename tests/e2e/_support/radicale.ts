// A real Radicale CalDAV server (Debian package `radicale`, installed by
// scripts/bootstrap.sh) on a free loopback port, with its own storage
// folder and htpasswd users, started and stopped by the tests.

export interface RadicaleServer {
  url: string;
  users: Record<string, string>;
  stop(): Promise<void>;
}

export async function startRadicale(
  users: Record<string, string> = { alice: "alice-password", bob: "bob-password" },
): Promise<RadicaleServer> {
  const dir = await Deno.makeTempDir({ prefix: "radicale-" });
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/users`,
    Object.entries(users).map(([u, p]) => `${u}:${p}`).join("\n") + "\n",
  );
  await Deno.writeTextFile(
    `${dir}/config`,
    `[server]
hosts = 127.0.0.1:${port}
[auth]
type = htpasswd
htpasswd_filename = ${dir}/users
htpasswd_encryption = plain
[rights]
type = owner_only
[storage]
filesystem_folder = ${dir}/collections
[web]
type = none
[logging]
level = warning
`,
  );
  const child = new Deno.Command("radicale", {
    args: ["--config", `${dir}/config`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  (async () => {
    for (;;) {
      const { done, value } = await stderr.read();
      if (done) break;
      log += value;
    }
  })();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  let exited = false;
  child.status.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`radicale exited during start-up:\n${log}`);
    try {
      const res = await fetch(`${url}/.well-known/caldav`, { redirect: "manual" });
      await res.body?.cancel();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`radicale did not answer on ${url}:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    users,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
