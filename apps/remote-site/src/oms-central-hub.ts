import { createHash } from 'node:crypto';
import {
  CentralService,
  withoutConnectionFields,
  type CentralSyncGateway,
  type Clock,
  type PullRequest,
  type SiteId,
  type SiteInfo,
  type SyncRecord,
  type Topology,
} from '@sitesync/domain';
import { TopologyCache } from '@sitesync/http';
import { openSqliteSyncStorage, type SqliteSyncStorage } from '@sitesync/sqlite';
import Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import type { RemoteSite } from './remote-site';

/** Where the server keeps the version of the topology it took from the mSupply central (null: taken from its site's file). */
const TOPOLOGY_VERSION_SETTING = 'oms-central.topology-version';

/** The topology the mSupply central tells the Open mSupply central site (`topology` null: still the one of `heldVersion`). */
export type CentralTopologyFetch = (heldVersion: string | null) => Promise<{ readonly topology: Topology | null; readonly version: string | null }>;

/** The file beside a site's data file that holds its Open mSupply central server's feed. */
export function omsCentralFileOf(dataFile: string): string {
  return dataFile === ':memory:' ? ':memory:' : `${dataFile}.oms-central`;
}

/**
 * What the Open mSupply central server keeps apart from its site's own data file: the Open mSupply
 * data every site pushed to it, in a feed of its own (the central's storage adapter on SQLite), and
 * the topology it learnt from the mSupply central. `service` is the central application service
 * over it, for the Open mSupply data types only (`channel: 'oms-central'`): the same push checks,
 * rules, routing, resync queue and pull as the mSupply central's.
 */
export class OmsCentralHub {
  private refreshing: Promise<void> | null = null;

  private constructor(
    readonly storage: SqliteSyncStorage,
    readonly service: CentralService,
    private readonly database: Database.Database,
    private readonly source: CentralTopologyFetch | null,
  ) {}

  /** The server of the site `site`, whose data file is `dataFile`: its topology asked from the mSupply central with the site's credentials. */
  static forSite(site: RemoteSite, dataFile: string): Promise<OmsCentralHub> {
    return OmsCentralHub.open(omsCentralFileOf(dataFile), { now: () => new Date() }, (held) => site.centralTopology(held));
  }

  /** `source`: asks the mSupply central for the topology it tells this site (`refresh`); without it, only `adopt` gives it one. */
  static async open(file: string, clock: Clock, source: CentralTopologyFetch | null = null): Promise<OmsCentralHub> {
    const database = new Database(file);
    if (file !== ':memory:') chmodSync(file, 0o600);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('busy_timeout = 5000');
    const storage = await openSqliteSyncStorage(database);
    let hub: OmsCentralHub | null = null;
    const service = new CentralService({
      unitOfWork: storage,
      clock,
      topologies: new TopologyCache(storage, clock),
      channel: 'oms-central',
      ...(source ? { refreshTopology: () => hub?.refresh() ?? Promise.resolve() } : {}),
    });
    hub = new OmsCentralHub(storage, service, database, source);
    return hub;
  }

  /**
   * Takes the topology the site learnt from the mSupply central (a change applied like one on the
   * central: what it widens or narrows for each site is queued to it); nothing when it is the same.
   */
  async adopt(topology: Topology, version: string | null = null): Promise<void> {
    const held = (await this.storage.storage.topology.version()) === 0n ? null : await this.service.topologies.load();
    if (!held) await this.storage.run((s) => s.topology.save(topology));
    else if (shapeOf(held) !== shapeOf(topology)) await this.service.changeTopology(async () => ({ next: topology, value: null }));
    if ((await this.storage.storage.settings.get(TOPOLOGY_VERSION_SETTING)) !== version) {
      await this.storage.run((s) => s.settings.set(TOPOLOGY_VERSION_SETTING, version));
    }
  }

  /**
   * Takes the topology the mSupply central tells this site now (only when it changed since the one
   * held): before every push, so a site's records of a store it was just given are checked on the
   * topology that gives it, never refused for a topology this server had not learnt yet. Calls made
   * while one is in progress share it. Throws when the mSupply central cannot be asked.
   */
  refresh(): Promise<void> {
    this.refreshing ??= this.refreshOnce().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    if (!this.source) throw new Error('this Open mSupply central server has no way to ask the mSupply central');
    const heldVersion = (await this.storage.storage.topology.version()) === 0n ? null : await this.storage.storage.settings.get(TOPOLOGY_VERSION_SETTING);
    const answer = await this.source(typeof heldVersion === 'string' ? heldVersion : null);
    if (answer.topology) await this.adopt(answer.topology, answer.version);
  }

  /** The Open mSupply central site's own exchange with its server, in this process (no HTTP, no credentials). */
  gatewayFor(siteId: SiteId): CentralSyncGateway {
    const service = this.service;
    return {
      siteInfo(): Promise<SiteInfo> {
        throw new Error('the Open mSupply central server takes its topology from the mSupply central');
      },
      async push(batchId: string, records: readonly SyncRecord[], options: { readonly more?: boolean } = {}) {
        const digest = createHash('sha256').update(JSON.stringify(records), 'utf8').digest('base64');
        return service.push(siteId, { id: batchId, digest, records }, undefined, options.more === true ? { more: true } : {});
      },
      pull(cursor: bigint, limit: number, options: Omit<PullRequest, 'cursor' | 'limit'> = {}) {
        return service.pull(siteId, { ...options, cursor, limit });
      },
    };
  }

  async close(): Promise<void> {
    this.service.close();
    await this.storage.destroy();
    this.database.close();
  }
}

function shapeOf(topology: Topology): string {
  return JSON.stringify({ sites: topology.sites.map(withoutConnectionFields), stores: topology.stores });
}
