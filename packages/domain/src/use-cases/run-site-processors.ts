import type { SiteId } from '../site';
import type { Topology } from '../topology';
import type { Clock } from '../ports/services';
import type { UnitOfWork } from '../ports/unit-of-work';
import { assignTransferNumbers } from './assign-transfer-numbers';
import { processTransfers, type TransferReport } from './process-transfers';
import { updatePurchaseOrderReceipts } from './update-purchase-order-receipts';

export interface ProcessorReport {
  readonly transfers: TransferReport;
  /** responding halves this site numbered */
  readonly numbered: readonly string[];
  /** purchase order lines whose received quantities this site updated */
  readonly receipts: readonly string[];
}

/**
 * What a site does after it wrote or received records: complete the transfers it is responsible
 * for, number the responding halves of its stores, update purchase-order receipts it owns. Runs
 * until nothing new comes out (one step's output can feed another on the same site).
 */
export async function runSiteProcessors(
  deps: { readonly unitOfWork: UnitOfWork; readonly clock: Clock },
  topology: Topology,
  siteId: SiteId,
): Promise<ProcessorReport> {
  const created: string[] = [];
  const linesAdded: string[] = [];
  const alreadyProcessed: string[] = [];
  let pending: TransferReport['pending'] = [];
  let refused: TransferReport['refused'] = [];
  const numbered: string[] = [];
  const receipts: string[] = [];
  for (let round = 0; round < 10; round++) {
    const transfers = await processTransfers(deps, topology, siteId);
    const n = await assignTransferNumbers(deps, topology, siteId);
    const r = await updatePurchaseOrderReceipts(deps, topology, siteId);
    created.push(...transfers.created);
    linesAdded.push(...transfers.linesAdded);
    alreadyProcessed.push(...transfers.alreadyProcessed);
    pending = transfers.pending;
    refused = transfers.refused;
    numbered.push(...n);
    receipts.push(...r);
    if (transfers.created.length + transfers.linesAdded.length + n.length + r.length === 0) break;
  }
  return { transfers: { created, linesAdded, alreadyProcessed, pending, refused }, numbered, receipts };
}
