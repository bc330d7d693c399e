import { hasRole, type Site } from './site';
import type { Store } from './store';

/**
 * The stores with `centralisedProcurement` derived from the sites' preferences (seed 002,
 * "Centralised procurement"): the preference of the site where a store is active when that site
 * overrides it, else the primary's, which propagates to every satellite. A store whose sites set
 * neither keeps its own flag; unchanged stores are kept as they are.
 */
export function withProcurementPreference(sites: readonly Site[], stores: readonly Store[]): readonly Store[] {
  const network = sites.find((s) => hasRole(s, 'primary'))?.centralisedProcurement ?? null;
  const bySite = new Map(sites.map((s) => [s.id, s.centralisedProcurement ?? null]));
  return stores.map((store) => {
    const effective = bySite.get(store.activeSiteId) ?? network;
    return effective === null || effective === store.centralisedProcurement ? store : { ...store, centralisedProcurement: effective };
  });
}
