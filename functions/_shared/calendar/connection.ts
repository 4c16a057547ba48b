// One connection's pull and push, whatever its provider: builds the
// provider client from the decrypted credentials, falls back to a full pull
// when the stored cursor is refused or the window has moved past what the
// last full pull covered, and keeps refreshed OAuth tokens for storing back.
import { CalDavClient, type CalDavCursor } from "./caldav.ts";
import { pullCalDav } from "./caldav_pull.ts";
import {
  CalendarError,
  CursorInvalidError,
  NotFoundError,
  PreconditionFailedError,
  type Provider,
} from "./errors.ts";
import { GOOGLE_API_BASE, GoogleCalendarClient } from "./google.ts";
import { GRAPH_API_BASE, GraphCalendarClient } from "./graph.ts";
import { type IcsFeedCursor, pullIcsFeed } from "./ics_feed.ts";
import { meetingResourceName, meetingToIcs } from "./ics_write.ts";
import {
  GOOGLE_TOKEN_URL,
  MICROSOFT_TOKEN_URL,
  type OAuthClient,
  type OAuthTokens,
  TokenSource,
} from "./oauth.ts";
import type { OutgoingEvent, PullResult, PushedEvent, SyncWindow } from "./types.ts";

export interface Endpoints {
  googleApi: string;
  google: OAuthClient;
  graphApi: string;
  microsoft: OAuthClient;
}

// Production endpoints; client ids and secrets from the functions' env.
export function endpointsFromEnv(env: (name: string) => string | undefined): Endpoints {
  return {
    googleApi: env("GOOGLE_CALENDAR_API_URL") ?? GOOGLE_API_BASE,
    google: {
      tokenUrl: env("GOOGLE_TOKEN_URL") ?? GOOGLE_TOKEN_URL,
      clientId: env("GOOGLE_CLIENT_ID") ?? "",
      clientSecret: env("GOOGLE_CLIENT_SECRET") ?? "",
    },
    graphApi: env("MICROSOFT_GRAPH_API_URL") ?? GRAPH_API_BASE,
    microsoft: {
      tokenUrl: env("MICROSOFT_TOKEN_URL") ?? MICROSOFT_TOKEN_URL,
      clientId: env("MICROSOFT_CLIENT_ID") ?? "",
      clientSecret: env("MICROSOFT_CLIENT_SECRET") ?? "",
    },
  };
}

export interface Connection {
  provider: Provider;
  calendarRef: string;
  // Decrypted: OAuth tokens, CalDAV username/password, or a secret feed URL.
  credentials: Record<string, unknown> | null;
}

export interface PullOutcome {
  result: PullResult;
  // Set when OAuth tokens were refreshed: store them back (encrypted).
  credentials: Record<string, unknown> | null;
  // The stored cursor was refused or stale and a full pull was done instead.
  resynced: boolean;
}

// A full pull every time the window's end has moved this far past the end
// the last full pull expanded to: recurring events that did not change do
// not come back in an incremental pull, so their later occurrences would
// otherwise never be seen.
export const HORIZON_SLACK_MS = 7 * 86_400_000;

export class ConnectionClient {
  #tokens: TokenSource | null = null;

  constructor(
    readonly connection: Connection,
    readonly endpoints: Endpoints,
    readonly fetchFn: typeof fetch = fetch,
    readonly sleep?: (ms: number) => Promise<void>,
  ) {}

  get refreshedCredentials(): Record<string, unknown> | null {
    return this.#tokens?.refreshed
      ? { ...this.connection.credentials, ...this.#tokens.tokens }
      : null;
  }

  async pull(cursor: Record<string, unknown> | null, window: SyncWindow): Promise<PullOutcome> {
    const stale = cursor !== null &&
      (typeof cursor.horizonTo !== "string" ||
        window.to.getTime() - Date.parse(cursor.horizonTo) > HORIZON_SLACK_MS);
    let resynced = stale;
    let result: PullResult;
    try {
      result = await this.#pullOnce(stale ? null : cursor, window);
    } catch (e) {
      if (!(e instanceof CursorInvalidError) || cursor === null) throw e;
      resynced = true;
      result = await this.#pullOnce(null, window);
    }
    const horizonTo = result.full || !cursor ? window.to.toISOString() : String(cursor.horizonTo);
    result.cursor = { ...result.cursor, horizonTo };
    return { result, credentials: this.refreshedCredentials, resynced };
  }

  #pullOnce(cursor: Record<string, unknown> | null, window: SyncWindow): Promise<PullResult> {
    const { provider, calendarRef } = this.connection;
    switch (provider) {
      case "google":
        return this.#google().pull(calendarRef, str(cursor?.syncToken), window);
      case "outlook":
        return this.#graph().pull(calendarRef, str(cursor?.deltaLink), window);
      case "caldav":
        return pullCalDav(this.#caldav(), cursor ? caldavCursor(cursor) : null, window);
      case "ics": {
        const url = str(this.connection.credentials?.feed_url) ?? calendarRef;
        const feedCursor: IcsFeedCursor | null = cursor
          ? { etag: str(cursor.etag), lastModified: str(cursor.lastModified) }
          : null;
        return pullIcsFeed(url, feedCursor, window, this.fetchFn);
      }
    }
  }

  // Create or update our meeting in this calendar. A 412 means the event
  // was edited over there: the meeting here is the source of truth, so we
  // write again over the current version. An event deleted over there while
  // the meeting still exists is created again.
  async upsert(event: OutgoingEvent, mapping: PushedEvent | null): Promise<PushedEvent> {
    if (this.connection.provider === "ics") {
      throw new CalendarError("ics", "an ICS feed is read-only; nothing is pushed to it");
    }
    if (!mapping) return await this.#create(event);
    try {
      return await this.#update(event, mapping);
    } catch (e) {
      if (e instanceof NotFoundError) return await this.#create(event);
      if (!(e instanceof PreconditionFailedError)) throw e;
      const current = await this.#currentEtag(mapping.externalId);
      if (current === undefined) return await this.#create(event);
      return await this.#update(event, { externalId: mapping.externalId, etag: current });
    }
  }

  // Ask the provider to notify `webhookUrl` of changes (Google and Outlook
  // only). Answers the channel to store, or null for providers without push.
  async openChannel(
    webhookUrl: string,
    now: Date,
  ): Promise<{ channelId: string; secret: string; expiresAt: string | null } | null> {
    const { provider, calendarRef } = this.connection;
    const secret = randomSecret();
    if (provider === "google") {
      const channelId = crypto.randomUUID();
      const watched = await this.#google().watch(calendarRef, channelId, secret, webhookUrl);
      return { channelId, secret, expiresAt: watched.expiresAt };
    }
    if (provider === "outlook") {
      const sub = await this.#graph().subscribe(
        calendarRef,
        webhookUrl,
        secret,
        new Date(now.getTime() + GRAPH_SUBSCRIPTION_MS),
      );
      return { channelId: sub.id, secret, expiresAt: sub.expiresAt };
    }
    return null;
  }

  // Remove our meeting from this calendar; already gone is fine.
  async remove(mapping: PushedEvent): Promise<void> {
    try {
      await this.#delete(mapping);
    } catch (e) {
      if (e instanceof NotFoundError) return;
      if (!(e instanceof PreconditionFailedError)) throw e;
      const current = await this.#currentEtag(mapping.externalId);
      if (current === undefined) return;
      await this.#delete({ externalId: mapping.externalId, etag: current });
    }
  }

  async #create(event: OutgoingEvent): Promise<PushedEvent> {
    const { provider, calendarRef } = this.connection;
    if (provider === "google") return await this.#google().insert(calendarRef, event);
    if (provider === "outlook") return await this.#graph().create(calendarRef, event);
    const client = this.#caldav();
    const href = new URL(meetingResourceName(event.meetingId), client.collectionUrl).toString();
    try {
      const etag = await client.put(href, meetingToIcs(event), { create: true });
      return { externalId: href, etag };
    } catch (e) {
      // The resource is there already (our mapping was lost): replace it.
      if (!(e instanceof PreconditionFailedError)) throw e;
      const current = await this.#currentEtag(href);
      const etag = await client.put(href, meetingToIcs(event), { etag: current ?? "*" });
      return { externalId: href, etag };
    }
  }

  async #update(event: OutgoingEvent, mapping: PushedEvent): Promise<PushedEvent> {
    const { provider, calendarRef } = this.connection;
    if (provider === "google") {
      return await this.#google().patch(calendarRef, mapping.externalId, event, mapping.etag);
    }
    if (provider === "outlook") {
      return await this.#graph().update(mapping.externalId, event, mapping.etag);
    }
    const etag = await this.#caldav().put(mapping.externalId, meetingToIcs(event), {
      etag: mapping.etag ?? "*",
    });
    return { externalId: mapping.externalId, etag };
  }

  async #delete(mapping: PushedEvent): Promise<void> {
    const { provider, calendarRef } = this.connection;
    if (provider === "google") {
      return await this.#google().delete(calendarRef, mapping.externalId, mapping.etag);
    }
    if (provider === "outlook") return await this.#graph().delete(mapping.externalId, mapping.etag);
    return await this.#caldav().delete(mapping.externalId, mapping.etag);
  }

  // The event's current version tag, or undefined when it is gone.
  async #currentEtag(externalId: string): Promise<string | null | undefined> {
    const { provider, calendarRef } = this.connection;
    try {
      if (provider === "google") return await this.#google().etag(calendarRef, externalId);
      if (provider === "outlook") return await this.#graph().etag(externalId);
      return await this.#caldav().etag(externalId);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  #tokenSource(): TokenSource {
    if (!this.#tokens) {
      const c = this.connection.credentials ?? {};
      if (typeof c.access_token !== "string" || typeof c.refresh_token !== "string") {
        throw new CalendarError(this.connection.provider, "the connection has no OAuth tokens");
      }
      this.#tokens = new TokenSource(
        this.connection.provider,
        c as unknown as OAuthTokens,
        this.connection.provider === "google" ? this.endpoints.google : this.endpoints.microsoft,
        this.fetchFn,
      );
    }
    return this.#tokens;
  }

  #google() {
    return new GoogleCalendarClient(
      this.#tokenSource(),
      this.endpoints.googleApi,
      this.fetchFn,
      this.sleep,
    );
  }

  #graph() {
    return new GraphCalendarClient(
      this.#tokenSource(),
      this.endpoints.graphApi,
      this.fetchFn,
      this.sleep,
    );
  }

  #caldav() {
    const c = this.connection.credentials ?? {};
    return new CalDavClient(
      this.connection.calendarRef,
      { username: str(c.username) ?? "", password: str(c.password) ?? "" },
      this.fetchFn,
    );
  }
}

// Graph limits calendar subscriptions to 4230 minutes; renew before.
const GRAPH_SUBSCRIPTION_MS = 4000 * 60_000;

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replace(/[+/=]/g, "");
}

function str(v: unknown): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}

function caldavCursor(c: Record<string, unknown>): CalDavCursor {
  return {
    syncToken: str(c.syncToken),
    ctag: str(c.ctag),
    etags: (c.etags && typeof c.etags === "object" ? c.etags : {}) as Record<string, string>,
  };
}
