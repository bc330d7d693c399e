import {
  decideEdit,
  decideReceipt,
  type CentralSyncGateway,
  type Change,
  type Clock,
  type PullResult,
  type PushResult,
  type RefusedRecord,
  type RoutingContext,
  type SiteId,
  type SiteInfo,
  type SyncRecord,
  type SyncStorage,
  type Topology,
  type UnitOfWork,
} from '@sitesync/domain';
import { deepCopy } from './deep-copy';

/** What the gateway needs of the central's storage: an `InMemoryStorage` fits. */
export type InMemoryCentral = UnitOfWork & { readonly storage: SyncStorage };

export interface InMemoryCentralSyncGatewayOptions {
  /** stamps the quarantine issues; the system clock when absent */
  readonly clock?: Clock;
  /** how many changes `pull` reads from the central's feed at a time (default 100) */
  readonly feedPageSize?: number;
}

const systemClock: Clock = { now: () => new Date() };

/** The issue-log key under which the central keeps a record it refused from a site. */
export function quarantineKey(siteId: SiteId, record: Pick<SyncRecord, 'type' | 'id'>): string {
  return `quarantine:${siteId}:${record.type}:${record.id}`;
}

/**
 * The central, in process, as one remote site sees it: for tests of the remote side of sync
 * without a network. It applies the central's rules to what the site pushes (the ownership rules:
 * a refused record is quarantined in the central's issue log, the rest of the batch is accepted)
 * and to what it pulls (the routing rules, never echoing a site's own changes back to it).
 */
export class InMemoryCentralSyncGateway implements CentralSyncGateway {
  /** batch id -> the result already given, returned again on a replay without writing anything */
  private readonly pushed = new Map<string, PushResult>();
  private readonly clock: Clock;
  private readonly feedPageSize: number;

  constructor(
    private readonly central: InMemoryCentral,
    private readonly topology: Topology,
    private readonly siteId: SiteId,
    private readonly context: RoutingContext = {},
    options: InMemoryCentralSyncGatewayOptions = {},
  ) {
    if (!topology.site(siteId)) throw new Error(`InMemoryCentralSyncGateway: site ${siteId} is not in the topology`);
    this.clock = options.clock ?? systemClock;
    this.feedPageSize = Math.max(1, Math.floor(options.feedPageSize ?? 100));
  }

  siteInfo(): Promise<SiteInfo> {
    const stores = this.topology.stores
      .map((store) => ({ storeId: store.id, syncType: this.topology.syncTypeOn(store.id, this.siteId) }))
      .filter((s) => s.syncType !== 'none');
    return Promise.resolve({ siteId: this.siteId, stores, omsCentralUrl: this.topology.omsCentral?.omsCentralUrl ?? null });
  }

  async push(batchId: string, records: readonly SyncRecord[]): Promise<PushResult> {
    const result = await this.central.run(async (storage) => {
      // Checked inside the unit of work: units of work are serialized, so two pushes of one batch
      // cannot both get past it.
      const previous = this.pushed.get(batchId);
      if (previous) return previous;
      const at = this.clock.now();
      const accepted: SyncRecord[] = [];
      const refused: RefusedRecord[] = [];
      for (const record of records) {
        const decision = decideEdit(this.topology, this.siteId, record);
        const key = quarantineKey(this.siteId, record);
        if (decision.ok) {
          accepted.push(record);
          // The record is accepted now (the topology changed, or the site fixed it): its quarantine is over.
          await storage.issues.resolve(key);
        } else {
          const { code, message, fix } = decision.error;
          refused.push({ recordType: record.type, recordId: record.id, code, message, fix });
          await storage.issues.report(key, decision.error, at);
        }
      }
      if (accepted.length > 0) await storage.records.upsert(accepted, { sourceSiteId: this.siteId, viaSync: true });
      const pushResult: PushResult = { batchId, accepted: accepted.length, refused };
      // Last: if anything above throws, the batch is not remembered and a retry runs it again.
      this.pushed.set(batchId, pushResult);
      return pushResult;
    });
    return deepCopy(result);
  }

  async pull(cursor: bigint, limit: number): Promise<PullResult> {
    const wanted = Math.max(0, Math.floor(limit));
    // In a unit of work only to read a consistent feed (units of work are serialized); it writes nothing.
    return this.central.run(async (storage) => {
      const records: SyncRecord[] = [];
      let nextCursor = cursor;
      let remaining = 0;
      let after = cursor;
      for (;;) {
        const page = await storage.changes.read(after, this.feedPageSize);
        for (const change of page) {
          if (records.length < wanted) {
            nextCursor = change.cursor;
            if (this.receives(change)) records.push(change.record);
          } else if (this.receives(change)) {
            remaining += 1;
          }
        }
        const last = page[page.length - 1];
        if (last === undefined || page.length < this.feedPageSize) break;
        after = last.cursor;
      }
      return { records, nextCursor, remaining };
    });
  }

  /** Does this site get the change: not its own, and routed to it by the rules. */
  private receives(change: Change): boolean {
    if (change.sourceSiteId === this.siteId) return false;
    const decision = decideReceipt(this.topology, this.siteId, change.record, this.context);
    return decision.ok && decision.value.receives;
  }
}
