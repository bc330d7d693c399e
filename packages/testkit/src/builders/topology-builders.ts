import { buildTopology, orThrow, type SiteId, type SiteInput, type StoreInput, type Topology } from '@sitesync/domain';

/** The sites of seed 002's "mSupply Sync Example": the sync server and two remote sites. */
export const SEED_SITES = {
  /** the sync server: central and primary (a standard, non-mirrored setup) */
  syncServer: 1,
  remote1: 2,
  remote2: 3,
} as const satisfies Record<string, SiteId>;

/**
 * The stores of seed 002's worked examples:
 * - A: active on the sync server, collector on remote site 1
 * - B: collector on the sync server, active on remote site 1, transfer on remote site 2
 * - C: collector on the sync server, active on remote site 2, transfer on remote site 1
 * - D: active on remote site 2, collector on the sync server
 * - E: local to the sync server only
 * - F: active on remote site 1, a transfer store on the sync server
 */
export const SEED_STORES = { A: 'A', B: 'B', C: 'C', D: 'D', E: 'E', F: 'F' } as const;

export function seedSiteInputs(): SiteInput[] {
  return [
    { id: SEED_SITES.syncServer, code: 'SYNC', name: 'Sync server', roles: ['central', 'primary'] },
    { id: SEED_SITES.remote1, code: 'R1', name: 'Remote site 1' },
    { id: SEED_SITES.remote2, code: 'R2', name: 'Remote site 2' },
  ];
}

export function seedStoreInputs(): StoreInput[] {
  const { syncServer, remote1, remote2 } = SEED_SITES;
  return [
    { id: 'A', code: 'A', name: 'Store A', activeSiteId: syncServer, copies: [{ siteId: remote1, type: 'collector' }] },
    {
      id: 'B',
      code: 'B',
      name: 'Store B',
      activeSiteId: remote1,
      copies: [
        { siteId: syncServer, type: 'collector' },
        { siteId: remote2, type: 'transfer' },
      ],
    },
    {
      id: 'C',
      code: 'C',
      name: 'Store C',
      activeSiteId: remote2,
      copies: [
        { siteId: syncServer, type: 'collector' },
        { siteId: remote1, type: 'transfer' },
      ],
    },
    { id: 'D', code: 'D', name: 'Store D', activeSiteId: remote2, copies: [{ siteId: syncServer, type: 'collector' }] },
    { id: 'E', code: 'E', name: 'Store E', activeSiteId: syncServer },
    { id: 'F', code: 'F', name: 'Store F', activeSiteId: remote1, copies: [{ siteId: syncServer, type: 'transfer' }] },
  ];
}

/** Seed 002's example topology with stores A to F (throws if a rule is broken: it is not). */
export function seedExampleTopology(): Topology {
  return orThrow(buildTopology({ sites: seedSiteInputs(), stores: seedStoreInputs() }));
}

/**
 * The same stores in a mirrored setup (seed 002, "Mirrored sync"): the sync server is only the
 * central; site 4, a remote with poor internet, is the primary and holds a collector copy of
 * every store it does not run. Store P is active on the primary.
 */
export const MIRRORED_PRIMARY: SiteId = 4;

export function mirroredTopology(): Topology {
  const sites = seedSiteInputs().map((s) => (s.id === SEED_SITES.syncServer ? { ...s, roles: ['central' as const] } : s));
  sites.push({ id: MIRRORED_PRIMARY, code: 'CMS', name: 'Central Medical Stores', roles: ['primary'] });
  const stores: StoreInput[] = seedStoreInputs().map((s) => ({
    ...s,
    copies: [...(s.copies ?? []), { siteId: MIRRORED_PRIMARY, type: 'collector' as const }],
  }));
  stores.push({ id: 'P', code: 'P', name: 'Store P', activeSiteId: MIRRORED_PRIMARY, copies: [{ siteId: SEED_SITES.syncServer, type: 'collector' }] });
  return orThrow(buildTopology({ sites, stores }));
}

/** Any topology from plain inputs, for tests (throws with every violation if it is broken). */
export function topologyOf(sites: readonly SiteInput[], stores: readonly StoreInput[]): Topology {
  return orThrow(buildTopology({ sites, stores }));
}

/** The seed topology plus a dispensary store G active on remote site 2 (collector on the central). */
export function seedTopologyWithDispensary(options: { includeTransactionsInSync?: boolean } = {}): Topology {
  return topologyOf(seedSiteInputs(), [
    ...seedStoreInputs(),
    {
      id: 'G',
      code: 'G',
      name: 'Dispensary G',
      activeSiteId: SEED_SITES.remote2,
      isDispensary: true,
      includeTransactionsInSync: options.includeTransactionsInSync ?? true,
      copies: [{ siteId: SEED_SITES.syncServer, type: 'collector' }],
    },
  ]);
}
