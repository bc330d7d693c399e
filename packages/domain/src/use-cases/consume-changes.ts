import type { Change } from '../ports/change-feed';
import type { SyncStorage, UnitOfWork } from '../ports/unit-of-work';

/** Changes one unit of work of a consumer goes over at most when none of them concerns it. */
export const MAX_CHANGES_PER_UNIT = 20_000;

/**
 * Runs a processor over the changes after its own cursor, a batch at a time: each batch is scanned
 * (routing columns, no data), handled, and the cursor advanced past it in one unit of work, so a
 * crash repeats a batch and never skips one. A handler that says a batch did not concern it
 * (`false`: it wrote nothing) goes on with the next batch in the same unit of work, up to
 * MAX_CHANGES_PER_UNIT, and the cursor is advanced once past all of them: the same effect as one
 * unit of work per batch, with fewer of them. The unit of work claims the consumer first
 * (`ChangeFeed.claim`): a second central process running the same consumer waits, then goes on from
 * where the first left it. Returns when no change is left.
 */
export async function consumeChanges(
  unitOfWork: UnitOfWork,
  consumer: string,
  batchSize: number,
  handle: (storage: SyncStorage, changes: readonly Change[]) => Promise<boolean | void>,
): Promise<void> {
  for (;;) {
    const more = await unitOfWork.run(async (storage) => {
      const from = await storage.changes.claim(consumer);
      let cursor = from;
      let left = true;
      for (let read = 0; read < MAX_CHANGES_PER_UNIT;) {
        const changes = await storage.changes.scan(cursor, batchSize);
        if (changes.length === 0) {
          left = false;
          break;
        }
        cursor = changes[changes.length - 1]!.cursor;
        read += changes.length;
        if ((await handle(storage, changes)) !== false) break;
      }
      if (cursor > from) await storage.changes.advance(consumer, cursor);
      return left;
    });
    if (!more) return;
  }
}
