import type { SiteId, SyncRecord, Topology } from '@sitesync/domain';
import { createInMemoryStorage, InMemoryCentralSyncGateway, ManualClock, type InMemoryStorage } from '@sitesync/testkit';

const PUSH = 'push';
const PULL = 'pull-from-central';

/** A remote site in the simulation: its own storage and its gateway to the in-memory central. */
export interface SimulatedSite {
  readonly siteId: SiteId;
  readonly storage: InMemoryStorage;
  readonly gateway: InMemoryCentralSyncGateway;
}

/** A central and its remote sites, all in memory, with a minimal push-then-pull cycle. */
export function simulate(topology: Topology, remoteIds: readonly SiteId[]) {
  const clock = new ManualClock();
  const central = createInMemoryStorage();
  const remotes = new Map<SiteId, SimulatedSite>(
    remoteIds.map((siteId) => [
      siteId,
      { siteId, storage: createInMemoryStorage(), gateway: new InMemoryCentralSyncGateway(central, topology, siteId, { clock }) },
    ]),
  );
  const site = (id: SiteId): SimulatedSite => {
    const s = remotes.get(id);
    if (!s) throw new Error(`no simulated site ${id}`);
    return s;
  };

  /** One cycle of a remote: push its own changes, then pull until nothing remains. */
  async function sync(siteId: SiteId): Promise<void> {
    const { storage, gateway } = site(siteId);
    const { changes } = storage.storage;
    const after = await changes.cursorOf(PUSH);
    const outgoing = (await changes.read(after, 10_000)).filter((c) => !c.viaSync);
    const head = await changes.head();
    if (outgoing.length > 0)
      await gateway.push(
        `site-${siteId}-${after}`,
        outgoing.map((c) => c.record),
      );
    if (head > after) await changes.advance(PUSH, head);
    for (;;) {
      const cursor = await changes.cursorOf(PULL);
      const pulled = await gateway.pull(cursor, 50);
      await storage.run(async (s) => {
        if (pulled.records.length > 0) await s.records.upsert(pulled.records, { sourceSiteId: topology.central.id, viaSync: true });
        // the push cursor moves past what was pulled: received records are never pushed back
        await s.changes.advance(PUSH, await s.changes.head());
        if (pulled.nextCursor > cursor) await s.changes.advance(PULL, pulled.nextCursor);
      });
      if (pulled.remaining === 0) return;
    }
  }

  async function recordsOf(storage: InMemoryStorage, type: string): Promise<SyncRecord[]> {
    return [...(await storage.storage.records.list(type, { limit: 10_000 }))];
  }

  return { clock, central, site, sync, recordsOf };
}
