// The test stack's Edge Functions reach "Google" and "Microsoft" on two
// loopback ports chosen at start-up; the calendar suites start their local
// API servers (tests/e2e/_support/fake_google.ts, fake_graph.ts) on those
// ports, so the sync worker served by the stack talks to them over HTTP.
import { freePort } from "./cluster.ts";

export interface CalendarFakePorts {
  google: number;
  graph: number;
}

export function pickCalendarFakePorts(exclude: number[]): CalendarFakePorts {
  const google = freePort(55401, exclude);
  const graph = freePort(google + 1, [...exclude, google]);
  return { google, graph };
}

// What the functions are told (the production defaults are the real APIs),
// and where providers are to send change notifications.
export function calendarFunctionsEnv(
  p: CalendarFakePorts,
  functionsPort: number,
): Record<string, string> {
  return {
    CALENDAR_WEBHOOK_URL: `http://127.0.0.1:${functionsPort}/functions/v1/calendar-webhook`,
    GOOGLE_CALENDAR_API_URL: `http://127.0.0.1:${p.google}/calendar/v3`,
    GOOGLE_TOKEN_URL: `http://127.0.0.1:${p.google}/token`,
    GOOGLE_CLIENT_ID: "local-google-client",
    GOOGLE_CLIENT_SECRET: "local-google-secret",
    MICROSOFT_GRAPH_API_URL: `http://127.0.0.1:${p.graph}/v1.0`,
    MICROSOFT_TOKEN_URL: `http://127.0.0.1:${p.graph}/common/oauth2/v2.0/token`,
    MICROSOFT_CLIENT_ID: "local-microsoft-client",
    MICROSOFT_CLIENT_SECRET: "local-microsoft-secret",
  };
}

// What the suites are told: where to listen.
export function calendarTestEnv(p: CalendarFakePorts): Record<string, string> {
  return {
    CALENDAR_FAKE_GOOGLE_PORT: String(p.google),
    CALENDAR_FAKE_GRAPH_PORT: String(p.graph),
  };
}
