import {
  hasRole,
  PullServer,
  saveTopologyChange,
  storeAccepted,
  waitingFor,
  WaitingCounts,
  type SiteId,
  type SyncRecord,
  type SyncStorage,
  type Topology,
} from '@sitesync/domain';
import { createInMemoryStorage, ManualClock, mirroredTopology, seedTopologyWithDispensary, type InMemoryStorage } from '@sitesync/testkit';
import fc from 'fast-check';

const STORES = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'P'];
const PATIENTS = ['p1', 'p2', 'p3'];

type Step =
  | {
      readonly op: 'write';
      readonly kind: number;
      readonly id: number;
      readonly store: number;
      readonly other: number;
      readonly patient: number;
      readonly by: number;
      readonly deleted: boolean;
    }
  | { readonly op: 'pull'; readonly site: number; readonly from: 'next' | 'zero' | 'feed'; readonly pick: number; readonly limit: number }
  | { readonly op: 'copy'; readonly store: number; readonly site: number; readonly type: 'collector' | 'transfer' | 'none' }
  | { readonly op: 'dispensary'; readonly store: number }
  | { readonly op: 'count' }; // nothing changes: the counts are read again

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('write' as const),
      kind: fc.nat(7),
      id: fc.oneof(fc.nat(1), fc.nat(1), fc.nat(12)), // mostly records written again
      store: fc.nat(STORES.length - 1),
      other: fc.nat(STORES.length - 1),
      patient: fc.nat(PATIENTS.length - 1),
      by: fc.nat(3),
      deleted: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('pull' as const),
      site: fc.nat(3),
      from: fc.constantFrom('next' as const, 'next' as const, 'zero' as const, 'feed' as const),
      pick: fc.nat(1000),
      limit: fc.integer({ min: 1, max: 8 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('copy' as const),
      store: fc.nat(STORES.length - 1),
      site: fc.nat(3),
      type: fc.constantFrom('collector' as const, 'transfer' as const, 'none' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('dispensary' as const), store: fc.nat(STORES.length - 1) }) },
  { weight: 2, arbitrary: fc.constant({ op: 'count' as const }) },
);

/** A record of one of a few kinds (central, dispensary central, store, transfer, patient, visibility, message), ids reused so records are written again. */
function recordOf(step: Extract<Step, { op: 'write' }>, topology: Topology): SyncRecord | null {
  const stores = topology.stores.map((s) => s.id);
  const store = STORES[step.store]!;
  const other = STORES[step.other]!;
  if (!stores.includes(store) || !stores.includes(other)) return null;
  const patientId = PATIENTS[step.patient]!;
  const id = `r${step.id}`;
  const deleted = step.deleted ? { deleted: true } : {};
  switch (step.kind) {
    case 0:
      return { type: 'item', id, data: {}, ...deleted };
    case 1:
      return { type: 'diagnosis', id, data: {}, ...deleted };
    case 2:
      return { type: 'stock_line', id, storeId: store, data: {}, ...deleted };
    case 3:
      return { type: 'requisition', id, storeId: store, otherPartyStoreId: other, data: {}, ...deleted };
    case 4:
      return { type: 'patient', id, patientId, homeStoreId: store, data: {}, ...deleted };
    case 5:
      return { type: 'patient_event', id, patientId, homeStoreId: other, data: {}, ...deleted };
    case 6:
      return { type: 'name_store_join', id, storeId: store, patientId, data: {}, ...deleted };
    default:
      return { type: 'message', id, storeId: store, otherPartyStoreId: other, data: {}, ...deleted };
  }
}

async function expected(storage: InMemoryStorage, topology: Topology): Promise<Map<SiteId, number>> {
  const out = new Map<SiteId, number>();
  for (const site of topology.sites) if (!hasRole(site, 'central')) out.set(site.id, await storage.run((s) => waitingFor(s, topology, site.id)));
  return out;
}

async function scenario(start: Topology, steps: readonly Step[]): Promise<void> {
  const storage = createInMemoryStorage();
  const clock = new ManualClock();
  await storage.run((s) => s.topology.save(start));
  let topology = start;
  const pulls = new PullServer(3);
  const counts = new WaitingCounts(clock, { cursorsPerCount: 1, compactAbove: 4 });
  const next = new Map<SiteId, { cursor: bigint; queueCursor: bigint }>();
  const topologyOf = async (s: SyncStorage): Promise<Topology> => (await s.topology.load())!;
  const remotes = (): SiteId[] => topology.sites.filter((s) => !hasRole(s, 'central')).map((s) => s.id);

  const check = async (): Promise<void> => {
    const got = await storage.run((s) => counts.count(s, topology));
    expect(got).toEqual(await expected(storage, topology));
  };

  for (const step of steps) {
    switch (step.op) {
      case 'write': {
        const record = recordOf(step, topology);
        if (!record) break;
        const by = topology.sites[step.by % topology.sites.length]!.id;
        await storage.run((s) => storeAccepted(s, topology, [record], { sourceSiteId: by, viaSync: by !== topology.central.id }));
        break;
      }
      case 'pull': {
        const siteId = remotes()[step.site % remotes().length]!;
        const at = next.get(siteId) ?? { cursor: 0n, queueCursor: 0n };
        let cursor = at.cursor;
        if (step.from === 'zero') cursor = 0n;
        if (step.from === 'feed') {
          const feed = await storage.storage.changes.scan(0n, 1000);
          cursor = feed.length === 0 ? 0n : feed[step.pick % feed.length]!.cursor;
        }
        const result = await storage.run((s) => pulls.pull(s, topologyOf, siteId, { cursor, limit: step.limit, queueCursor: at.queueCursor }));
        next.set(siteId, { cursor: result.nextCursor, queueCursor: result.nextQueueCursor ?? at.queueCursor });
        break;
      }
      case 'copy':
      case 'dispensary': {
        const store = topology.store(STORES[step.store]!);
        if (!store) break;
        const changed =
          step.op === 'copy'
            ? store.activeSiteId === remotes()[step.site % remotes().length]
              ? null
              : topology.withCopyType(store.id, remotes()[step.site % remotes().length]!, step.type)
            : topology.updateStore(store.id, { isDispensary: !store.isDispensary });
        if (!changed?.ok) break;
        const before = topology;
        topology = changed.value;
        await storage.run((s) => saveTopologyChange(s, before, changed.value, clock.now()));
        break;
      }
      case 'count':
        break;
    }
    await check();
  }
}

describe('WaitingCounts', () => {
  it('counts what waits for each site as waitingFor does, over random writes, pulls and topology changes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(seedTopologyWithDispensary(), mirroredTopology()), fc.array(stepArb, { minLength: 5, maxLength: 60 }), scenario),
      { numRuns: 150 },
    );
  });

  it("decides a patient's records again when the patient becomes visible in a store of another site", async () => {
    const storage = createInMemoryStorage();
    const topology = seedTopologyWithDispensary();
    await storage.run((s) => s.topology.save(topology));
    const counts = new WaitingCounts(new ManualClock());
    const write = (records: SyncRecord[]) => storage.run((s) => storeAccepted(s, topology, records, { sourceSiteId: 2, viaSync: true }));
    await write([{ type: 'patient', id: 'pat', patientId: 'pat', homeStoreId: 'B', data: {} }]);
    expect(await storage.run((s) => counts.count(s, topology))).toEqual(await expected(storage, topology));
    await write([{ type: 'name_store_join', id: 'nsj', storeId: 'D', patientId: 'pat', data: {} }]);
    const after = await expected(storage, topology);
    expect(await storage.run((s) => counts.count(s, topology))).toEqual(after);
    expect(after.get(3)).toBeGreaterThan(0);
  });

  it('counts a long feed incrementally, records written again leaving their place', async () => {
    const storage = createInMemoryStorage();
    const topology = mirroredTopology();
    await storage.run((s) => s.topology.save(topology));
    const counts = new WaitingCounts(new ManualClock());
    const pulls = new PullServer(500);
    const write = (records: SyncRecord[], by: SiteId) => storage.run((s) => storeAccepted(s, topology, records, { sourceSiteId: by, viaSync: true }));
    await write(
      Array.from({ length: 12_000 }, (_, i): SyncRecord =>
        i % 3 === 0 ? { type: 'item', id: `i${i}`, data: {} } : { type: 'stock_line', id: `s${i}`, storeId: 'B', data: {} },
      ),
      4,
    );
    expect(await storage.run((s) => counts.count(s, topology))).toEqual(await expected(storage, topology));
    const pulled = await storage.run((s) => pulls.pull(s, async (t) => (await t.topology.load())!, 2, { cursor: 0n, limit: 700 }));
    await storage.run((s) => pulls.pull(s, async (t) => (await t.topology.load())!, 3, { cursor: pulled.nextCursor, limit: 10 }));
    await write(
      Array.from({ length: 300 }, (_, i): SyncRecord => ({ type: 'item', id: `i${i * 3}`, data: { again: true } })),
      1,
    );
    expect(await storage.run((s) => counts.count(s, topology))).toEqual(await expected(storage, topology));
    // most records written again (their old places are dropped), then sites pull from elsewhere
    const stockLines = Array.from({ length: 12_000 }, (_, i) => i)
      .filter((i) => i % 3 !== 0)
      .map((i): SyncRecord => ({ type: 'stock_line', id: `s${i}`, storeId: 'B', data: { again: true } }));
    await write(stockLines, 2);
    expect(await storage.run((s) => counts.count(s, topology))).toEqual(await expected(storage, topology));
    await write(stockLines, 2);
    expect(await storage.run((s) => counts.count(s, topology))).toEqual(await expected(storage, topology));
    await storage.run((s) => pulls.pull(s, async (t) => (await t.topology.load())!, 2, { cursor: 0n, limit: 5 }));
    await storage.run((s) => pulls.pull(s, async (t) => (await t.topology.load())!, 4, { cursor: pulled.nextCursor, limit: 5 }));
    expect(await storage.run((s) => counts.count(s, topology))).toEqual(await expected(storage, topology));
    await write(stockLines.slice(0, 100), 3);
    expect(await storage.run((s) => counts.count(s, topology))).toEqual(await expected(storage, topology));
    await storage.run((s) => pulls.pull(s, async (t) => (await t.topology.load())!, 4, { cursor: 0n, limit: 5 }));
    expect(await storage.run((s) => counts.count(s, topology))).toEqual(await expected(storage, topology));
  });
});
