import type { Change } from '../ports/change-feed';
import type { SyncStorage, UnitOfWork } from '../ports/unit-of-work';

/**
 * Runs a processor over the changes after its own cursor, a batch at a time: each batch is scanned
 * (routing columns, no data), handled, and the cursor advanced past it in one unit of work, so a
 * crash repeats a batch and never skips one. The unit of work claims the consumer first
 * (`ChangeFeed.claim`): a second central process running the same consumer waits, then goes on from
 * where the first left it. Returns when no change is left.
 */
export async function consumeChanges(
  unitOfWork: UnitOfWork,
  consumer: string,
  batchSize: number,
  handle: (storage: SyncStorage, changes: readonly Change[]) => Promise<void>,
): Promise<void> {
  for (;;) {
    const more = await unitOfWork.run(async (storage) => {
      const changes = await storage.changes.scan(await storage.changes.claim(consumer), batchSize);
      if (changes.length === 0) return false;
      await handle(storage, changes);
      await storage.changes.advance(consumer, changes[changes.length - 1]!.cursor);
      return true;
    });
    if (!more) return;
  }
}
