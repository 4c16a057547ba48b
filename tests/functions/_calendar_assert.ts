// Assertions for the calendar suites, on node:assert (JSR's std is out of
// reach here).
import nodeAssert from "node:assert/strict";

export function assert(cond: unknown, message = "assertion failed"): asserts cond {
  nodeAssert.ok(cond, message);
}

export function assertEquals<T>(actual: T, expected: T, message?: string) {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

// deno-lint-ignore no-explicit-any
type ErrorClass<E> = new (...args: any[]) => E;

export function assertThrows<E extends Error>(fn: () => unknown, cls: ErrorClass<E>): E {
  try {
    fn();
  } catch (e) {
    if (e instanceof cls) return e;
    throw new Error(
      `expected ${cls.name}, got ${e instanceof Error ? e.name + ": " + e.message : e}`,
    );
  }
  throw new Error(`expected ${cls.name}, nothing was thrown`);
}

export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  cls: ErrorClass<E>,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof cls) return e;
    throw new Error(
      `expected ${cls.name}, got ${e instanceof Error ? e.name + ": " + e.message : e}`,
    );
  }
  throw new Error(`expected ${cls.name}, nothing was thrown`);
}
