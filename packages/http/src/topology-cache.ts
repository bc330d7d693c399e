import {
  saveTopologyChange,
  type CentralTopologySource,
  type Clock,
  type ScopeChangeReport,
  type TopologyChange,
  type SyncStorage,
  type Topology,
  type UnitOfWork,
} from '@sitesync/domain';
import { SyncHttpError } from './error-codes';

function notInitialised(): SyncHttpError {
  return SyncHttpError.of(
    'not_initialised',
    'The central has no sites or stores yet. Initialise it first (create the central site and the topology), then add sites and stores.',
  );
}

/**
 * The central's topology, kept in memory with the version it was saved under, and checked against
 * the stored version on every read: a change saved by another central process on the same database
 * is seen at the next read. Changes (`change`, `exclusive`) each run in one unit of work that holds
 * the topology lock in the database (`TopologyRepository.lock`) and read the topology there, so they
 * run one at a time across processes and never save over another's change; the cache only follows.
 */
export class TopologyCache implements CentralTopologySource {
  private cached: { readonly topology: Topology; readonly version: bigint } | null = null;

  constructor(
    private readonly storage: UnitOfWork & { readonly storage: SyncStorage },
    private readonly clock: Clock,
  ) {}

  load(): Promise<Topology> {
    return this.current(this.storage.storage);
  }

  /** The topology of the stored version as `storage` reads it now (inside a unit of work: as of its reads so far). */
  async current(storage: SyncStorage): Promise<Topology> {
    for (let tries = 1; ; tries++) {
      const version = await storage.topology.version();
      if (this.cached && this.cached.version === version) return this.cached.topology;
      const topology = await storage.topology.load();
      if (topology === null) throw notInitialised();
      // sites and stores are read by two statements: a change committed in between (by any
      // process) shows as a new version, and the topology is read again rather than mixed
      if ((await storage.topology.version()) !== version && tries < 5) continue;
      this.remember(topology, version);
      return topology;
    }
  }

  /** The topology this process last read, without asking the database (null before the first read): for a label, or a lookup checked against the stored row after (a login's site by name). */
  lastKnown(): Topology | null {
    return this.cached?.topology ?? null;
  }

  async fresh(): Promise<Topology> {
    const topology = await this.storage.storage.topology.load();
    if (topology === null) throw notInitialised();
    return topology;
  }

  /**
   * Changes the whole topology: saves it and queues to every site the records whose routing there
   * changed (`saveTopologyChange`), in one unit of work holding the topology lock.
   */
  async change<T>(change: TopologyChange<T>): Promise<{ readonly value: T; readonly scope: ScopeChangeReport | null }> {
    let scope: ScopeChangeReport | null = null;
    const value = await this.locked(async (topology, s) => {
      const changed = await change(topology, s);
      if (changed.next !== null) scope = await saveTopologyChange(s, topology, changed.next, this.clock.now());
      return changed;
    });
    return { value, scope };
  }

  /** Runs `work` holding the topology lock, in its unit of work; `work` saves what it changed itself and returns the topology to keep, or null. */
  exclusive<T>(work: TopologyChange<T>): Promise<T> {
    return this.locked(work);
  }

  private async locked<T>(work: TopologyChange<T>): Promise<T> {
    const { value, saved } = await this.storage.run(async (s) => {
      await s.topology.lock();
      // read under the lock, every field as stored: what this change saves is built on it
      const before = await s.topology.version();
      const topology = await s.topology.load();
      if (topology === null) throw notInitialised();
      const { next, value } = await work(topology, s);
      const after = await s.topology.version();
      // kept only when it was saved (the version moved under the lock: this very topology)
      return { value, saved: next !== null && after !== before ? { topology: next, version: after } : null };
    });
    if (saved !== null) this.remember(saved.topology, saved.version);
    return value;
  }

  private remember(topology: Topology, version: bigint): void {
    if (!this.cached || version > this.cached.version) this.cached = { topology, version };
  }
}
