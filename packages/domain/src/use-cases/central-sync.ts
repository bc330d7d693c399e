import type { SiteId } from '../site';
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
 * data file of such a site is a re-initialisation (it must get its own records back).
 */
export async function siteSyncedBefore(storage: SyncStorage, topology: Topology, siteId: SiteId): Promise<boolean> {
  if ((topology.site(siteId)?.lastSyncedAt ?? null) !== null) return true;
  if ((await storage.settings.get(sitePushedKey(siteId))) === true) return true;
  return (await sitePullState(storage, siteId)).cursor > 0n;
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
