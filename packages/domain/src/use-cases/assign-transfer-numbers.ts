import { recordKey } from '../record';
import type { SiteId } from '../site';
import type { Topology } from '../topology';
import type { Clock } from '../ports/services';
import type { UnitOfWork } from '../ports/unit-of-work';
import { consumeChanges } from './consume-changes';
import { isTransferHeaderType, numberSequenceOf } from '../transfers/transfer-documents';
import { assignTransferNumber, awaitsTransferNumber } from '../transfers/transfer-rules';

export const TRANSFER_NUMBERING = 'transfer-numbering';

/**
 * On the responding site: every responding half of a store active here that still carries serial
 * number -1 gets the store's next number of its document kind (`numberSequenceOf`), and a log message goes back to the initiating store.
 * Numbering, the message and the cursor move are one unit of work: a half is never numbered twice.
 */
export async function assignTransferNumbers(
  deps: { readonly unitOfWork: UnitOfWork; readonly clock: Clock },
  topology: Topology,
  siteId: SiteId,
  options: { readonly batchSize?: number } = {},
): Promise<readonly string[]> {
  const numbered: string[] = [];
  const batchSize = options.batchSize ?? 2_000;
  await consumeChanges(deps.unitOfWork, TRANSFER_NUMBERING, batchSize, async (storage, changes) => {
    for (const { record } of changes) {
      // scanned without data: a header of a store active here is read, then checked for -1
      if (!isTransferHeaderType(record.type) || !record.storeId || topology.store(record.storeId)?.activeSiteId !== siteId) continue;
      const [current] = await storage.records.lockMany([record]); // no other write of it in between
      if (!current || !awaitsTransferNumber(topology, siteId, current)) continue;
      const next = await storage.records.nextSerialNumber(current.storeId!, numberSequenceOf(current));
      const result = assignTransferNumber(topology, siteId, current, next);
      if (!result.ok) {
        await storage.issues.report(recordKey(current), result.error, deps.clock.now());
        continue;
      }
      await storage.records.upsert([result.value.header, result.value.logMessage], { sourceSiteId: siteId, viaSync: false });
      numbered.push(recordKey(current));
    }
  });
  return numbered;
}
