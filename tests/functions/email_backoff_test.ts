// Retry delays double per attempt up to the cap, are jittered, and are never
// immediate; a server's Retry-After is understood in both of its forms.
import { backoffSeconds, retryAfterSeconds } from "../../functions/_shared/email/backoff.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

const policy = { baseSeconds: 30, capSeconds: 3600 };

Deno.test("delays double per attempt between half and all of the ceiling", () => {
  for (let attempt = 1; attempt <= 12; attempt++) {
    const ceiling = Math.min(3600, 30 * 2 ** (attempt - 1));
    const low = backoffSeconds(attempt, policy, () => 0);
    const high = backoffSeconds(attempt, policy, () => 0.999999);
    assert(
      Math.abs(low - ceiling / 2) < 1e-9,
      `attempt ${attempt}: lowest ${low}, want ${ceiling / 2}`,
    );
    assert(high <= ceiling && high > ceiling * 0.99, `attempt ${attempt}: highest ${high}`);
  }
});

Deno.test("the cap holds for any attempt count", () => {
  for (const attempt of [13, 50, 1000, Number.MAX_SAFE_INTEGER]) {
    const d = backoffSeconds(attempt, policy, () => 0.999999);
    assert(Number.isFinite(d) && d <= 3600, `attempt ${attempt}: ${d}`);
  }
});

Deno.test("jitter spreads retries that failed together", () => {
  const delays = new Set(Array.from({ length: 200 }, () => Math.round(backoffSeconds(6, policy))));
  assert(delays.size > 50, `only ${delays.size} distinct delays in 200 draws`);
});

Deno.test("Retry-After in seconds or as an HTTP date", () => {
  const now = new Date("2027-03-15T14:00:00Z");
  assert(retryAfterSeconds("120", now) === 120, "seconds");
  assert(retryAfterSeconds("Mon, 15 Mar 2027 14:02:00 GMT", now) === 120, "HTTP date");
  assert(retryAfterSeconds(null, now) === null, "absent");
  assert(retryAfterSeconds("soon", now) === null, "garbage is ignored");
});
