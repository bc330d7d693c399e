import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildTopology, TOPOLOGY_VIOLATION_CODES, type SiteInput, type StoreInput } from '@sitesync/domain';
import { seedExampleTopology, seedSiteInputs, seedStoreInputs } from '@sitesync/testkit';

const sites = seedSiteInputs();
const stores = seedStoreInputs();
const withSite = (id: number, patch: Partial<SiteInput>) => sites.map((s) => (s.id === id ? { ...s, ...patch } : s));
const withStore = (id: string, patch: Partial<StoreInput>) => stores.map((s) => (s.id === id ? { ...s, ...patch } : s));

describe('topology rules (docs/sync-rules.md table T)', () => {
  it('builds the seed example', () => {
    const result = buildTopology({ sites, stores });
    expect(result.ok).toBe(true);
  });

  const broken: [string, string, () => { sites: SiteInput[]; stores: StoreInput[] }, Record<string, unknown>][] = [
    ['T1', 'topology.no-central', () => ({ sites: withSite(1, { roles: ['primary'] }), stores }), {}],
    ['T1', 'topology.several-centrals', () => ({ sites: withSite(2, { roles: ['central'] }), stores }), {}],
    ['T2', 'topology.no-primary', () => ({ sites: withSite(1, { roles: ['central'] }), stores }), {}],
    [
      'T2',
      'topology.several-primaries',
      () => ({
        sites: withSite(3, { roles: ['primary'] }),
        stores: withStore('B', {
          copies: [
            { siteId: 1, type: 'collector' },
            { siteId: 3, type: 'transfer' },
          ],
        }),
      }),
      {},
    ],
    [
      'T3',
      'topology.several-oms-centrals',
      () => ({
        sites: withSite(2, { roles: ['oms-central'], omsCentralUrl: 'https://a' }).map((s) =>
          s.id === 3 ? { ...s, roles: ['oms-central' as const], omsCentralUrl: 'https://b' } : s,
        ),
        stores,
      }),
      {},
    ],
    ['T3', 'topology.oms-central-url-missing', () => ({ sites: withSite(2, { roles: ['oms-central'] }), stores }), { siteId: 2 }],
    [
      'T3',
      'topology.oms-central-not-remote',
      () => ({ sites: withSite(1, { roles: ['central', 'primary', 'oms-central'], omsCentralUrl: 'https://oms' }), stores }),
      { siteId: 1 },
    ],
    [
      'T3',
      'topology.oms-central-store-not-dispensary',
      () => ({ sites: withSite(3, { roles: ['oms-central'], omsCentralUrl: 'https://oms' }), stores: withStore('C', { isDispensary: true }) }),
      { siteId: 3, storeId: 'D' },
    ],
    ['T4', 'topology.invalid-site-field', () => ({ sites: withSite(2, { syncIntervalMinutes: 0.5 }), stores }), { siteId: 2, field: 'syncIntervalMinutes' }],
    ['T4', 'topology.invalid-site-field', () => ({ sites: withSite(2, { requestSize: 3 }), stores }), { siteId: 2, field: 'requestSize' }],
    ['T4', 'topology.invalid-site-field', () => ({ sites: withSite(2, { name: ' ' }), stores }), { siteId: 2, field: 'name' }],
    ['T5', 'topology.duplicate-site-name', () => ({ sites: withSite(3, { name: 'remote SITE 1' }), stores }), {}],
    ['T5', 'topology.duplicate-site-id', () => ({ sites: [...sites, { id: 2, name: 'Other' }], stores }), { siteId: 2 }],
    ['T5', 'topology.duplicate-store-id', () => ({ sites, stores: [...stores, { id: 'A', name: 'Again', activeSiteId: 1 }] }), { storeId: 'A' }],
    ['T6', 'topology.invalid-store-field', () => ({ sites, stores: withStore('E', { name: '' }) }), { storeId: 'E', field: 'name' }],
    ['T7', 'topology.store-active-site-unknown', () => ({ sites, stores: withStore('E', { activeSiteId: 9 }) }), { storeId: 'E' }],
    [
      'T7',
      'topology.store-copy-on-active-site',
      () => ({
        sites,
        stores: withStore('D', {
          copies: [
            { siteId: 1, type: 'collector' },
            { siteId: 3, type: 'collector' },
          ],
        }),
      }),
      { storeId: 'D', siteId: 3 },
    ],
    [
      'T7',
      'topology.store-copy-site-unknown',
      () => ({ sites, stores: withStore('E', { copies: [{ siteId: 7, type: 'transfer' }] }) }),
      { storeId: 'E', siteId: 7 },
    ],
    [
      'T7',
      'topology.store-duplicate-copy',
      () => ({
        sites,
        stores: withStore('A', {
          copies: [
            { siteId: 2, type: 'collector' },
            { siteId: 2, type: 'transfer' },
          ],
        }),
      }),
      { storeId: 'A', siteId: 2 },
    ],
    ['T8', 'topology.store-missing-on-central', () => ({ sites, stores: withStore('F', { copies: [] }) }), { storeId: 'F', siteId: 1 }],
    [
      'T8',
      'topology.store-missing-on-primary',
      () => ({ sites: [...withSite(1, { roles: ['central'] }), { id: 4, name: 'CMS', roles: ['primary'] }], stores }),
      { siteId: 4 },
    ],
    ['T9', 'topology.mobile-site-several-stores', () => ({ sites: withSite(3, { deviceType: 'mobile' }), stores }), { siteId: 3 }],
  ];

  it.each(broken)('%s: refuses with %s', (_row, code, make, fields) => {
    const result = buildTopology(make());
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const violation = result.error.find((v) => v.code === code);
    expect(violation).toMatchObject(fields);
    expect(violation?.rule).toMatch(/\w/);
    expect(violation?.fix).toMatch(/\w/);
  });

  it('reports every broken rule at once, not just the first', () => {
    const result = buildTopology({ sites: withSite(1, { roles: [] }), stores: withStore('F', { copies: [] }) });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.map((v) => v.code).sort()).toEqual(['topology.no-central', 'topology.no-primary']);
  });

  it('says which mobile stores are too many and how to fix it', () => {
    const result = buildTopology({ sites: withSite(3, { deviceType: 'mobile' }), stores });
    if (result.ok) throw new Error('expected a refusal');
    expect(result.error[0]?.message).toBe('Mobile site 3 "Remote site 2" would hold 2 stores: store C "Store C", store D "Store D".');
    expect(result.error[0]?.fix).toMatch(/Keep one store on the mobile site/);
  });

  it('T10: a site with stores cannot be deleted; nor the local site; an empty remote can', () => {
    const topology = seedExampleTopology();
    expect(topology.withoutSite(3, 1)).toMatchObject({ ok: false, error: [{ code: 'topology.site-has-stores', siteId: 3 }] });
    const emptied = topology.withSite({ id: 5, name: 'Spare' });
    if (!emptied.ok) throw new Error('could not add a site');
    expect(emptied.value.withoutSite(5, 5)).toMatchObject({ ok: false, error: [{ code: 'topology.site-is-local' }] });
    const deleted = emptied.value.withoutSite(5, 1);
    expect(deleted.ok && deleted.value.site(5)).toBe(undefined);
  });

  it('deleting a site drops the copy types that pointed at it', () => {
    const added = seedExampleTopology().withSite({ id: 5, name: 'Spare' });
    if (!added.ok) throw new Error('could not add a site');
    const withCopy = added.value.withCopyType('A', 5, 'collector');
    if (!withCopy.ok) throw new Error('could not add a copy');
    expect(withCopy.value.syncTypeOn('A', 5)).toBe('collector');
    const deleted = withCopy.value.withoutSite(5, 1);
    expect(deleted.ok && deleted.value.store('A')?.copies.some((c) => c.siteId === 5)).toBe(false);
  });

  it('T11: operations on unknown sites and stores are refused', () => {
    const topology = seedExampleTopology();
    expect(topology.updateSite(42, { code: 'X' })).toMatchObject({ ok: false, error: [{ code: 'topology.unknown-site', siteId: 42 }] });
    expect(topology.withCopyType('Z', 2, 'collector')).toMatchObject({ ok: false, error: [{ code: 'topology.unknown-store', storeId: 'Z' }] });
  });

  it('an operation that would break a rule leaves the topology as it was', () => {
    const topology = seedExampleTopology();
    expect(topology.withCopyType('F', 1, 'none')).toMatchObject({ ok: false, error: [{ code: 'topology.store-missing-on-central' }] });
    expect(topology.syncTypeOn('F', 1)).toBe('transfer');
  });

  it('answers the sync type of every seed store on every site', () => {
    const t = seedExampleTopology();
    const table = ['A', 'B', 'C', 'D', 'E', 'F'].map((store) => [store, ...[1, 2, 3].map((site) => t.syncTypeOn(store, site))]);
    expect(table).toEqual([
      ['A', 'active', 'collector', 'none'],
      ['B', 'collector', 'active', 'transfer'],
      ['C', 'collector', 'transfer', 'active'],
      ['D', 'collector', 'none', 'active'],
      ['E', 'active', 'none', 'none'],
      ['F', 'transfer', 'active', 'none'],
    ]);
  });

  it('docs/sync-rules.md table T names every topology violation code', () => {
    const doc = readFileSync(resolve(__dirname, '../../../../docs/sync-rules.md'), 'utf8');
    for (const code of TOPOLOGY_VIOLATION_CODES) expect(doc).toContain(code);
  });
});
