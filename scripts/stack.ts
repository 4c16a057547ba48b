// The two commands. `start`: the local stack for development, until Ctrl-C.
// `test`: the same stack on a throw-away cluster and free ports, then every
// check and test suite, ending with one line "N passed, N failed".
// `db:dump`: regenerate the committed schema dump.
import {
  clusterFor,
  dbUrl,
  freePort,
  portInUse,
  PROJECT_ROOT,
  removeCluster,
  runningPostmasterPid,
} from "./lib/cluster.ts";
import { bringUp, type Stack, tearDown } from "./lib/stack.ts";
import {
  calendarFunctionsEnv,
  calendarTestEnv,
  pickCalendarFakePorts,
} from "./lib/calendar_fakes.ts";
import { signUserToken } from "./lib/keys.ts";
import { runTests } from "./lib/test_runner.ts";
import { dumpSchema, SCHEMA_DUMP_PATH } from "./lib/schema_dump.ts";

const DEV_DB_PORT = 54322;
const DEV_FUNCTIONS_PORT = 54321;
// Where `supabase start` serves its mail catcher.
const DEV_MAILBOX_PORT = 54324;

const DEMO_USERS = [
  { id: "a11ce000-0000-4000-8000-000000000001", email: "alice@example.com", zone: "Europe/Berlin" },
  {
    id: "b0b00000-0000-4000-8000-000000000002",
    email: "bob@example.com",
    zone: "America/New_York",
  },
  { id: "ca201000-0000-4000-8000-000000000003", email: "carol@example.com", zone: "Asia/Kolkata" },
];

const say = (msg: string) => console.log(`\x1b[2m•\x1b[0m ${msg}`);

async function start() {
  const cluster = await clusterFor("dev", DEV_DB_PORT);
  let running = await runningPostmasterPid(cluster);
  if (running && !portInUse(DEV_FUNCTIONS_PORT)) {
    // Postgres without its gateway: a previous stack died without shutting
    // down (kill -9, a crash). Stop the leftover and start afresh.
    say(`stopping postgres (pid ${running}) left behind by a stack that did not shut down cleanly`);
    Deno.kill(running, "SIGINT");
    for (let i = 0; i < 100 && (await runningPostmasterPid(cluster)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    running = await runningPostmasterPid(cluster);
  }
  if (running) {
    console.error(
      `The local stack is already running (postgres pid ${running}, port ${DEV_DB_PORT}).\n` +
        "Use it as it is, or stop it with Ctrl-C in the terminal that started it.",
    );
    Deno.exit(1);
  }
  for (const port of [DEV_DB_PORT, DEV_FUNCTIONS_PORT]) {
    if (portInUse(port)) {
      console.error(
        `Port ${port} is taken by another program; the local stack needs ${DEV_DB_PORT} and ${DEV_FUNCTIONS_PORT}.`,
      );
      Deno.exit(1);
    }
  }

  let stack: Stack | null = null;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping the local stack...");
    if (stack) await tearDown(stack);
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);

  try {
    stack = await bringUp({
      cluster,
      functionsPort: DEV_FUNCTIONS_PORT,
      mailboxPort: DEV_MAILBOX_PORT,
      seed: true,
      log: say,
    });
  } catch (err) {
    console.error(`\nThe local stack did not start: ${err instanceof Error ? err.message : err}`);
    console.error(
      `Logs: ${cluster.dir}/*.log. To start afresh with an empty local database: rm -rf ${cluster.dir}`,
    );
    Deno.exit(1);
  }
  await printBanner(stack);
  // Keep running until a signal arrives or a child dies.
  const exited = await Promise.race([
    stack.postgres.status,
    ...stack.processes.map((p) => p.status),
  ]);
  if (!stopping) {
    console.error(
      `a component of the stack exited (code ${exited.code}); see logs in ${stack.logDir}`,
    );
    await tearDown(stack);
    Deno.exit(1);
  }
}

async function printBanner(stack: Stack) {
  const tokens = await Promise.all(
    DEMO_USERS.map((u) => signUserToken({ id: u.id, email: u.email, apiUrl: stack.apiUrl })),
  );
  const fn = `${stack.apiUrl}/functions/v1`;
  const lines = [
    "",
    "\x1b[1mLocal meeting-scheduler stack is running.\x1b[0m  Ctrl-C stops everything.",
    "",
    `         Functions URL: ${fn}/<name>`,
    `                   API: ${fn}/api`,
    `                DB URL: ${dbUrl(stack.cluster)}`,
    `  DB URL (superuser):   ${dbUrl(stack.cluster, "supabase_admin")}`,
    `            JWT secret: super-secret-jwt-token-with-at-least-32-characters-long`,
    `              anon key: ${stack.anonKey}`,
    `      service_role key: ${stack.serviceRoleKey}`,
    `               Mailbox: ${
      stack.mailboxUrl ?? "(real Postmark: POSTMARK_SERVER_TOKEN is set)"
    }`,
    `                  Logs: ${stack.logDir}/*.log`,
    "",
    "Demo users (password: password), with access tokens valid for 7 days:",
    ...DEMO_USERS.map((u, i) =>
      `  ${u.email.padEnd(18)} ${u.zone.padEnd(17)} ${u.id}\n    ${tokens[i]}`
    ),
    "",
    "Try it (as Alice):",
    `  TOKEN=${tokens[0]}`,
    `  curl -s ${fn}/api/health`,
    `  curl -s ${fn}/api/meetings -H "Authorization: Bearer $TOKEN"`,
    `  curl -s "${fn}/api/availability?user_ids=${DEMO_USERS[0].id},${
      DEMO_USERS[1].id
    }&start=$(date -u -d '+1 days' +%Y-%m-%dT00:00:00Z)&end=$(date -u -d '+8 days' +%Y-%m-%dT00:00:00Z)&duration_minutes=30" -H "Authorization: Bearer $TOKEN"`,
    `  curl -s ${fn}/api/meetings -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`,
    `    -d '{"title":"Coffee","start":"'$(date -u -d '+4 days' +%Y-%m-%dT13:00:00Z)'","end":"'$(date -u -d '+4 days' +%Y-%m-%dT13:30:00Z)'","time_zone":"Europe/Berlin","attendees":[{"email":"bob@example.com"}]}'`,
    `  psql '${dbUrl(stack.cluster)}' -c "select title, start_at, status from meetings"`,
    "",
  ];
  console.log(lines.join("\n"));
}

async function test() {
  const dbPort = freePort(54332);
  const functionsPort = freePort(54331, [dbPort]);
  const cluster = await clusterFor(`test-${Deno.pid}`, dbPort);
  await removeCluster(cluster);
  let stack: Stack | null = null;
  let code = 1;
  const cleanUp = async () => {
    if (stack) await tearDown(stack);
    await removeCluster(cluster);
  };
  Deno.addSignalListener("SIGINT", async () => {
    await cleanUp();
    Deno.exit(130);
  });
  try {
    const fakes = pickCalendarFakePorts([dbPort, functionsPort]);
    stack = await bringUp({
      cluster,
      functionsPort,
      seed: true,
      fast: true,
      log: say,
      functionsEnvExtra: calendarFunctionsEnv(fakes, functionsPort),
      testEnv: calendarTestEnv(fakes),
    });
    code = await runTests(stack);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    console.log("0 passed, 1 failed");
    code = 1;
  } finally {
    await cleanUp();
  }
  Deno.exit(code);
}

async function dbDump() {
  const dbPort = freePort(54352);
  const cluster = await clusterFor(`dump-${Deno.pid}`, dbPort);
  await removeCluster(cluster);
  const functionsPort = freePort(54361, [dbPort]);
  const stack = await bringUp({ cluster, functionsPort, seed: false, fast: true, log: say });
  try {
    await Deno.writeTextFile(SCHEMA_DUMP_PATH, await dumpSchema(cluster));
    say(`wrote ${SCHEMA_DUMP_PATH.replace(PROJECT_ROOT + "/", "")}`);
  } finally {
    await tearDown(stack);
    await removeCluster(cluster);
  }
}

const command = Deno.args[0];
if (command === "start") await start();
else if (command === "test") await test();
else if (command === "db:dump") await dbDump();
else {
  console.error("usage: stack.ts start | test | db:dump");
  Deno.exit(2);
}
