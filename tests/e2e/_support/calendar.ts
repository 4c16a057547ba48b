// Shared pieces of the calendar suites: endpoints for the local fake
// providers, a sync window, and a meeting to push.
import type { Endpoints } from "../../../functions/_shared/calendar/connection.ts";
import type { OutgoingEvent, SyncWindow } from "../../../functions/_shared/calendar/types.ts";

export function fakeEndpoints(
  google: { apiBase: string; tokenUrl: string } | null,
  graph: { apiBase: string; tokenUrl: string } | null,
): Endpoints {
  return {
    googleApi: google?.apiBase ?? "http://127.0.0.1:9/unused",
    google: {
      tokenUrl: google?.tokenUrl ?? "http://127.0.0.1:9/unused",
      clientId: "google-client",
      clientSecret: "google-secret",
    },
    graphApi: graph?.apiBase ?? "http://127.0.0.1:9/unused",
    microsoft: {
      tokenUrl: graph?.tokenUrl ?? "http://127.0.0.1:9/unused",
      clientId: "ms-client",
      clientSecret: "ms-secret",
    },
  };
}

export function window(from: string, to: string, timeZone = "UTC"): SyncWindow {
  return { from: new Date(from), to: new Date(to), timeZone };
}

export function meeting(overrides: Partial<OutgoingEvent> = {}): OutgoingEvent {
  return {
    meetingId: crypto.randomUUID(),
    title: "Design review",
    description: "Agenda: the sync",
    location: null,
    start: "2026-12-01T09:00:00Z",
    end: "2026-12-01T10:00:00Z",
    allDay: false,
    timeZone: "Europe/Berlin",
    attendees: [{ email: "bob@example.com", name: "Bob" }],
    organizerEmail: "alice@example.com",
    sequence: 0,
    ...overrides,
  };
}

// Records the waits a client asked for instead of sleeping through them.
export function recordingSleep(): { waits: number[]; sleep: (ms: number) => Promise<void> } {
  const waits: number[] = [];
  return {
    waits,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
  };
}
