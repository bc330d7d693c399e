import { consumeChanges, MAX_CHANGES_PER_UNIT, type SyncRecord, type SyncStorage, type UnitOfWork } from '@sitesync/domain';
import { createInMemoryStorage } from '@sitesync/testkit';

const LOCAL = { sourceSiteId: 2, viaSync: false } as const;
const lines = (n: number): SyncRecord[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'stock_line', id: `s${String(i).padStart(6, '0')}`, storeId: 'D', data: {} }));

function counted() {
  const storage = createInMemoryStorage();
  const units = { count: 0 };
  const unitOfWork: UnitOfWork = {
    run: <T>(work: (s: SyncStorage) => Promise<T>) => {
      units.count++;
      return storage.run(work);
    },
  };
  return { storage, unitOfWork, units };
}

describe('consumeChanges', () => {
  it('one unit of work per batch that concerns the consumer, and the cursor past each', async () => {
    const { storage, unitOfWork, units } = counted();
    await storage.storage.records.upsert(lines(5), LOCAL);
    const seen: string[][] = [];
    await consumeChanges(unitOfWork, 'c', 2, async (_s, changes) => {
      seen.push(changes.map((c) => c.record.id));
    });
    expect(seen).toEqual([['s000000', 's000001'], ['s000002', 's000003'], ['s000004']]);
    expect(units.count).toBe(4); // three batches, then one that finds nothing left
    expect(await storage.storage.changes.cursorOf('c')).toBe(5n);
  });

  it('goes on in the same unit of work past batches that do not concern it, up to the one that does', async () => {
    const { storage, unitOfWork, units } = counted();
    await storage.storage.records.upsert(lines(7), LOCAL);
    const handled: string[] = [];
    await consumeChanges(unitOfWork, 'c', 2, async (s, changes) => {
      const concerned = changes.some((c) => c.record.id === 's000003');
      if (concerned) await s.settings.set('seen', (await s.changes.cursorOf('c')).toString()); // the cursor is not moved yet inside
      handled.push(changes.map((c) => c.record.id).join(','));
      return concerned;
    });
    expect(handled).toEqual(['s000000,s000001', 's000002,s000003', 's000004,s000005', 's000006']);
    expect(await storage.storage.settings.get('seen')).toBe('0');
    expect(units.count).toBe(2); // batches 1-2 together; then 3, 4 and the end together
    expect(await storage.storage.changes.cursorOf('c')).toBe(7n);
  });

  it('a failure in a later batch undoes the unit of work: the cursor stays before the batches that did not concern it either', async () => {
    const { storage, unitOfWork } = counted();
    await storage.storage.records.upsert(lines(6), LOCAL);
    let calls = 0;
    await expect(
      consumeChanges(unitOfWork, 'c', 2, async () => {
        if (++calls === 3) throw new Error('processing failed');
        return false;
      }),
    ).rejects.toThrow('processing failed');
    expect(await storage.storage.changes.cursorOf('c')).toBe(0n);
  });

  it(`ends a unit of work after ${MAX_CHANGES_PER_UNIT} changes that did not concern it`, async () => {
    const { storage, unitOfWork, units } = counted();
    await storage.storage.records.upsert(lines(MAX_CHANGES_PER_UNIT + 10), LOCAL);
    await consumeChanges(unitOfWork, 'c', 5_000, () => Promise.resolve(false));
    expect(units.count).toBe(2);
    expect(await storage.storage.changes.cursorOf('c')).toBe(BigInt(MAX_CHANGES_PER_UNIT + 10));
  });
});
