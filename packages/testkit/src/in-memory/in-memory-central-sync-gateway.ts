import {
  acceptPush,
  PullServer,
  siteInfoFor,
  siteSyncedBefore,
  type CentralSyncGateway,
  type Clock,
  type PullRequest,
  type PullResult,
  type PushOutcome,
  type SiteId,
  type SiteInfo,
  type SyncRecord,
  type SyncChannel,
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
  /** the data this central syncs: `central` (default) or the Open mSupply central server's types */
  readonly channel?: SyncChannel;
}

const systemClock: Clock = { now: () => new Date() };

/**
 * The central, in process, as one remote site sees it: for tests of the remote side of sync without
 * a network. It runs the central's own use cases (`acceptPush`, `PullServer`, `siteInfoFor`), as the
 * HTTP API does, each in one unit of work of the central's storage.
 */
export class InMemoryCentralSyncGateway implements CentralSyncGateway {
  private readonly clock: Clock;
  private readonly pulls: PullServer;
  private readonly channel: SyncChannel;

  /**
   * `topology`: the central's topology, fixed; or `'stored'`: the topology saved in the central's
   * storage, read on every call (for tests that change it while sites sync).
   */
  constructor(
    private readonly central: InMemoryCentral,
    private readonly topology: Topology | 'stored',
    private readonly siteId: SiteId,
    options: InMemoryCentralSyncGatewayOptions = {},
  ) {
    if (topology !== 'stored' && !topology.site(siteId)) throw new Error(`InMemoryCentralSyncGateway: site ${siteId} is not in the topology`);
    this.clock = options.clock ?? systemClock;
    this.channel = options.channel ?? 'central';
    this.pulls = new PullServer(Math.max(1, Math.floor(options.feedPageSize ?? 100)));
  }

  private async topologyIn(storage: SyncStorage): Promise<Topology> {
    if (this.topology !== 'stored') return this.topology;
    const stored = await storage.topology.load();
    if (!stored) throw new Error('InMemoryCentralSyncGateway: the central has no saved topology');
    return stored;
  }

  async siteInfo(): Promise<SiteInfo> {
    return deepCopy(
      await this.central.run(async (storage) => {
        const topology = await this.topologyIn(storage);
        const site = (await storage.topology.site(this.siteId)) ?? topology.site(this.siteId)!;
        return siteInfoFor(topology, this.siteId, await siteSyncedBefore(storage, site));
      }),
    );
  }

  async push(batchId: string, records: readonly SyncRecord[]): Promise<PushOutcome> {
    // The records as JSON are their digest here: exact, and no hashing library in the testkit.
    const batch = { id: batchId, digest: JSON.stringify(records), records };
    const result = await this.central.run(async (storage) =>
      acceptPush(storage, await this.topologyIn(storage), this.siteId, batch, this.clock.now(), this.channel),
    );
    return deepCopy(result);
  }

  async pull(cursor: bigint, limit: number, options: Pick<PullRequest, 'queueCursor' | 'reinitialising' | 'unpushed'> = {}): Promise<PullResult> {
    const request: PullRequest = { cursor, limit: Math.max(0, Math.floor(limit)), ...options };
    const result = await this.central.run(async (storage) => {
      const pulled = await this.pulls.pull(storage, (s) => this.topologyIn(s), this.siteId, request);
      // as the central's HTTP API does: a site that drained its pull has synced (remotes read it to know a new file is a re-initialisation)
      if (pulled.remaining === 0 && this.topology === 'stored') {
        await storage.topology.updateSite(this.siteId, { lastSyncedAt: this.clock.now() });
      }
      return pulled;
    });
    return deepCopy(result);
  }
}
