import type { Site, SiteId } from '../site';
import type { Topology } from '../topology';
import type { SiteInfo } from '../ports/services';
import type { SyncStorage } from '../ports/unit-of-work';
import { sitePullState } from './pull-server';

/** The settings key the central sets once a site has pushed anything. */
export function sitePushedKey(siteId: SiteId): string {
  return `site-pushed:${siteId}`;
}

/**
 * Whether the central holds anything of a site's past: it pushed, pulled or completed a sync. A new
 * data file of such a site is a re-initialisation (it must get its own records back). `site` as
 * stored now (`TopologyRepository.site`): its last sync is a connection field.
 */
export async function siteSyncedBefore(storage: SyncStorage, site: Pick<Site, 'id' | 'lastSyncedAt'>): Promise<boolean> {
  if (site.lastSyncedAt !== null) return true;
  if ((await storage.settings.get(sitePushedKey(site.id))) === true) return true;
  return (await sitePullState(storage, site.id)).cursor > 0n;
}

/** What a remote site learns from the central about itself (`syncedBefore`: see `siteSyncedBefore`), and the topology without secrets. */
export function siteInfoFor(topology: Topology, siteId: SiteId, syncedBefore?: boolean): SiteInfo {
  return {
    siteId,
    ...(syncedBefore !== undefined ? { syncedBefore } : {}),
    stores: topology.stores.map((s) => ({ storeId: s.id, syncType: topology.syncTypeOn(s.id, siteId) })).filter((s) => s.syncType !== 'none'),
    omsCentralUrl: topology.omsCentral?.omsCentralUrl ?? null,
    topology: {
      sites: topology.sites.map((s) => ({ ...s, hardwareId: null, failedLoginCount: 0, blocked: false })),
      stores: topology.stores,
    },
  };
}
