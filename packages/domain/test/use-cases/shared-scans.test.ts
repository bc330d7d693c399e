import { sharingScans, withScan, type SyncRecord, type SyncStorage, type UnitOfWork } from '@sitesync/domain';
import { createInMemoryStorage } from '@sitesync/testkit';

const LOCAL = { sourceSiteId: 2, viaSync: false } as const;
const line = (id: string, data: Record<string, unknown> = {}): SyncRecord => ({ type: 'stock_line', id, storeId: 'D', data });

/** The in-memory storage with its feed's scans counted. */
function countingStorage() {
  const storage = createInMemoryStorage();
  const scans: string[] = [];
  const unitOfWork: UnitOfWork = {
    run: <T>(work: (s: SyncStorage) => Promise<T>) =>
      storage.run((s) => {
        const feed = s.changes;
        return work({ ...s, changes: withScan(feed, (after, limit) => (scans.push(`${after}:${limit}`), feed.scan(after, limit))) });
      }),
  };
  return { storage, scans, unitOfWork };
}

describe('sharingScans', () => {
  it('gives a page scanned before to the next unit of work that asks for it while the feed is the same', async () => {
    const { storage, scans, unitOfWork } = countingStorage();
    await storage.storage.records.upsert([line('a'), line('b'), line('c')], LOCAL);
    const shared = sharingScans(unitOfWork);
    const first = await shared.run((s) => s.changes.scan(0n, 2));
    const second = await shared.run((s) => s.changes.scan(0n, 2));
    expect(second).toEqual(first);
    expect(first.map((c) => c.record.id)).toEqual(['a', 'b']);
    expect(scans).toEqual(['0:2']);
    // another page, or another size, is scanned
    expect((await shared.run((s) => s.changes.scan(2n, 2))).map((c) => c.record.id)).toEqual(['c']);
    await shared.run((s) => s.changes.scan(0n, 3));
    expect(scans).toEqual(['0:2', '2:2', '0:3']);
  });

  it('scans again once the feed changed: a record rewritten leaves its page', async () => {
    const { storage, scans, unitOfWork } = countingStorage();
    await storage.storage.records.upsert([line('a'), line('b')], LOCAL);
    const shared = sharingScans(unitOfWork);
    expect((await shared.run((s) => s.changes.scan(0n, 2))).map((c) => c.record.id)).toEqual(['a', 'b']);
    await storage.storage.records.upsert([line('a', { changed: true })], LOCAL);
    expect((await shared.run((s) => s.changes.scan(0n, 2))).map((c) => c.record.id)).toEqual(['b', 'a']);
    // a write inside the unit of work that scans counts too
    const inside = await shared.run(async (s) => {
      await s.records.upsert([line('b', { changed: true })], LOCAL);
      return s.changes.scan(0n, 2);
    });
    expect(inside.map((c) => c.record.id)).toEqual(['a', 'b']);
    expect(scans).toEqual(['0:2', '0:2', '0:2']);
  });

  it('passes every other call to the unit of work as it is', async () => {
    const { storage, unitOfWork } = countingStorage();
    const shared = sharingScans(unitOfWork);
    await shared.run(async (s) => {
      await s.records.upsert([line('a')], LOCAL);
      await s.changes.advance('consumer', 1n);
    });
    expect(await storage.storage.records.get('stock_line', 'a')).not.toBeNull();
    expect(await storage.storage.changes.cursorOf('consumer')).toBe(1n);
    expect(await shared.run((s) => s.changes.read(0n, 10))).toHaveLength(1);
  });
});
