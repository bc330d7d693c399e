import { routeChange, storeCreatedOnPrimary, withStoresCreatedOnPrimary } from '@sitesync/domain';
import { MIRRORED_PRIMARY, mirroredTopology, SEED_SITES, seedExampleTopology, storeRecord } from '@sitesync/testkit';

/** Seed 002 "Mirrored sync": a store is created first on the primary, then synced to the central. */
describe('stores created on a mirrored primary', () => {
  const created = storeRecord('store', 'N', { code: 'N-01', name: '  North clinic ' }, 'N');

  it('a new store record written on the primary routes to the central, as a store active on the primary would', () => {
    const routing = routeChange(mirroredTopology(), MIRRORED_PRIMARY, created);
    expect(routing.ok && routing.value.destinations).toEqual([
      expect.objectContaining({ siteId: SEED_SITES.syncServer, receives: true, rule: 'store-record-to-copies' }),
    ]);
  });

  it('becomes a store active on the primary with a collector copy on the central, named from the record', () => {
    const next = withStoresCreatedOnPrimary(mirroredTopology(), MIRRORED_PRIMARY, [created, storeRecord('stock_line', 'A', {}, 'sl-1')]);
    expect(next?.store('N')).toEqual(
      expect.objectContaining({
        id: 'N',
        code: 'N-01',
        name: 'North clinic',
        activeSiteId: MIRRORED_PRIMARY,
        copies: [{ siteId: SEED_SITES.syncServer, type: 'collector' }],
      }),
    );
  });

  it('creates nothing for a known store, a deletion, another site, or a primary that is the central', () => {
    const topology = mirroredTopology();
    expect(withStoresCreatedOnPrimary(topology, MIRRORED_PRIMARY, [storeRecord('store', 'A', { name: 'A' }, 'A')])).toBeNull();
    expect(storeCreatedOnPrimary(topology, MIRRORED_PRIMARY, { ...created, deleted: true })).toBeNull();
    expect(storeCreatedOnPrimary(topology, SEED_SITES.remote1, created)).toBeNull();
    expect(storeCreatedOnPrimary(seedExampleTopology(), SEED_SITES.syncServer, created)).toBeNull();
  });
});
