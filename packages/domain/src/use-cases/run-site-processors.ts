import type { SiteId } from '../site';
import type { Topology } from '../topology';
import type { Clock } from '../ports/services';
import type { UnitOfWork } from '../ports/unit-of-work';
import { assignTransferNumbers } from './assign-transfer-numbers';
import { emptyTransferReport, processTransfers, type TransferReport } from './process-transfers';
import { reportTransferFeedback } from './report-transfer-feedback';
import { sharingScans } from './shared-scans';
import { updatePurchaseOrderReceipts } from './update-purchase-order-receipts';

export interface ProcessorReport {
  readonly transfers: TransferReport;
  /** responding halves this site numbered */
  readonly numbered: readonly string[];
  /** purchase order lines whose received quantities this site updated */
  readonly receipts: readonly string[];
  /** initiating headers that now show their responding half's progress */
  readonly feedback: readonly string[];
}

/** What a processing run did, counted for a log line; null when it did nothing worth logging. */
export function processorSummary(report: ProcessorReport): Record<string, number> | null {
  const t = report.transfers;
  const counts = {
    created: t.created.length,
    updated: t.updated.length,
    deleted: t.deleted.length,
    conflicts: t.conflicts.length,
    refused: t.refused.length,
    numbered: report.numbered.length,
    receipts: report.receipts.length,
    feedback: report.feedback.length,
  };
  return Object.values(counts).some((n) => n > 0) ? counts : null;
}

/** How many records the processors wrote (0: nothing new came out). */
export function processorWrites(report: ProcessorReport): number {
  const t = report.transfers;
  return t.created.length + t.updated.length + t.deleted.length + report.numbered.length + report.receipts.length + report.feedback.length;
}

/**
 * What a site does after it wrote or received records: complete the transfers it is responsible
 * for, number the responding halves of its stores, update purchase-order receipts it owns, show
 * responding halves' progress on its initiating halves. Runs until nothing new comes out (one
 * step's output can feed another on the same site).
 */
export async function runSiteProcessors(
  deps: { readonly unitOfWork: UnitOfWork; readonly clock: Clock },
  topology: Topology,
  siteId: SiteId,
): Promise<ProcessorReport> {
  // the four processors scan the same pages of the feed, one after the other: each page is read once while the feed stays the same
  const shared = { ...deps, unitOfWork: sharingScans(deps.unitOfWork) };
  const transfers = emptyTransferReport();
  const numbered: string[] = [];
  const receipts: string[] = [];
  const feedback: string[] = [];
  for (let round = 0; round < 10; round++) {
    const t = await processTransfers(shared, topology, siteId);
    const n = await assignTransferNumbers(shared, topology, siteId);
    const r = await updatePurchaseOrderReceipts(shared, topology, siteId);
    const f = await reportTransferFeedback(shared, topology, siteId);
    transfers.created.push(...t.created);
    transfers.updated.push(...t.updated);
    transfers.deleted.push(...t.deleted);
    transfers.alreadyProcessed.push(...t.alreadyProcessed);
    transfers.pending = [...t.pending];
    transfers.refused = [...t.refused];
    transfers.conflicts.push(...t.conflicts);
    transfers.raced.push(...t.raced);
    numbered.push(...n);
    receipts.push(...r);
    feedback.push(...f);
    const round_ = { transfers: t, numbered: n, receipts: r, feedback: f };
    if (processorWrites(round_) === 0) break;
  }
  return { transfers, numbered, receipts, feedback };
}
