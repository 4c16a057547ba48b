// Rate limits over HTTP with the stack's defaults (600 per user, 1,800 per
// address, per 60-second window): the request past the limit gets 429 with
// Retry-After, counted in Postgres so every isolate sees the same count.
import { api, assertProblem, createUser, e2e, freshIp } from "./_support/api.ts";
import { assert, assertEquals } from "./_support/assert.ts";

const WINDOW_MS = 60_000;

// Fixed windows: a burst (a few seconds) must not straddle two of them.
async function atWindowStart() {
  const into = Date.now() % WINDOW_MS;
  if (into > 45_000) await new Promise((r) => setTimeout(r, WINDOW_MS - into + 50));
}

async function burst(n: number, send: () => Promise<{ status: number }>) {
  const statuses: number[] = [];
  for (let done = 0; done < n; done += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - done) }, send));
    statuses.push(...batch.map((r) => r.status));
  }
  return statuses;
}

e2e(
  "per user: request 601 in a window gets 429 with Retry-After, whatever the address",
  async () => {
    const user = await createUser("limited");
    const other = await createUser("unlimited");
    await atWindowStart();
    // Spread over many addresses, so only the user's own bucket can fill.
    const statuses = await burst(
      600,
      () => api("GET", "/calendar/connections", { token: user.token, ip: freshIp() }),
    );
    assertEquals(
      statuses.filter((s) => s !== 200),
      [],
    );
    const over = await api("GET", "/calendar/connections", { token: user.token, ip: freshIp() });
    assertProblem(over, 429, "rate_limited");
    const retry = Number(over.headers.get("retry-after"));
    assert(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
    assertEquals(over.body.retry_after, retry);
    assertEquals(over.headers.get("ratelimit-remaining"), "0");
    // Another user is not affected.
    const fine = await api("GET", "/calendar/connections", { token: other.token, ip: freshIp() });
    assertEquals(fine.status, 200);
  },
);

e2e("per address: request 1,801 from one address gets 429, even without a token", async () => {
  const ip = freshIp();
  await atWindowStart();
  const statuses = await burst(1800, () => api("GET", "/openapi.json", { ip }));
  assertEquals(statuses.filter((s) => s !== 200), []);
  const over = await api("GET", "/openapi.json", { ip });
  assertProblem(over, 429, "rate_limited");
  assert(Number(over.headers.get("retry-after")) >= 1);
  // Unauthenticated guessing counts against the address too.
  const guess = await api("GET", "/meetings", { ip, token: "not.a.token" });
  assertProblem(guess, 429, "rate_limited");
  // Health is for monitors and never limited.
  const health = await api("GET", "/health", { ip });
  assertEquals(health.status, 200);
  // Another address is not affected.
  const elsewhere = await api("GET", "/openapi.json", { ip: freshIp() });
  assertEquals(elsewhere.status, 200);
});
