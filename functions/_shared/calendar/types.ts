// Shapes shared by every provider: what a sync pulls (busy occurrences and
// deletions) and what it pushes (our meetings as external events).

// One stretch of one event occurrence (busy, or marked free). `externalId` is stable across
// syncs: the provider's id for single events and expanded instances, or
// UID plus recurrence id for iCalendar sources.
export interface BusyOccurrence {
  externalId: string;
  start: string; // ISO 8601, UTC
  end: string;
  allDay: boolean;
  // Marked free (transparent, showAs free): it blocks nothing, but it still
  // describes this time, and a higher-priority source saying "free" wins
  // over a lower one saying "busy".
  free: boolean;
  // Set when the event carries our own marker: a meeting we pushed. The sync
  // never turns it into foreign busy time.
  meetingId: string | null;
}

// A source event we could not read. The rest of the calendar still imports.
export interface SkippedEvent {
  externalId: string | null;
  reason: string;
}

// A meeting as we write it to someone's external calendar.
export interface OutgoingEvent {
  meetingId: string;
  title: string;
  description: string;
  location: string | null;
  start: string; // ISO 8601 instant
  end: string;
  // All-day meetings are written as dates in the organiser's zone.
  allDay: boolean;
  timeZone: string;
  attendees: { email: string; name?: string }[];
  organizerEmail: string | null;
  // Grows with every change of the meeting (iCalendar SEQUENCE).
  sequence: number;
}

// What a push answered: where the event lives now and its version tag, for
// the next conditional update.
export interface PushedEvent {
  externalId: string;
  etag: string | null;
}

// The marker we put on every event we write, so that a pull recognises it.
export const MEETING_ID_PROPERTY = "X-SCHEDULER-MEETING-ID";
export const MEETING_UID_SUFFIX = "@meetings.scheduler";

// One unit of change in a source: a Google or Graph event instance, a CalDAV
// resource, or a whole ICS feed. A changed item replaces every busy
// occurrence that item had before (an empty list: it no longer blocks time).
export interface PulledItem {
  itemId: string;
  etag: string | null;
  busy: BusyOccurrence[];
}

export interface PullResult {
  // true: `items` is everything the source holds in the window; whatever
  // else was stored for this connection is gone.
  full: boolean;
  items: PulledItem[];
  removedItems: string[];
  skipped: SkippedEvent[];
  // What to store for the next incremental pull (provider-specific JSON).
  cursor: Record<string, unknown>;
  // Nothing changed since the last pull (ICS 304, CalDAV same ctag).
  unchanged: boolean;
}

// The window a sync keeps busy time for, and the zone that all-day and
// floating times are read in (the owner's).
export interface SyncWindow {
  from: Date;
  to: Date;
  timeZone: string;
}
