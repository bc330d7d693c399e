import type { Site, SiteId } from '../site';
import type { Topology } from '../topology';

/** Sites, stores and copy types, and the site password hashes (which no read ever returns with a site). */
export interface TopologyRepository {
  /** The saved topology; a fresh installation has none yet. Stored data that breaks a rule throws. */
  load(): Promise<Topology | null>;
  /** Replaces the saved topology (it is small: sites and stores), and moves its version on. */
  save(topology: Topology): Promise<void>;
  /**
   * The saved topology's version: 0 before the first save, then one more on every `save` (not on
   * `saveSite`). A process that keeps the topology in memory compares it to know it is current.
   */
  version(): Promise<bigint>;
  /**
   * Replaces one saved site, for the fields that change on every login and sync (failed-login
   * count, blocked, hardware id, app version, last sync) without rewriting the whole topology.
   * The caller passes a site of a valid topology (`Topology.updateSite`).
   */
  saveSite(site: Site): Promise<void>;
  passwordHash(siteId: SiteId): Promise<string | null>;
  setPasswordHash(siteId: SiteId, hash: string): Promise<void>;
}
