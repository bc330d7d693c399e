import { buildTopology, isPushConflict, type PushOutcome, type PushResult, type SyncRecord, type Topology } from '@sitesync/domain';
import { createInMemoryStorage, InMemoryCentralSyncGateway, ManualClock, type InMemoryStorage } from '../../src/in-memory/index';

function testTopology(): Topology {
  const built = buildTopology({
    sites: [
      { id: 1, name: 'Central', roles: ['central', 'primary'] },
      { id: 2, name: 'District remote' },
      { id: 3, name: 'Facility remote' },
    ],
    stores: [
      { id: 'D', name: 'District store', activeSiteId: 2, copies: [{ siteId: 1, type: 'collector' }] },
      { id: 'F', name: 'Facility store', activeSiteId: 3, copies: [{ siteId: 1, type: 'transfer' }] },
    ],
  });
  if (!built.ok) throw new Error(`test topology is invalid: ${built.error.map((v) => v.code).join(', ')}`);
  return built.value;
}

const stockLine = (id: string, storeId: string): SyncRecord => ({ type: 'stock_line', id, storeId, data: { itemId: 'item-1', quantity: 3 } });
const item = (id: string): SyncRecord => ({ type: 'item', id, data: { name: `Item ${id}` } });

/** The result of a push that is not a batch-id conflict. */
function result(outcome: PushOutcome): PushResult {
  if (isPushConflict(outcome)) throw new Error(`unexpected conflict: ${outcome.conflict.message}`);
  return outcome;
}

describe('InMemoryCentralSyncGateway', () => {
  let topology: Topology;
  let central: InMemoryStorage;
  let clock: ManualClock;
  let site2: InMemoryCentralSyncGateway;
  let site3: InMemoryCentralSyncGateway;

  beforeEach(() => {
    topology = testTopology();
    central = createInMemoryStorage();
    clock = new ManualClock();
    site2 = new InMemoryCentralSyncGateway(central, topology, 2, { clock });
    site3 = new InMemoryCentralSyncGateway(central, topology, 3, { clock });
  });

  const writeOnCentral = (records: readonly SyncRecord[]) => central.storage.records.upsert(records, { sourceSiteId: 1, viaSync: false });

  describe('siteInfo', () => {
    it('lists the stores the site holds with their sync type', async () => {
      const info = await site2.siteInfo();
      expect(info).toMatchObject({ siteId: 2, stores: [{ storeId: 'D', syncType: 'active' }], omsCentralUrl: null });
      // the topology comes without hardware ids or login counters
      expect(info.topology?.sites.every((s) => s.hardwareId === null && s.failedLoginCount === 0)).toBe(true);
      const onCentral = new InMemoryCentralSyncGateway(central, topology, 1);
      expect((await onCentral.siteInfo()).stores).toEqual([
        { storeId: 'D', syncType: 'collector' },
        { storeId: 'F', syncType: 'transfer' },
      ]);
    });

    it('gives the Open mSupply central URL when a site has that role', async () => {
      const built = buildTopology({
        sites: [...topology.toInput().sites.filter((s) => s.id !== 3), { id: 3, name: 'OMS', roles: ['oms-central'], omsCentralUrl: 'https://oms.example' }],
        // every store on the Open mSupply central server runs in dispensary mode
        stores: topology.toInput().stores.map((s) => (s.activeSiteId === 3 ? { ...s, isDispensary: true } : s)),
      });
      if (!built.ok) throw new Error(`invalid topology: ${built.error.map((v) => v.message).join(' ')}`);
      expect((await new InMemoryCentralSyncGateway(central, built.value, 2).siteInfo()).omsCentralUrl).toBe('https://oms.example');
    });
  });

  describe('push', () => {
    it('accepts and stores a record of a store active on the pushing site, as received by sync', async () => {
      const pushed = result(await site2.push('batch-1', [stockLine('sl-1', 'D')]));

      expect(pushed).toEqual({ batchId: 'batch-1', accepted: 1, refused: [] });
      expect(await central.storage.records.get('stock_line', 'sl-1')).toEqual(stockLine('sl-1', 'D'));
      const [change] = await central.storage.changes.read(0n, 10);
      expect(change).toMatchObject({ cursor: 1n, sourceSiteId: 2, viaSync: true });
      expect(await central.storage.issues.open()).toEqual([]);
    });

    it('refuses a record of a store active elsewhere, quarantines it, and accepts the rest of the batch', async () => {
      const pushed = result(await site2.push('batch-1', [stockLine('sl-1', 'D'), stockLine('sl-f', 'F'), stockLine('sl-2', 'D')]));

      expect(pushed.accepted).toBe(2);
      expect(pushed.refused).toEqual([expect.objectContaining({ recordType: 'stock_line', recordId: 'sl-f', code: 'edit.store-not-active-here' })]);
      expect(pushed.refused[0]?.message).toEqual(expect.any(String));
      expect(pushed.refused[0]?.fix).toEqual(expect.any(String));
      expect(await central.storage.records.get('stock_line', 'sl-f')).toBeNull();
      expect((await central.storage.records.list('stock_line', { limit: 10 })).map((r) => r.id)).toEqual(['sl-1', 'sl-2']);

      const issues = await central.storage.issues.open();
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatchObject({
        key: 'quarantine:2:stock_line:sl-f',
        violation: { code: 'edit.store-not-active-here' },
        firstSeenAt: clock.now(),
        occurrences: 1,
      });
    });

    it('writes nothing new when the same batch id is pushed again, and gives the same answer', async () => {
      const batch = [stockLine('sl-1', 'D'), stockLine('sl-f', 'F')];
      const first = await site2.push('batch-1', batch);
      const head = await central.storage.changes.head();
      const issues = await central.storage.issues.open();

      clock.advance(60_000);
      const replay = await site2.push('batch-1', batch);

      expect(replay).toEqual({ ...first, replayed: true });
      expect(await central.storage.changes.head()).toBe(head);
      expect(await central.storage.issues.open()).toEqual(issues);
    });

    it('refuses central data pushed by a remote site', async () => {
      const pushed = result(await site2.push('batch-1', [item('item-1')]));
      expect(pushed.accepted).toBe(0);
      expect(pushed.refused.map((r) => r.code)).toEqual(['edit.central-data-not-primary']);
      expect(await central.storage.changes.head()).toBe(0n);
    });
  });

  describe('pull', () => {
    it('gives central data written on the central to every remote site', async () => {
      await writeOnCentral([item('item-1')]);

      const to2 = await site2.pull(0n, 10);
      const to3 = await site3.pull(0n, 10);

      expect(to2).toEqual({ records: [item('item-1')], nextCursor: 1n, remaining: 0 });
      expect(to3).toEqual({ records: [item('item-1')], nextCursor: 1n, remaining: 0 });
    });

    it('never echoes a change back to the site that pushed it, and withholds it from a site without the store', async () => {
      await site2.push('batch-1', [stockLine('sl-1', 'D')]);

      const to2 = await site2.pull(0n, 10);
      const to3 = await site3.pull(0n, 10);

      expect(to2.records).toEqual([]);
      expect(to3.records).toEqual([]);
      // both skip the change for good
      expect(to2).toMatchObject({ nextCursor: 1n, remaining: 0 });
      expect(to3).toMatchObject({ nextCursor: 1n, remaining: 0 });
    });

    it('returns every record for the site exactly once across pages, with the count still waiting', async () => {
      // site 2 gets the items; its own stock lines are interleaved and must be skipped
      await writeOnCentral([item('i-1'), item('i-2')]);
      await site2.push('batch-1', [stockLine('sl-1', 'D')]);
      await writeOnCentral([item('i-3')]);
      await site2.push('batch-2', [stockLine('sl-2', 'D'), stockLine('sl-3', 'D')]);
      await writeOnCentral([item('i-4'), item('i-5')]);
      await site2.push('batch-3', [stockLine('sl-4', 'D')]);
      const head = await central.storage.changes.head();
      expect(head).toBe(9n);

      const pages: { ids: string[]; nextCursor: bigint; remaining: number }[] = [];
      let cursor = 0n;
      for (let i = 0; i < 10; i += 1) {
        const page = await site2.pull(cursor, 2);
        pages.push({ ids: page.records.map((r) => r.id), nextCursor: page.nextCursor, remaining: page.remaining });
        expect(page.nextCursor).toBeGreaterThanOrEqual(cursor);
        cursor = page.nextCursor;
        if (page.records.length === 0) break;
      }

      expect(pages).toEqual([
        { ids: ['i-1', 'i-2'], nextCursor: 2n, remaining: 3 },
        { ids: ['i-3', 'i-4'], nextCursor: 7n, remaining: 1 },
        // the last page is not full: the trailing change of site 2 is examined and skipped
        { ids: ['i-5'], nextCursor: 9n, remaining: 0 },
        { ids: [], nextCursor: 9n, remaining: 0 },
      ]);
    });

    it('reads the feed on in pages to count what remains', async () => {
      const paged = new InMemoryCentralSyncGateway(central, topology, 3, { feedPageSize: 2 });
      await writeOnCentral(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id) => item(id)));
      await site2.push('batch-1', [stockLine('sl-1', 'D')]);

      const first = await paged.pull(0n, 3);
      const rest = await paged.pull(first.nextCursor, 100);

      expect(first).toEqual({ records: ['a', 'b', 'c'].map((id) => item(id)), nextCursor: 3n, remaining: 4 });
      expect(rest.records.map((r) => r.id)).toEqual(['d', 'e', 'f', 'g']);
      expect(rest).toMatchObject({ nextCursor: 8n, remaining: 0 });
    });

    it('returns copies: changing a pulled record does not change the central', async () => {
      await writeOnCentral([item('item-1')]);
      const pulled = (await site2.pull(0n, 10)).records[0] as unknown as { data: { name: string } };
      pulled.data.name = 'changed';
      expect((await site3.pull(0n, 10)).records).toEqual([item('item-1')]);
    });
  });
});
