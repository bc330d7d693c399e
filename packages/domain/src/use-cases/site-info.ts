import type { SiteInfo } from '../ports/services';
import { siteFromInput, type Site, type SiteId } from '../site';
import type { Store } from '../store';
import type { Topology } from '../topology';
import { siteInfoFor } from './central-sync';
import { withoutConnectionFields } from '../ports/topology-repository';

/**
 * What a remote site is told about the sites and stores (`GET /sync/v1/site`): only what its own
 * rules read, never another site's credentials or whereabouts (site names are half of the sync
 * credential).
 *
 * - its own site in full, without its connection fields (hardware id, login counters, app, last
 *   connection and sync): they change on every login and sync while the topology does not, and the
 *   remote knows its own (`syncedBefore` tells whether it synced);
 * - every other site as its id and roles only (the Open mSupply central with its URL), every other
 *   field at its default: the name `site <id>` (one that never equals this site's name), no code,
 *   server URL, app, version, hardware id, login counters or sync times;
 * - every store (any store may be the other party of a transfer, a patient's home store or the
 *   receiver of a message: the remote's routing and transfer rules look them up): the stores active
 *   on the site or with a copy on it with all their copies, the others with their copies on this
 *   site, the central and the primary only (where else they are held is none of its business).
 */
export function siteInfoForRemote(topology: Topology, siteId: SiteId, syncedBefore?: boolean, options: { readonly withTopology?: boolean } = {}): SiteInfo {
  const info = siteInfoFor(topology, siteId, syncedBefore);
  if (options.withTopology === false) {
    const { topology: _all, ...rest } = info;
    void _all;
    return rest;
  }
  const own = topology.site(siteId);
  if (!own) return { ...info, topology: { sites: [], stores: [] } };
  const ownName = own.name.trim().toLowerCase();
  const placeholder = (id: SiteId): string => {
    let name = `site ${id}`;
    while (name.toLowerCase() === ownName) name = `${name}*`;
    return name;
  };
  const sites = topology.sites.map((site): Site => {
    if (site.id === siteId) return withoutConnectionFields(site);
    return siteFromInput({
      id: site.id,
      name: placeholder(site.id),
      roles: site.roles,
      omsCentralUrl: site.roles.includes('oms-central') ? site.omsCentralUrl : null,
    });
  });
  const copiesSeen = new Set<SiteId>([siteId, topology.central.id, topology.primary.id]);
  // the Open mSupply central server routes its data to every site: it sees every copy
  const routesForAll = own.roles.includes('oms-central');
  const stores = topology.stores.map((store): Store => {
    if (routesForAll || topology.syncTypeOn(store.id, siteId) !== 'none') return store;
    return { ...store, copies: store.copies.filter((copy) => copiesSeen.has(copy.siteId)) };
  });
  return { ...info, topology: { sites, stores } };
}
