// Structured logs: one JSON object per line, which the platform's log
// explorer indexes. Callers pass only what is safe to keep: never a token, a
// header value, a request body or a credential.

export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const threshold = ORDER[(Deno.env.get("LOG_LEVEL") as LogLevel) ?? "info"] ?? ORDER.info;

export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < threshold) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields });
  if (level === "error" || level === "warn") console.error(line);
  else console.log(line);
}
