import { changeGoesTo, type RoutingContext, type SiteId, type SyncStorage, type Topology } from '@sitesync/domain';

/**
 * How many records of the feed after `after` go to `siteId` (what its next pulls will bring), read
 * a page at a time. It reads the feed from `after` to its end: cheap from a recent cursor, costly
 * from 0 on a big feed.
 */
export async function countWaiting(
  storage: SyncStorage,
  topology: Topology,
  siteId: SiteId,
  after: bigint,
  context: RoutingContext = {},
  pageSize = 2_000,
): Promise<number> {
  let count = 0;
  let from = after;
  for (;;) {
    const page = await storage.changes.read(from, pageSize);
    for (const change of page) if (changeGoesTo(topology, siteId, change, context)) count += 1;
    if (page.length < pageSize) return count;
    from = page[page.length - 1]!.cursor;
  }
}
