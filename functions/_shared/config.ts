// The API's settings, read once from the environment. Pure: takes the
// environment as a plain object so it can be tested without touching Deno.env.

export interface RateLimitConfig {
  enabled: boolean;
  userLimit: number;
  ipLimit: number;
  windowSeconds: number;
}

export interface ApiConfig {
  // Legacy symmetric signing (HS256) with the project's JWT secret.
  jwtSecret: string | null;
  // Asymmetric signing keys: an inline JWKS (hosted Supabase provides
  // SUPABASE_JWKS) or a URL to fetch it from.
  jwks: { keys: unknown[] } | null;
  jwksUrl: string | null;
  rateLimit: RateLimitConfig;
  corsOrigins: string[];
  calendarKey: string | null;
  maxBodyBytes: number;
}

export class ConfigError extends Error {}

function positiveInt(env: Record<string, string | undefined>, name: string, fallback: number) {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new ConfigError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function parseJwks(raw: string | undefined): { keys: unknown[] } | null {
  if (!raw) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new ConfigError("SUPABASE_JWKS is not valid JSON");
  }
  const keys = (v as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw new ConfigError('SUPABASE_JWKS must be a JWKS: {"keys": [...]}');
  // An empty key set (a project still on the legacy secret) means: no JWKS.
  return keys.length ? { keys } : null;
}

export function loadConfig(env: Record<string, string | undefined>): ApiConfig {
  const enabledRaw = (env.RATE_LIMIT_ENABLED ?? "true").toLowerCase();
  if (!["true", "false", "1", "0"].includes(enabledRaw)) {
    throw new ConfigError(`RATE_LIMIT_ENABLED must be true or false, got ${enabledRaw}`);
  }
  const calendarKey = env.CALENDAR_CREDENTIALS_KEY || null;
  if (calendarKey !== null && calendarKey.length < 32) {
    throw new ConfigError("CALENDAR_CREDENTIALS_KEY must be at least 32 characters");
  }
  const jwksUrl = env.JWKS_URL || null;
  if (jwksUrl !== null && !/^https?:\/\//.test(jwksUrl)) {
    throw new ConfigError("JWKS_URL must be an http(s) URL");
  }
  return {
    jwtSecret: env.SUPABASE_JWT_SECRET || env.JWT_SECRET || null,
    jwks: parseJwks(env.SUPABASE_JWKS),
    jwksUrl,
    rateLimit: {
      enabled: enabledRaw === "true" || enabledRaw === "1",
      userLimit: positiveInt(env, "RATE_LIMIT_USER_PER_WINDOW", 600),
      ipLimit: positiveInt(env, "RATE_LIMIT_IP_PER_WINDOW", 1800),
      windowSeconds: positiveInt(env, "RATE_LIMIT_WINDOW_SECONDS", 60),
    },
    corsOrigins: (env.CORS_ALLOWED_ORIGINS ?? "*").split(",").map((s) => s.trim()).filter(Boolean),
    calendarKey,
    maxBodyBytes: positiveInt(env, "API_MAX_BODY_BYTES", 65536),
  };
}
