import type { SiteId } from '../site';
import type { Topology } from '../topology';
import type { Clock } from '../ports/services';
import type { UnitOfWork } from '../ports/unit-of-work';
import { consumeChanges } from './consume-changes';
import { isTransferHeaderType, respondingId } from '../transfers/transfer-documents';
import { decideEdit } from '../rules/edit-rules';
import { initiatingRefOf, RESPONSE_FIELD, transferResponse } from '../transfers/transfer-feedback';

export const TRANSFER_FEEDBACK = 'transfer-feedback';

/**
 * On the site that may edit the initiating header (where its store is active; the primary for a
 * purchase order under centralised procurement): when a responding half arrives or changes
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
      // scanned without data: a header whose other party (the initiating store) is active here, or on the
      // primary one answering a purchase order (which centralised procurement makes the primary's to edit)
      if (!isTransferHeaderType(record.type) || !record.otherPartyStoreId) continue;
      const here = topology.store(record.otherPartyStoreId)?.activeSiteId === siteId;
      if (!here && !(topology.primary.id === siteId && record.id.endsWith(respondingId('', 'internal-order')))) continue;
      const responding = await storage.records.get(record.type, record.id);
      const ref = responding ? initiatingRefOf(responding) : null;
      if (!responding || !ref) continue;
      // locked until this unit of work ends: a write of it in between (its site's user) is not overwritten
      const [initiating] = await storage.records.lockMany([ref]);
      if (!initiating || initiating.deleted === true) continue;
      if (initiating.storeId !== responding.otherPartyStoreId || initiating.otherPartyStoreId !== responding.storeId) continue;
      if (!decideEdit(topology, siteId, initiating).ok) continue; // the site that may edit it shows it
      const response = transferResponse(initiating, responding, deps.clock.now());
      if (!response) continue;
      await storage.records.upsert([{ ...initiating, data: { ...initiating.data, [RESPONSE_FIELD]: response } }], { sourceSiteId: siteId, viaSync: false });
      updated.push(`${initiating.type}:${initiating.id}`);
    }
  });
  return updated;
}
