import type { Topology, TopologyRepository } from '@sitesync/domain';
import { AsyncMutex } from './async-mutex';
import { SyncHttpError } from './error-codes';

/**
 * The central's topology, loaded once and kept: this process is the only writer (one central
 * process per database), and every change goes through `change` or `update`, which keep it.
 */
export class TopologyCache {
  private readonly lock = new AsyncMutex();
  private cached: Topology | null = null;

  constructor(private readonly repository: TopologyRepository) {}

  async load(): Promise<Topology> {
    const topology = this.cached ?? (this.cached = await this.repository.load());
    if (topology === null) {
      throw SyncHttpError.of(
        'not_initialised',
        'The central has no sites or stores yet. Initialise it first (create the central site and the topology), then add sites and stores.',
      );
    }
    return topology;
  }

  /** Loads, changes and saves the whole topology, one change at a time in this process. */
  change<T>(change: (topology: Topology) => Promise<{ readonly next: Topology | null; readonly value: T }>): Promise<T> {
    return this.exclusive(async (topology) => {
      const changed = await change(topology);
      if (changed.next !== null) await this.repository.save(changed.next);
      return changed;
    });
  }

  /**
   * Runs `work` under the same lock as `change`; `work` saves what it changed itself (one site, or
   * the topology with other writes in one unit of work) and returns the topology to keep, or null.
   */
  exclusive<T>(work: (topology: Topology) => Promise<{ readonly next: Topology | null; readonly value: T }>): Promise<T> {
    return this.lock.run(async () => {
      const { next, value } = await work(await this.load());
      if (next !== null) this.cached = next;
      return value;
    });
  }
}
