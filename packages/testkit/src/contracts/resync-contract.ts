import type { ChangeOrigin, RecordKeyOf, RecordSelector, SyncRecord, SyncStorage, UnitOfWork } from '@sitesync/domain';
import type * as JestGlobals from '@jest/globals';
import { seedExampleTopology } from '../builders/index';
import { canonical } from './canonical-record';

declare const require: (id: '@jest/globals') => typeof JestGlobals;

/** The storage as the scope-change contract needs it (a fresh, empty one per test). */
export interface ResyncContractContext {
  storage(): SyncStorage;
  unitOfWork(): UnitOfWork;
  /** true when separate connections can write concurrently (real Postgres) */
  readonly concurrentConnections: boolean;
}

const LOCAL: ChangeOrigin = { sourceSiteId: 1, viaSync: false };

const key = (type: string, id: string): RecordKeyOf => ({ type, id });

/** The entries of a site's queue as [seq, type, id], to compare in one assertion. */
async function queueOf(storage: SyncStorage, siteId: number, after = 0n, limit = 100): Promise<[bigint, string, string][]> {
  return (await storage.resync.read(siteId, after, limit)).map((e) => [e.seq, e.type, e.id]);
}

/** `type:id` of each record, in the order given. */
const keysOf = (records: readonly Pick<SyncRecord, 'type' | 'id'>[]): string[] => records.map((r) => `${r.type}:${r.id}`);

/** A record as `select` returns it: the contract's canonical form, without data. */
function withoutData(record: SyncRecord): SyncRecord {
  return { ...canonical(record)!, data: {} };
}

/**
 * Records routed every way a selector can name them. Ids sort the same under every collation
 * (lower-case letters and fixed-width digits), so the expected (type, id) order holds on every engine.
 */
const ROUTED: readonly SyncRecord[] = [
  { type: 'item', id: 'i01', data: { name: 'no routing column' } },
  { type: 'patient', id: 'p01', patientId: 'p01', homeStoreId: 'D', data: { name: 'Zoë' } },
  { type: 'patient', id: 'p02', patientId: 'p02', homeStoreId: 'E', data: { name: 'Ana' } },
  { type: 'stock_line', id: 's01', storeId: 'D', data: { quantity: 1 } },
  { type: 'stock_line', id: 's02', storeId: 'E', data: { quantity: 2 } },
  { type: 'transaction', id: 't01', storeId: 'A', otherPartyStoreId: 'D', data: { status: 'picked' } },
  { type: 'transaction', id: 't02', storeId: 'E', otherPartyStoreId: 'F', patientId: 'p01', data: { status: 'new' } },
  { type: 'transaction', id: 't03', storeId: 'D', deleted: true, data: { status: 'deleted' } },
];

/**
 * The contract of what scope changes need from storage (the per-site resync queue, records selected
 * by routing columns, removed, held, serial counters raised, the topology's version), declared inside
 * `describeStorageContract` so that every adapter runs it unchanged.
 */
export function describeResyncContract(context: ResyncContractContext): void {
  const { describe, it, expect } = require('@jest/globals');

  describe('resync queue', () => {
    it('numbers each site’s entries 1, 2, ... as bigints, reads them in order a page at a time, and counts what follows a number', async () => {
      const { resync } = context.storage();
      await resync.enqueue(2, [key('stock_line', 'a'), key('transaction', 'b'), key('item', 'c')]);

      expect((await resync.read(2, 0n, 10)).every((e) => typeof e.seq === 'bigint')).toBe(true);
      expect(await queueOf(context.storage(), 2)).toEqual([
        [1n, 'stock_line', 'a'],
        [2n, 'transaction', 'b'],
        [3n, 'item', 'c'],
      ]);
      expect(await queueOf(context.storage(), 2, 0n, 2)).toEqual([
        [1n, 'stock_line', 'a'],
        [2n, 'transaction', 'b'],
      ]);
      expect(await queueOf(context.storage(), 2, 1n, 1)).toEqual([[2n, 'transaction', 'b']]);
      expect(await resync.read(2, 3n, 10)).toEqual([]);
      expect([await resync.count(2, 0n), await resync.count(2, 2n), await resync.count(2, 3n)]).toEqual([3, 1, 0]);
      // a site with no queue
      expect(await resync.read(9, 0n, 10)).toEqual([]);
      expect(await resync.count(9, 0n)).toBe(0);
    });

    it('moves a record queued again to the end with a new number, and keeps one entry per record', async () => {
      const { resync } = context.storage();
      await resync.enqueue(2, [key('stock_line', 'a'), key('stock_line', 'b'), key('stock_line', 'c')]);
      await resync.enqueue(2, [key('stock_line', 'a')]);

      expect(await queueOf(context.storage(), 2)).toEqual([
        [2n, 'stock_line', 'b'],
        [3n, 'stock_line', 'c'],
        [4n, 'stock_line', 'a'],
      ]);
      // a reader that had seen up to 3 still finds the moved record
      expect(await queueOf(context.storage(), 2, 3n)).toEqual([[4n, 'stock_line', 'a']]);

      // the same key twice in one call is queued once, at its last place; same id, other type is another record
      await resync.enqueue(2, [key('stock_line', 'b'), key('item', 'b'), key('stock_line', 'b')]);
      const queue = await resync.read(2, 0n, 10);
      expect(keysOf(queue)).toEqual(['stock_line:c', 'stock_line:a', 'item:b', 'stock_line:b']);
      for (let i = 1; i < queue.length; i += 1) expect(queue[i]!.seq > queue[i - 1]!.seq).toBe(true);
      expect(await resync.count(2, 0n)).toBe(4);
    });

    it('keeps sites apart: numbers, reads, counts and acknowledgements of one site never touch another', async () => {
      const { resync } = context.storage();
      await resync.enqueue(2, [key('stock_line', 'a'), key('stock_line', 'b')]);
      await resync.enqueue(3, [key('stock_line', 'b')]);
      await resync.enqueue(2, [key('stock_line', 'c')]);

      expect(await queueOf(context.storage(), 3)).toEqual([[1n, 'stock_line', 'b']]);
      expect(await queueOf(context.storage(), 2)).toEqual([
        [1n, 'stock_line', 'a'],
        [2n, 'stock_line', 'b'],
        [3n, 'stock_line', 'c'],
      ]);
      const pending = await resync.pendingBySite();
      expect([pending.size, pending.get(2), pending.get(3)]).toEqual([2, 3, 1]);

      await resync.acknowledge(2, 3n);
      expect(await queueOf(context.storage(), 3)).toEqual([[1n, 'stock_line', 'b']]);
      expect(await resync.pendingBySite()).toEqual(new Map([[3, 1]]));
    });

    it('forgets acknowledged entries, and numbers later entries after every number handed out before', async () => {
      const { resync } = context.storage();
      await resync.enqueue(2, [key('stock_line', 'a'), key('stock_line', 'b'), key('stock_line', 'c')]);

      await resync.acknowledge(2, 0n);
      expect(await resync.count(2, 0n)).toBe(3);
      await resync.acknowledge(2, 2n);
      expect(await queueOf(context.storage(), 2)).toEqual([[3n, 'stock_line', 'c']]);
      expect(await resync.pendingBySite()).toEqual(new Map([[2, 1]]));

      await resync.acknowledge(2, 3n);
      expect(await resync.read(2, 0n, 10)).toEqual([]);
      expect(await resync.count(2, 0n)).toBe(0);
      expect(await resync.pendingBySite()).toEqual(new Map());

      // numbers are never handed out twice, even once every entry is gone
      await resync.enqueue(2, [key('stock_line', 'a')]);
      expect(await queueOf(context.storage(), 2)).toEqual([[4n, 'stock_line', 'a']]);
      await resync.acknowledge(2, 99n);
      await resync.enqueue(2, [key('stock_line', 'd')]);
      expect(await queueOf(context.storage(), 2)).toEqual([[5n, 'stock_line', 'd']]);
    });

    it('does nothing for an empty enqueue, and queues a large batch in one call in order', async () => {
      const { resync } = context.storage();
      await resync.enqueue(2, []);
      expect(await resync.pendingBySite()).toEqual(new Map());

      const many = Array.from({ length: 1_200 }, (_, i) => key('stock_line', `bulk-${String(i).padStart(4, '0')}`));
      await resync.enqueue(2, many);
      expect(await resync.count(2, 0n)).toBe(1_200);
      const last = await resync.read(2, 1_198n, 10);
      expect(last.map((e) => [e.seq, e.id])).toEqual([
        [1_199n, 'bulk-1198'],
        [1_200n, 'bulk-1199'],
      ]);
    });

    it('commits what a unit of work queued, and leaves the queue unchanged when the work throws', async () => {
      await context.unitOfWork().run(async (s) => {
        await s.resync.enqueue(2, [key('stock_line', 'a'), key('stock_line', 'b')]);
        await s.resync.enqueue(3, [key('stock_line', 'a')]);
      });
      const storage = context.storage();
      const before = { two: await queueOf(storage, 2), three: await queueOf(storage, 3), pending: await storage.resync.pendingBySite() };
      expect(before.two).toEqual([
        [1n, 'stock_line', 'a'],
        [2n, 'stock_line', 'b'],
      ]);

      let sawOwnWrites = false;
      await expect(
        context.unitOfWork().run(async (s) => {
          await s.resync.enqueue(2, [key('stock_line', 'c'), key('stock_line', 'a')]);
          await s.resync.enqueue(4, [key('stock_line', 'x')]);
          await s.resync.acknowledge(3, 1n);
          sawOwnWrites = keysOf(await s.resync.read(2, 0n, 10)).join() === 'stock_line:b,stock_line:c,stock_line:a' && (await s.resync.count(3, 0n)) === 0;
          throw new Error('the topology change failed');
        }),
      ).rejects.toThrow('the topology change failed');

      expect(sawOwnWrites).toBe(true);
      expect({ two: await queueOf(storage, 2), three: await queueOf(storage, 3), pending: await storage.resync.pendingBySite() }).toEqual(before);
      await storage.resync.enqueue(2, [key('stock_line', 'c')]);
      expect((await storage.resync.read(2, 2n, 10)).map((e) => e.id)).toEqual(['c']);
    });
  });

  describe('records selected by routing columns', () => {
    const select = async (selector: RecordSelector): Promise<string[]> => keysOf(await context.storage().records.select(selector, { limit: 100 }));

    it('selects every record for an empty selector, in (type, id) order, with the routing columns and without the data', async () => {
      const { records } = context.storage();
      await records.upsert([...ROUTED].reverse(), LOCAL);

      const all = await records.select({}, { limit: 100 });
      expect(all.map(withoutData)).toEqual(ROUTED.map(withoutData));
      for (const record of all) expect(record.data).toEqual({});
      // the data is still stored
      expect((await records.get('transaction', 't01'))?.data).toEqual({ status: 'picked' });
    });

    it('matches a store by store, other party or home store, and every field given at once', async () => {
      await context.storage().records.upsert(ROUTED, LOCAL);

      expect(await select({ storeIds: ['D'] })).toEqual(['patient:p01', 'stock_line:s01', 'transaction:t01', 'transaction:t03']);
      expect(await select({ storeIds: ['F', 'A'] })).toEqual(['transaction:t01', 'transaction:t02']);
      expect(await select({ patientIds: ['p01'] })).toEqual(['patient:p01', 'transaction:t02']);
      expect(await select({ types: ['stock_line', 'item'] })).toEqual(['item:i01', 'stock_line:s01', 'stock_line:s02']);
      // every given field must match
      expect(await select({ types: ['transaction'], storeIds: ['D'] })).toEqual(['transaction:t01', 'transaction:t03']);
      expect(await select({ storeIds: ['D'], patientIds: ['p01'] })).toEqual(['patient:p01']);
      expect(await select({ types: ['transaction'], patientIds: ['p01'], storeIds: ['E'] })).toEqual(['transaction:t02']);
      expect(await select({ types: ['stock_line'], patientIds: ['p01'] })).toEqual([]);
      // nothing else matches
      expect(await select({ storeIds: ['unknown-store'] })).toEqual([]);
      expect(await select({ types: ['requisition'] })).toEqual([]);
    });

    it('matches nothing for an empty list', async () => {
      await context.storage().records.upsert(ROUTED, LOCAL);

      expect(await select({ storeIds: [] })).toEqual([]);
      expect(await select({ patientIds: [] })).toEqual([]);
      expect(await select({ types: [] })).toEqual([]);
      expect(await select({ types: ['transaction'], storeIds: [] })).toEqual([]);
    });

    it('pages after the last record of a page, across types, giving every matching record exactly once', async () => {
      const { records } = context.storage();
      const made: SyncRecord[] = [];
      for (const type of ['item', 'stock_line', 'transaction']) {
        for (let i = 1; i <= 7; i += 1) made.push({ type, id: `r${String(i).padStart(2, '0')}`, storeId: i % 3 === 0 ? 'E' : 'D', data: { i } });
      }
      await records.upsert([...made].reverse(), LOCAL);
      const expected = keysOf(made.filter((r) => r.storeId === 'D'));

      for (const limit of [1, 4, 5, 100]) {
        const pages: string[][] = [];
        let after: Pick<SyncRecord, 'type' | 'id'> | undefined;
        for (let n = 0; n < 30; n += 1) {
          const page = await records.select({ storeIds: ['D'] }, after ? { after, limit } : { limit });
          expect(page.length).toBeLessThanOrEqual(limit);
          if (page.length === 0) break;
          pages.push(keysOf(page));
          after = { type: page[page.length - 1]!.type, id: page[page.length - 1]!.id };
        }
        expect(pages.flat()).toEqual(expected);
      }
      expect(await records.select({ storeIds: ['D'] }, { limit: 0 })).toEqual([]);
    });
  });

  describe('records removed', () => {
    it('deletes records with their place in the change feed, makes no change, and ignores unknown keys', async () => {
      const storage = context.storage();
      await storage.records.upsert([...ROUTED], LOCAL);
      const feedBefore = await storage.changes.read(0n, 100);
      const head = await storage.changes.head();

      await storage.records.remove([key('stock_line', 's01'), key('transaction', 't03'), key('stock_line', 'never'), key('item', 's02')]);

      expect(await storage.records.get('stock_line', 's01')).toBeNull();
      expect(await storage.records.getMany([key('transaction', 't03'), key('stock_line', 's02')])).toHaveLength(1);
      const remaining = ROUTED.filter((r) => r.id !== 's01' && r.id !== 't03');
      expect(keysOf(await storage.records.select({}, { limit: 100 }))).toEqual(keysOf(remaining));
      // gone from the feed, read or scanned; nothing new in it
      const feed = await storage.changes.read(0n, 100);
      expect(feed.map((c) => c.cursor)).toEqual(feedBefore.filter((c) => c.record.id !== 's01' && c.record.id !== 't03').map((c) => c.cursor));
      expect(keysOf((await storage.changes.scan(0n, 100)).map((c) => c.record))).toEqual(keysOf(feed.map((c) => c.record)));
      expect(await storage.changes.head()).toBe(head);
      expect(await storage.changes.read(head, 100)).toEqual([]);

      await storage.records.remove([]);
      // a removed record written again is stored and in the feed again, once
      await storage.records.upsert([ROUTED[3]!], LOCAL);
      const again = await storage.changes.read(head, 100);
      expect(keysOf(again.map((c) => c.record))).toEqual(['stock_line:s01']);
    });

    it('puts removed records back when the unit of work throws', async () => {
      const storage = context.storage();
      await storage.records.upsert([...ROUTED], LOCAL);
      const feedBefore = await storage.changes.read(0n, 100);

      await expect(
        context.unitOfWork().run(async (s) => {
          await s.records.remove([key('stock_line', 's01')]);
          expect(await s.records.get('stock_line', 's01')).toBeNull();
          throw new Error('failed');
        }),
      ).rejects.toThrow('failed');

      expect(await storage.records.get('stock_line', 's01')).not.toBeNull();
      expect(await storage.changes.read(0n, 100)).toEqual(feedBefore);
    });
  });

  describe('serial numbers raised', () => {
    it('hands out numbers after one found in use, never lowers a counter, and keeps each store and type apart', async () => {
      const { records } = context.storage();
      await records.raiseSerialNumber('D', 'transaction', 41);
      expect(await records.nextSerialNumber('D', 'transaction')).toBe(42);

      await records.raiseSerialNumber('D', 'transaction', 10);
      await records.raiseSerialNumber('D', 'transaction', 42);
      expect(await records.nextSerialNumber('D', 'transaction')).toBe(43);

      await records.nextSerialNumber('F', 'transaction');
      await records.raiseSerialNumber('F', 'transaction', 7);
      expect(await records.nextSerialNumber('F', 'transaction')).toBe(8);

      expect(await records.nextSerialNumber('D', 'requisition')).toBe(1);
      expect(await records.nextSerialNumber('E', 'transaction')).toBe(1);
      expect(await records.nextSerialNumber('D', 'transaction')).toBe(44);
    });
  });

  describe('writes held by a unit of work', () => {
    it('lets the holding unit of work go on writing, and commits its writes', async () => {
      const topology = seedExampleTopology();
      const serial = await context.unitOfWork().run(async (s) => {
        await s.records.holdWrites();
        await s.topology.save(topology);
        await s.records.upsert([ROUTED[3]!], LOCAL);
        await s.resync.enqueue(2, [key('stock_line', 's01')]);
        return s.records.nextSerialNumber('D', 'transaction');
      });

      const storage = context.storage();
      expect(serial).toBe(1);
      expect(await storage.records.get('stock_line', 's01')).not.toBeNull();
      expect(keysOf((await storage.changes.read(0n, 10)).map((c) => c.record))).toEqual(['stock_line:s01']);
      expect(await storage.resync.count(2, 0n)).toBe(1);
      expect(await storage.topology.version()).toBe(1n);
    });

    (context.concurrentConnections ? it : it.skip)('makes a writer in another unit of work wait until the holding one commits; readers go on', async () => {
      const storage = context.storage();
      await storage.records.upsert([ROUTED[0]!], LOCAL);
      const events: string[] = [];
      let writer: Promise<void> | undefined;

      await context.unitOfWork().run(async (s) => {
        await s.records.holdWrites();
        writer = context.unitOfWork().run(async (other) => {
          await other.records.upsert([ROUTED[4]!], { sourceSiteId: 2, viaSync: true });
          events.push('writer wrote');
        });
        // a reader outside the holding unit of work is not held
        expect(await storage.records.get('item', 'i01')).not.toBeNull();
        await new Promise((resolve) => setTimeout(resolve, 300));
        await s.records.upsert([ROUTED[3]!], LOCAL);
        events.push('holder done');
      });
      await writer;

      expect(events).toEqual(['holder done', 'writer wrote']);
      expect(keysOf(await storage.records.select({ types: ['stock_line'] }, { limit: 10 }))).toEqual(['stock_line:s01', 'stock_line:s02']);
    });
  });

  describe('topology version', () => {
    it('is 0 before any save, one more on each save, unchanged by updateSite and by a failed unit of work', async () => {
      const storage = context.storage();
      const topology = seedExampleTopology();
      expect(await storage.topology.version()).toBe(0n);

      await storage.topology.save(topology);
      expect(await storage.topology.version()).toBe(1n);
      await storage.topology.save(topology);
      expect(await storage.topology.version()).toBe(2n);

      await storage.topology.updateSite(2, { failedLoginCount: 1 });
      expect(await storage.topology.version()).toBe(2n);

      await expect(
        context.unitOfWork().run(async (s) => {
          await s.topology.save(topology);
          expect(await s.topology.version()).toBe(3n);
          throw new Error('failed');
        }),
      ).rejects.toThrow('failed');
      expect(await storage.topology.version()).toBe(2n);
      await context.unitOfWork().run((s) => s.topology.save(topology));
      expect(await storage.topology.version()).toBe(3n);
    });
  });
}
