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
  private constructor(
    readonly storage: SqliteSyncStorage,
    readonly service: CentralService,
    private readonly database: Database.Database,
  ) {}

  static async open(file: string, clock: Clock): Promise<OmsCentralHub> {
    const database = new Database(file);
    if (file !== ':memory:') chmodSync(file, 0o600);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('busy_timeout = 5000');
    const storage = await openSqliteSyncStorage(database);
    const service = new CentralService({ unitOfWork: storage, clock, topologies: new TopologyCache(storage, clock), channel: 'oms-central' });
    return new OmsCentralHub(storage, service, database);
  }

  /**
   * Takes the topology the site learnt from the mSupply central (a change applied like one on the
   * central: what it widens or narrows for each site is queued to it); nothing when it is the same.
   */
  async adopt(topology: Topology): Promise<void> {
    const held = (await this.storage.storage.topology.version()) === 0n ? null : await this.service.topologies.load();
    if (!held) {
      await this.storage.run((s) => s.topology.save(topology));
      return;
    }
    if (shapeOf(held) === shapeOf(topology)) return;
    await this.service.changeTopology(async () => ({ next: topology, value: null }));
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
