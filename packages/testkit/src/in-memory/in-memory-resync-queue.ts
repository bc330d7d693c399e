import type { RecordKeyOf, ResyncEntry, ResyncQueue, SiteId } from '@sitesync/domain';

/** One site's resync queue: the last number handed out, and JSON [type, id] -> the entry's number. */
export interface InMemoryResyncState {
  last: bigint;
  entries: Map<string, bigint>;
}

/** The state this port keeps (a part of `InMemoryState`). */
interface QueueState {
  resync: Map<SiteId, InMemoryResyncState>;
}

export class InMemoryResyncQueue implements ResyncQueue {
  constructor(private readonly state: QueueState) {}

  enqueue(siteId: SiteId, keys: readonly RecordKeyOf[]): Promise<void> {
    let queue = this.state.resync.get(siteId);
    if (!queue) this.state.resync.set(siteId, (queue = { last: 0n, entries: new Map() }));
    for (const { type, id } of keys) {
      const key = JSON.stringify([type, id]);
      queue.entries.delete(key);
      queue.last += 1n;
      queue.entries.set(key, queue.last);
    }
    return Promise.resolve();
  }

  read(siteId: SiteId, after: bigint, limit: number): Promise<readonly ResyncEntry[]> {
    return Promise.resolve(this.after(siteId, after).slice(0, Math.max(0, Math.floor(limit))));
  }

  count(siteId: SiteId, after: bigint): Promise<number> {
    return Promise.resolve(this.after(siteId, after).length);
  }

  acknowledge(siteId: SiteId, upTo: bigint): Promise<void> {
    const queue = this.state.resync.get(siteId);
    if (queue) for (const [key, seq] of queue.entries) if (seq <= upTo) queue.entries.delete(key);
    return Promise.resolve();
  }

  pendingBySite(): Promise<ReadonlyMap<SiteId, number>> {
    const out = new Map<SiteId, number>();
    for (const [siteId, queue] of this.state.resync) if (queue.entries.size > 0) out.set(siteId, queue.entries.size);
    return Promise.resolve(out);
  }

  private after(siteId: SiteId, after: bigint): ResyncEntry[] {
    const queue = this.state.resync.get(siteId);
    if (!queue) return [];
    const out: ResyncEntry[] = [];
    for (const [key, seq] of queue.entries) {
      if (seq <= after) continue;
      const [type, id] = JSON.parse(key) as [string, string];
      out.push({ seq, type, id });
    }
    // entries are kept in the order they were (re)queued, which is their number order
    return out;
  }
}
