import type { Site, SiteId } from '../site';
import type { Topology } from '../topology';

/**
 * The fields of a site that its own logins and syncs write (`TopologyRepository.updateSite`), apart
 * from the topology: they move no version, and no routing rule reads them.
 */
export const SITE_CONNECTION_FIELDS = ['failedLoginCount', 'blocked', 'hardwareId', 'appName', 'appVersion', 'lastSyncedAt', 'lastConnectedAt'] as const;
export type SiteConnectionField = (typeof SITE_CONNECTION_FIELDS)[number];
export type SiteConnectionUpdate = Partial<Pick<Site, SiteConnectionField>>;

/** Only the connection fields of `site` (what a login decided, say), for `updateSite`. */
export function connectionFieldsOf(site: Site): SiteConnectionUpdate {
  const out: Record<string, unknown> = {};
  for (const field of SITE_CONNECTION_FIELDS) if (site[field] !== undefined) out[field] = site[field];
  return out as SiteConnectionUpdate;
}

/** `site` with its connection fields at their defaults (what a new site has): the site as the topology alone decides it. */
export function withoutConnectionFields(site: Site): Site {
  return { ...site, failedLoginCount: 0, blocked: false, hardwareId: null, appName: null, appVersion: null, lastSyncedAt: null, lastConnectedAt: null };
}

/**
 * Sites, stores and copy types, and the site password hashes (which no read ever returns with a site).
 *
 * Several central processes may share one database: nothing here relies on process memory. A
 * topology change runs in one unit of work that first calls `lock`, then reads, changes and saves
 * the topology; a login or sync writes only a site's connection fields (`updateSite`, which `save`
 * never overwrites), and a decision taken on a site it read (a login) is written only if those
 * fields are still as read (`ifUnchanged`), so no write overwrites another's.
 */
export interface TopologyRepository {
  /** The saved topology; a fresh installation has none yet. Stored data that breaks a rule throws. */
  load(): Promise<Topology | null>;
  /**
   * Replaces the saved topology (it is small: sites and stores), and moves its version on. A site
   * that was saved before keeps its stored connection fields: only `updateSite` writes those, so a
   * topology change never undoes a login or sync that wrote one after the change read the topology.
   */
  save(topology: Topology): Promise<void>;
  /**
   * The saved topology's version: 0 before the first save, then one more on every `save` (not on
   * `updateSite`). A process that keeps the topology in memory compares it to know it is current.
   */
  version(): Promise<bigint>;
  /**
   * In a unit of work, before a topology change reads the topology: waits until no other unit of
   * work holds it, and holds it until this one ends (a lock in the database where several processes
   * may share it; nothing to do where one process owns the storage).
   */
  lock(): Promise<void>;
  /** One saved site as stored now, every field included (null: no such site). */
  site(siteId: SiteId): Promise<Site | null>;
  /**
   * Writes the connection fields given (failed-login count, blocked, hardware id, app, last connection
   * and sync) of one saved site, leaving every other field, and the topology's version, as they are.
   * With `ifUnchanged`, only if those fields are stored with exactly those values (a compare-and-set:
   * a login decided on the site as it read it). False, and nothing written, when there is no such
   * site (deleted meanwhile) or a field of `ifUnchanged` differs.
   */
  updateSite(siteId: SiteId, fields: SiteConnectionUpdate, options?: { readonly ifUnchanged?: SiteConnectionUpdate }): Promise<boolean>;
  passwordHash(siteId: SiteId): Promise<string | null>;
  setPasswordHash(siteId: SiteId, hash: string): Promise<void>;
}
