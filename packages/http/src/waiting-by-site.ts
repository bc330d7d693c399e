import { WaitingCounts, type CentralTopologySource, type Clock, type SiteId, type SyncStorage, type Topology, type UnitOfWork } from '@sitesync/domain';
import { SyncHttpError } from './error-codes';

const countsByStorage = new WeakMap<UnitOfWork, WaitingCounts>();
const systemClock: Clock = { now: () => new Date() };

/**
 * The waiting counts kept for this storage (made on first use: one per central storage in this
 * process, in memory; see `WaitingCounts`). The app makes them with its clock.
 */
export function waitingCountsFor(storage: UnitOfWork, clock: Clock = systemClock): WaitingCounts {
  let counts = countsByStorage.get(storage);
  if (!counts) countsByStorage.set(storage, (counts = new WaitingCounts(clock)));
  return counts;
}

/**
 * How many records wait for each site but the central after the cursor of its last pull, its
 * resync queue included (what `waitingFor` answers), read in one unit of work: what
 * `GET /admin/v1/sites` lists as `waiting` and the `sitesync_records_waiting` gauge shows. Kept
 * incrementally by the storage's `WaitingCounts`: no scan of the feed per site and request.
 */
export function waitingBySite(storage: UnitOfWork, topology: Topology): Promise<ReadonlyMap<SiteId, number>> {
  const counts = waitingCountsFor(storage);
  return storage.run((s: SyncStorage) => counts.count(s, topology));
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
