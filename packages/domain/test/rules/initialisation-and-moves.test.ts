import {
  includeInInitialisation,
  planInitialisation,
  planStoreMove,
  planStoreRemoval,
  queuedByStoreMove,
  routeChange,
  type SyncRecord,
} from '@sitesync/domain';
import { seedExampleTopology, seedTopologyWithDispensary } from '@sitesync/testkit';
import { parseRecord, VISIBILITY } from './decision-tables';

const topology = seedExampleTopology();

/** A small data set touching every category of the seed topology. */
const DATA: SyncRecord[] = [
  'item',
  'abbreviation',
  'store@A',
  'store@B',
  'store@D',
  'store_preference@D',
  'stock_line@A',
  'stock_line@B',
  'stock_line@C',
  'stock_line@D',
  'stock_line@E',
  'stock_line@F',
  'transaction@B>C',
  'transaction@C>B',
  'message@D>B',
  'log',
  'site',
].map((spec, i) => parseRecord(spec, `r${i}`));

const held = (siteId: number) =>
  DATA.filter((r) => {
    const d = includeInInitialisation(topology, siteId, r);
    if (!d.ok) throw new Error(d.error.message);
    return d.value.receives;
  }).map((r) => `${r.type}@${r.storeId ?? ''}${r.otherPartyStoreId ? `>${r.otherPartyStoreId}` : ''}`);

describe('initialisation', () => {
  it('remote site 2 (stores C and D active, B a transfer copy) receives what syncing would have given it', () => {
    expect(held(3)).toEqual([
      'item@',
      'store@B',
      'store@D',
      'store_preference@D',
      'stock_line@C',
      'stock_line@D',
      'transaction@B>C',
      'transaction@C>B',
      'message@D>B',
    ]);
  });

  it('an initialised site holds exactly what the routing of each change would have given it', () => {
    const editorOf = (r: SyncRecord): number =>
      r.storeId && r.type !== 'store' && r.type !== 'store_preference' ? topology.store(r.storeId)!.activeSiteId : 1;
    for (const siteId of [1, 2, 3]) {
      const viaRouting = DATA.filter((r) => {
        const routing = routeChange(topology, editorOf(r), r);
        if (!routing.ok) throw new Error(routing.error.message);
        const isLocal = routing.value.withheld.some((d) => d.rule === 'local-never-synced' || d.rule === 'sync-indirect');
        return routing.value.destinations.some((d) => d.siteId === siteId) || (editorOf(r) === siteId && !isLocal);
      });
      expect(held(siteId)).toEqual(viaRouting.map((r) => `${r.type}@${r.storeId ?? ''}${r.otherPartyStoreId ? `>${r.otherPartyStoreId}` : ''}`));
    }
  });

  it('the plan explains each scope; dispensary data only where a dispensary is active', () => {
    const plan = planInitialisation(seedTopologyWithDispensary(), 3);
    expect(plan.scopes.map((s) => s.what)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^all central data/),
        expect.stringMatching(/^dispensary central data/),
        expect.stringMatching(/^store D "Store D": store record, central store data/),
        expect.stringMatching(/^store B "Store B": store record and its transfers/),
      ]),
    );
    expect(planInitialisation(seedTopologyWithDispensary(), 2).scopes.some((s) => s.what.startsWith('dispensary'))).toBe(false);
  });

  it("warns that store F's data cannot come back from the central, and says what to do", () => {
    const plan = planInitialisation(topology, 2);
    expect(plan.warnings).toEqual([expect.objectContaining({ code: 'init.store-data-not-on-central', fix: expect.stringMatching(/site export file/) })]);
  });
});

describe('moving a store', () => {
  it('moves D from remote site 2 to remote site 1, leaving a transfer copy, and queues its data and visible patients', () => {
    const plan = planStoreMove(topology, 'D', 2, 'transfer');
    if (!plan.ok) throw new Error(plan.error.map((e) => e.message).join());
    const after = plan.value.topology;
    expect([after.syncTypeOn('D', 1), after.syncTypeOn('D', 2), after.syncTypeOn('D', 3)]).toEqual(['collector', 'active', 'transfer']);
    expect(plan.value.preconditions.join(' ')).toMatch(/fully synchronised.*No new data/);

    const queued = (r: SyncRecord) => queuedByStoreMove(plan.value, topology, r, VISIBILITY);
    expect(queued(parseRecord('stock_line@D'))).toBe(true);
    expect(queued(parseRecord('store_preference@D'))).toBe(true);
    expect(queued(parseRecord('patient[p3@D]'))).toBe(true);
    expect(queued(parseRecord('stock_line@C'))).toBe(false);
    expect(queued(parseRecord('item'))).toBe(false); // remote site 1 already has central data
  });

  it('refuses a move that would break a rule, with the fix', () => {
    const toMobile = seedExampleTopology().updateSite(2, { deviceType: 'mobile' });
    expect(toMobile.ok).toBe(false); // site 2 already runs B and F
    expect(planStoreMove(topology, 'D', 3, 'none')).toMatchObject({ ok: false, error: [{ code: 'topology.store-copy-on-active-site' }] });
    expect(planStoreMove(topology, 'D', 9, 'none')).toMatchObject({ ok: false, error: [{ code: 'topology.unknown-site' }] });
    expect(planStoreMove(topology, 'Q', 1, 'none')).toMatchObject({ ok: false, error: [{ code: 'topology.unknown-store' }] });
  });

  it('a store removed from a remote site moves to the central', () => {
    const plan = planStoreRemoval(topology, 'F');
    if (!plan.ok) throw new Error('removal refused');
    expect(plan.value.topology.syncTypeOn('F', 1)).toBe('active');
    expect(plan.value.topology.syncTypeOn('F', 2)).toBe('none');
    const emptied = plan.value.topology.withoutSite(2, 1);
    expect(emptied).toMatchObject({ ok: false, error: [{ code: 'topology.site-has-stores' }] }); // B is still there
  });
});
