import type { Change, ChangeFeed } from '../ports/change-feed';
import type { SyncStorage, UnitOfWork } from '../ports/unit-of-work';

/** Changes kept for the later processors of one run at most (without their data: about 25 MB for 100,000); pages beyond are scanned by each. */
export const MAX_SHARED_CHANGES = 100_000;

/**
 * The units of work of one processing run, whose processors scan the same pages of the change feed
 * one after the other (each from its own cursor, usually the same one): a page scanned by one is
 * given to the next that asks for the same page while the feed has not changed since, instead of
 * being scanned again. The feed has not changed while its head has not moved (every write, and
 * every rewrite of a record, takes new cursors), which each scan checks first; a page read before
 * a change is read again. (A record removed meanwhile, which takes no cursor, is still in a page
 * given again: as if that processor had scanned before the removal, which it must bear anyway, as
 * it reads what it needs of each change in its own unit of work.) Everything else goes to
 * `unitOfWork` as it is.
 */
export function sharingScans(unitOfWork: UnitOfWork): UnitOfWork {
  const pages = new Map<string, { readonly head: bigint; readonly changes: readonly Change[] }>();
  let kept = 0;
  const scanOf =
    (feed: ChangeFeed) =>
    async (after: bigint, limit: number): Promise<readonly Change[]> => {
      const head = await feed.head();
      const key = `${after}:${limit}`;
      const page = pages.get(key);
      if (page && page.head === head) return page.changes;
      if (page) {
        pages.delete(key);
        kept -= page.changes.length;
      }
      const changes = await feed.scan(after, limit);
      if (kept + changes.length <= MAX_SHARED_CHANGES) {
        pages.set(key, { head, changes });
        kept += changes.length;
      }
      return changes;
    };
  return {
    run: <T>(work: (storage: SyncStorage) => Promise<T>): Promise<T> =>
      unitOfWork.run((storage) => {
        return work({ ...storage, changes: withScan(storage.changes, scanOf(storage.changes)) });
      }),
  };
}

/** `feed` with another `scan`; every other call goes to `feed` itself. */
export function withScan(feed: ChangeFeed, scan: ChangeFeed['scan']): ChangeFeed {
  return Object.assign(Object.create(feed) as ChangeFeed, { scan });
}
