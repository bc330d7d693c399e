import type { SyncRecord } from '../record';

/** The kinds of transfer of seed 002's "Transfers" section. */
export const TRANSFER_KINDS = [
  /** customer invoice finalised in A, customer is store B -> supplier invoice on hold in B */
  'stock-transfer',
  /** supplier requisition finalised in A, supplier is store B -> response requisition in B */
  'mobile-requisition',
  /** internal requisition, stage 1: purchase order confirmed in A, supplier is store B -> customer invoice in B */
  'internal-order',
  /** internal requisition, stage 2: that customer invoice finalised in B -> goods received in A */
  'internal-receipt',
] as const;
export type TransferKind = (typeof TRANSFER_KINDS)[number];

export const TRANSACTION_KINDS = ['customer_invoice', 'supplier_invoice', 'prescription', 'inventory_adjustment'] as const;
export type TransactionKind = (typeof TRANSACTION_KINDS)[number];

export const DOCUMENT_STATUSES = ['new', 'suggested', 'confirmed', 'finalised'] as const;
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];

export const REQUISITION_KINDS = ['supplier', 'response'] as const;
export type RequisitionKind = (typeof REQUISITION_KINDS)[number];

/** The serial number a responding half carries until its own site numbers it. */
export const UNASSIGNED_SERIAL_NUMBER = -1;

/** Header record type -> line record type, for the record types that take part in transfers. */
export const TRANSFER_LINE_TYPES = {
  transaction: 'transaction_line',
  requisition: 'requisition_line',
  purchase_order: 'purchase_order_line',
  goods_received: 'goods_received_line',
} as const;
export type TransferHeaderType = keyof typeof TRANSFER_LINE_TYPES;

/** The field of a line that names its header. */
export const HEADER_ID_FIELD: Record<TransferHeaderType, string> = {
  transaction: 'transactionId',
  requisition: 'requisitionId',
  purchase_order: 'purchaseOrderId',
  goods_received: 'goodsReceivedId',
};

export function isTransferHeaderType(type: string): type is TransferHeaderType {
  return type in TRANSFER_LINE_TYPES;
}

/** The header of the document a record belongs to: itself for a header, the one its header-id field names for a line, else null. */
export function documentHeaderOf(record: SyncRecord): { readonly type: TransferHeaderType; readonly id: string } | null {
  if (isTransferHeaderType(record.type)) return { type: record.type, id: record.id };
  for (const [headerType, lineType] of Object.entries(TRANSFER_LINE_TYPES) as [TransferHeaderType, string][]) {
    if (record.type !== lineType) continue;
    const id = str(record.data, HEADER_ID_FIELD[headerType]);
    return id ? { type: headerType, id } : null;
  }
  return null;
}

/**
 * A header and its lines: what a transfer is made of and what is applied atomically. A header
 * may say how many lines it has (`data.lineCount`) so that a half whose lines have not all
 * arrived yet is held back instead of completed without them.
 */
export interface TransferDocument {
  readonly header: SyncRecord;
  readonly lines: readonly SyncRecord[];
}

/** Ids of responding records are derived from the initiating ones, so processing twice writes the same records. */
export function respondingId(initiatingId: string, kind: TransferKind): string {
  const suffix: Record<TransferKind, string> = {
    'stock-transfer': 'si',
    'mobile-requisition': 'rr',
    'internal-order': 'ci',
    'internal-receipt': 'gr',
  };
  return `${initiatingId}.${suffix[kind]}`;
}

export function str(data: SyncRecord['data'], field: string): string | null {
  const v = data[field];
  return typeof v === 'string' && v !== '' ? v : null;
}

export function num(data: SyncRecord['data'], field: string): number | null {
  const v = data[field];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
