import {
  saveTopologyChange,
  type CentralTopologySource,
  type Clock,
  type ScopeChangeReport,
  type SyncStorage,
  type Topology,
  type UnitOfWork,
} from '@sitesync/domain';
import { AsyncMutex } from './async-mutex';
import { SyncHttpError } from './error-codes';

function notInitialised(): SyncHttpError {
  return SyncHttpError.of(
    'not_initialised',
    'The central has no sites or stores yet. Initialise it first (create the central site and the topology), then add sites and stores.',
  );
}

/**
 * The central's topology, kept in memory with the version it was saved under. Changes go through
 * `change` (the topology and what the change means for data, in one unit of work) or `exclusive`,
 * one at a time in this process; pulls ask `current`, which compares the stored version and
 * reloads when another unit of work changed it.
 */
export class TopologyCache implements CentralTopologySource {
  private readonly lock = new AsyncMutex();
  private cached: { readonly topology: Topology; readonly version: bigint } | null = null;

  constructor(
    private readonly storage: UnitOfWork & { readonly storage: SyncStorage },
    private readonly clock: Clock,
  ) {}

  async load(): Promise<Topology> {
    if (this.cached) return this.cached.topology;
    return this.current(this.storage.storage);
  }

  /** The topology as current as what `storage` reads now (inside a unit of work: as of its reads so far). */
  async current(storage: SyncStorage): Promise<Topology> {
    const version = await storage.topology.version();
    if (this.cached && this.cached.version === version) return this.cached.topology;
    const topology = await storage.topology.load();
    if (topology === null) throw notInitialised();
    if (!this.cached || version > this.cached.version) this.cached = { topology, version };
    return topology;
  }

  /**
   * Changes the whole topology, one change at a time in this process: saves it and queues to every
   * site the records whose routing there changed (`saveTopologyChange`), in one unit of work.
   */
  async change<T>(
    change: (topology: Topology) => Promise<{ readonly next: Topology | null; readonly value: T }>,
  ): Promise<{ readonly value: T; readonly scope: ScopeChangeReport | null }> {
    let scope: ScopeChangeReport | null = null;
    const value = await this.exclusive(async (topology) => {
      const changed = await change(topology);
      const { next } = changed;
      if (next !== null) scope = await this.storage.run((s) => saveTopologyChange(s, topology, next, this.clock.now()));
      return changed;
    });
    return { value, scope };
  }

  /**
   * Runs `work` under the same lock as `change`; `work` saves what it changed itself (one site, or
   * the topology with other writes in one unit of work) and returns the topology to keep, or null.
   */
  exclusive<T>(work: (topology: Topology) => Promise<{ readonly next: Topology | null; readonly value: T }>): Promise<T> {
    return this.lock.run(async () => {
      const { next, value } = await work(await this.load());
      if (next !== null) this.cached = { topology: next, version: await this.storage.storage.topology.version() };
      return value;
    });
  }
}
