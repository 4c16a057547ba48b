// A CalDAV collection as a pull: what changed (sync-collection, or the
// ctag/etag fallback), each changed resource parsed and expanded on its own
// so one unreadable resource never hides the others.
import { type CalDavClient, type CalDavCursor } from "./caldav.ts";
import { IcsError, importIcs } from "./ics.ts";
import type { PullResult, SkippedEvent, SyncWindow } from "./types.ts";

export async function pullCalDav(
  client: CalDavClient,
  cursor: CalDavCursor | null,
  window: SyncWindow,
): Promise<PullResult & { method: string }> {
  const changes = await client.changesSince(cursor);
  const skipped: SkippedEvent[] = [];
  const items = changes.changed.map((resource) => {
    try {
      const imported = importIcs(resource.data, {
        timeZone: window.timeZone,
        from: window.from,
        to: window.to,
      });
      skipped.push(
        ...imported.skipped.map((s) => ({ ...s, externalId: s.externalId ?? resource.href })),
      );
      return { itemId: resource.href, etag: resource.etag, busy: imported.busy };
    } catch (e) {
      if (!(e instanceof IcsError)) throw e;
      skipped.push({ externalId: resource.href, reason: e.message });
      return { itemId: resource.href, etag: resource.etag, busy: [] };
    }
  });
  return {
    full: changes.full,
    items,
    removedItems: changes.removed,
    skipped,
    cursor: { ...changes.cursor },
    unchanged: changes.method === "unchanged",
    method: changes.method,
  };
}
