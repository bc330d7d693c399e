import { hasRole, waitingFor, type CentralTopologySource, type SiteId, type SyncStorage, type Topology, type UnitOfWork } from '@sitesync/domain';
import { SyncHttpError } from './error-codes';

/**
 * How many records wait for each site but the central after the cursor of its last pull, its
 * resync queue included (`waitingFor`), read in one unit of work: what `GET /admin/v1/sites` lists
 * as `waiting` and the `sitesync_records_waiting` gauge shows.
 */
export function waitingBySite(storage: UnitOfWork, topology: Topology): Promise<ReadonlyMap<SiteId, number>> {
  return storage.run(async (s: SyncStorage) => {
    const counts = new Map<SiteId, number>();
    for (const site of topology.sites) if (!hasRole(site, 'central')) counts.set(site.id, await waitingFor(s, topology, site.id));
    return counts;
  });
}

/** `waitingBySite` over the topology the central knows now; no site before it has one (so that an uninitialised central can be scraped). */
export function waitingBySiteOf(storage: UnitOfWork, topologies: CentralTopologySource): () => Promise<ReadonlyMap<SiteId, number>> {
  return async () => {
    let topology: Topology;
    try {
      topology = await topologies.load();
    } catch (error) {
      if (error instanceof SyncHttpError && error.code === 'not_initialised') return new Map();
      throw error;
    }
    return waitingBySite(storage, topology);
  };
}
