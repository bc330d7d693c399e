import { hasRole, type Site } from './site';
import type { Store } from './store';

/**
 * Whether centralised procurement applies to a store (seed 002, "Centralised procurement"): the
 * preference of the site where the store is active when that site overrides it, else the
 * primary's, which propagates to every satellite; `null` when neither site has the preference set
 * (the store's own flag then stands).
 */
export function centralisedProcurementFor(sites: readonly Site[], store: Pick<Store, 'activeSiteId'>): boolean | null {
  const own = sites.find((s) => s.id === store.activeSiteId)?.centralisedProcurement ?? null;
  if (own !== null) return own;
  return sites.find((s) => hasRole(s, 'primary'))?.centralisedProcurement ?? null;
}

/** The stores with `centralisedProcurement` derived from the sites' preferences (unchanged stores kept as they are). */
export function withProcurementPreference(sites: readonly Site[], stores: readonly Store[]): readonly Store[] {
  return stores.map((store) => {
    const effective = centralisedProcurementFor(sites, store);
    return effective === null || effective === store.centralisedProcurement ? store : { ...store, centralisedProcurement: effective };
  });
}
