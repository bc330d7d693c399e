import type { SyncRecord } from '../record';
import { transferNumberingConcerns, TRANSFER_NUMBERING } from './assign-transfer-numbers';
import { transferProcessorConcerns, TRANSFER_PROCESSOR } from './process-transfers';
import { transferFeedbackConcerns, TRANSFER_FEEDBACK } from './report-transfer-feedback';
import { purchaseOrderReceiptsConcern, PURCHASE_ORDER_RECEIPTS } from './update-purchase-order-receipts';

/** A change-feed processor of a site and the changes it looks at. */
export interface ProcessorInterest {
  /** the consumer its cursor is kept under */
  readonly consumer: string;
  /**
   * Whether the processor may do something with a change of this record: decided from its type and
   * routing columns only (no data, no topology), so it holds whatever the topology becomes. A
   * superset of what the processor handles; a change it says no to, the processor would skip.
   */
  readonly concerns: (record: SyncRecord) => boolean;
}

/** The processors `runSiteProcessors` runs, each with the changes it looks at. */
export const SITE_PROCESSOR_INTERESTS: readonly ProcessorInterest[] = [
  { consumer: TRANSFER_PROCESSOR, concerns: transferProcessorConcerns },
  { consumer: TRANSFER_NUMBERING, concerns: transferNumberingConcerns },
  { consumer: PURCHASE_ORDER_RECEIPTS, concerns: purchaseOrderReceiptsConcern },
  { consumer: TRANSFER_FEEDBACK, concerns: transferFeedbackConcerns },
];
