import type { SiteId } from '../site';
import type { Topology } from '../topology';
import type { Clock } from '../ports/services';
import type { UnitOfWork } from '../ports/unit-of-work';
import { consumeChanges } from './consume-changes';
import { isTransferHeaderType } from '../transfers/transfer-documents';
import { initiatingRefOf, RESPONSE_FIELD, transferResponse } from '../transfers/transfer-feedback';

export const TRANSFER_FEEDBACK = 'transfer-feedback';

/**
 * On the site where the initiating store is active: when a responding half arrives or changes
 * (numbered, touched, finalised, deleted), its initiating header shows it (`data.response`: state,
 * responding number, times). The initiating header is the initiating store's own data, so only that
 * site writes it, and the normal routing carries it to the other sites. Returns the headers updated.
 */
export async function reportTransferFeedback(
  deps: { readonly unitOfWork: UnitOfWork; readonly clock: Clock },
  topology: Topology,
  siteId: SiteId,
  options: { readonly batchSize?: number } = {},
): Promise<readonly string[]> {
  const updated: string[] = [];
  await consumeChanges(deps.unitOfWork, TRANSFER_FEEDBACK, options.batchSize ?? 2_000, async (storage, changes) => {
    for (const { record } of changes) {
      // scanned without data: a header whose other party (the initiating store) is active here
      if (!isTransferHeaderType(record.type) || !record.otherPartyStoreId || topology.store(record.otherPartyStoreId)?.activeSiteId !== siteId) continue;
      const responding = await storage.records.get(record.type, record.id);
      const ref = responding ? initiatingRefOf(responding) : null;
      if (!responding || !ref) continue;
      const initiating = await storage.records.get(ref.type, ref.id);
      if (!initiating || initiating.deleted === true) continue;
      if (initiating.storeId !== responding.otherPartyStoreId || initiating.otherPartyStoreId !== responding.storeId) continue;
      const response = transferResponse(initiating, responding, deps.clock.now());
      if (!response) continue;
      await storage.records.upsert([{ ...initiating, data: { ...initiating.data, [RESPONSE_FIELD]: response } }], { sourceSiteId: siteId, viaSync: false });
      updated.push(`${initiating.type}:${initiating.id}`);
    }
  });
  return updated;
}
