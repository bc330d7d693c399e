import {
  changeGoesTo,
  countWaiting,
  hasRole,
  patientsOf,
  RECORD_TYPES,
  SiteRouting,
  visibilityContext,
  type RoutingContext,
  type SyncRecord,
  type Topology,
} from '@sitesync/domain';
import { createInMemoryStorage } from '@sitesync/testkit';
import fc from 'fast-check';
import { setup, VISIBILITY } from '../rules/decision-tables';

/** The setups of docs/sync-rules.md section 2 (the decision tables' topologies). */
const SETUPS = ['seed', 'mirrored', 'dispensary', 'dispensary-off', 'oms', 'procurement', 'procurement-local'];
const PATIENTS = ['p1', 'p2', 'p3', 'p9'];

/** Any record of any catalogue type (and one unknown), its routing columns drawn from the setup's stores, unknown stores, empty and missing values. */
function recordArb(topology: Topology): fc.Arbitrary<SyncRecord> {
  const storeIds = topology.stores.map((s) => s.id);
  const column = fc.constantFrom<string | null | undefined>(undefined, null, '', 'ZZ', ...storeIds, ...storeIds);
  return fc
    .record({
      type: fc.constantFrom(...RECORD_TYPES, 'not_a_type'),
      id: fc.nat(50),
      storeId: column,
      otherPartyStoreId: column,
      homeStoreId: column,
      patientId: fc.constantFrom<string | null | undefined>(undefined, null, '', ...PATIENTS),
      deleted: fc.boolean(),
    })
    .map(({ type, id, deleted, ...columns }) => {
      const record: Record<string, unknown> = { type, id: `r${id}`, data: {}, ...(deleted ? { deleted } : {}) };
      for (const [key, value] of Object.entries(columns)) if (value !== undefined) record[key] = value;
      return record as unknown as SyncRecord;
    });
}

const caseArb = fc.constantFrom(...SETUPS).chain((name) => {
  const topology = setup(name);
  const sites = topology.sites.map((s) => s.id);
  return fc.record({
    name: fc.constant(name),
    changes: fc.array(fc.record({ record: recordArb(topology), sourceSiteId: fc.constantFrom(...sites) }), { maxLength: 60 }),
    includeOwn: fc.boolean(),
    visibility: fc.boolean(),
  });
});

describe('routing decided once per routing signature (SiteRouting)', () => {
  it('sends every change exactly where the rules send it, on every setup of the decision tables', () => {
    fc.assert(
      fc.property(caseArb, ({ name, changes, includeOwn, visibility }) => {
        const topology = setup(name);
        const context: RoutingContext = visibility ? VISIBILITY : {};
        for (const site of topology.sites) {
          const routing = new SiteRouting(topology, site.id, includeOwn);
          for (const { record, sourceSiteId } of changes) {
            const change = { cursor: 1n, viaSync: false, record, sourceSiteId };
            expect(routing.goes(change, context)).toBe(changeGoesTo(topology, site.id, change, context, includeOwn));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('what waits for a site, counted by routing (countWaiting)', () => {
  it('is the number of changes the rules send the site, change by change, in any cursor range', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, fc.nat(80), fc.nat(80), async ({ name, changes, includeOwn }, a, b) => {
        const topology = setup(name);
        const storage = createInMemoryStorage();
        // patients made visible in stores by visibility records (written like any other change)
        const visible: SyncRecord[] = [
          { type: 'name_store_join', id: 'v1', storeId: topology.stores[0]!.id, patientId: 'p1', data: {} },
          { type: 'name_store_join', id: 'v2', storeId: topology.stores[topology.stores.length - 1]!.id, patientId: 'p2', data: {} },
        ];
        await storage.storage.records.upsert(visible, { sourceSiteId: topology.central.id, viaSync: false });
        for (const { record, sourceSiteId } of changes) await storage.storage.records.upsert([record], { sourceSiteId, viaSync: false });
        const feed = await storage.storage.changes.read(0n, 1000);
        const head = await storage.storage.changes.head();
        const [after, upTo] = [BigInt(Math.min(a, b)), BigInt(Math.max(a, b))];
        const context = await visibilityContext(storage.storage, patientsOf(feed.map((c) => c.record)));
        for (const site of topology.sites.filter((s) => !hasRole(s, 'central'))) {
          const inRange = feed.filter((c) => c.cursor > after && c.cursor <= upTo);
          const expected = inRange.filter((c) => changeGoesTo(topology, site.id, c, context, includeOwn)).length;
          expect(await countWaiting(storage.storage, topology, site.id, after, upTo, includeOwn)).toBe(expected);
          const toEnd = feed.filter((c) => c.cursor > after && changeGoesTo(topology, site.id, c, context, includeOwn)).length;
          expect(await countWaiting(storage.storage, topology, site.id, after, undefined, includeOwn)).toBe(toEnd);
          expect(await countWaiting(storage.storage, topology, site.id, head, undefined, includeOwn)).toBe(0);
        }
      }),
      { numRuns: 150 },
    );
  });
});
