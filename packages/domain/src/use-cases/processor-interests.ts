import type { SyncRecord } from '../record';
import { isTransferHeaderType, TRANSFER_LINE_TYPES } from '../transfers/transfer-documents';
import { TRANSFER_NUMBERING } from './assign-transfer-numbers';
import { TRANSFER_PROCESSOR } from './process-transfers';
import { TRANSFER_FEEDBACK } from './report-transfer-feedback';
import { PURCHASE_ORDER_RECEIPTS } from './update-purchase-order-receipts';

/** A change-feed processor of a site and the changes it looks at. */
export interface ProcessorInterest {
  /** the consumer its cursor is kept under */
  readonly consumer: string;
  /**
   * Whether the processor may do something with a change of this record: decided from its type and
   * routing columns only (no data, no topology), so it holds whatever the topology becomes. A
   * superset of what the processor's own filter lets through (keep them in step); a change it says
   * no to, the processor would skip.
   */
  readonly concerns: (record: SyncRecord) => boolean;
}

const TRANSFER_LINES: ReadonlySet<string> = new Set(Object.values(TRANSFER_LINE_TYPES));

/** The processors `runSiteProcessors` runs, each with the changes it looks at. */
export const SITE_PROCESSOR_INTERESTS: readonly ProcessorInterest[] = [
  // transfer processing: headers and lines between two stores
  { consumer: TRANSFER_PROCESSOR, concerns: (r) => !!r.otherPartyStoreId && (isTransferHeaderType(r.type) || TRANSFER_LINES.has(r.type)) },
  // numbering: transfer headers of a store (those of a store active here)
  { consumer: TRANSFER_NUMBERING, concerns: (r) => isTransferHeaderType(r.type) && !!r.storeId },
  // purchase-order receipts: goods received headers and lines
  { consumer: PURCHASE_ORDER_RECEIPTS, concerns: (r) => r.type === 'goods_received' || r.type === 'goods_received_line' },
  // feedback: transfer headers with another party
  { consumer: TRANSFER_FEEDBACK, concerns: (r) => isTransferHeaderType(r.type) && !!r.otherPartyStoreId },
];

/**
 * Whether writing this record may give a site's processors something to do (any of them is
 * concerned): a write of nothing else (stock lines, items, patients...) is left for the next run,
 * which passes over it, so it costs no processing run of its own.
 */
export function concernsProcessors(record: SyncRecord): boolean {
  return SITE_PROCESSOR_INTERESTS.some((interest) => interest.concerns(record));
}
