import { canonicalJson, type SyncRecord } from '../record';
import type { RuleViolation } from '../result';

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

/** The field of every record of a responding half that holds the digest of what the transfer wrote into it. */
export const TRANSFER_COPY_FIELD = 'transferCopy';
/** Set on the tombstone of a responding record that the transfer itself deleted (the initiating record was deleted). */
export const DELETED_BY_TRANSFER_FIELD = 'deletedByTransfer';
/** Fields of a responding record that its own site changes without touching what was transferred. */
const NOT_COPIED: ReadonlySet<string> = new Set([TRANSFER_COPY_FIELD, 'serialNumber']);

/**
 * A digest of the transferred content of a responding record: its data without the digest and the
 * serial number (which the responding site sets). 53-bit cyrb53 over canonical JSON: it tells an
 * edited record from an untouched one; it is not a security measure.
 */
export function transferCopyDigest(data: SyncRecord['data']): string {
  const keys = Object.keys(data)
    .filter((k) => !NOT_COPIED.has(k))
    .sort();
  const text = canonicalJson(keys.map((k) => [k, data[k]]));
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/** A record of a responding half as the transfer writes it: its data stamped with the digest of its transferred content. */
export function stampTransferCopy(record: SyncRecord): SyncRecord {
  return { ...record, data: { ...record.data, [TRANSFER_COPY_FIELD]: transferCopyDigest(record.data) } };
}

/**
 * Has the responding site left this record as the transfer wrote it? A live record whose content
 * still matches its digest, or a tombstone the transfer wrote. A record without a digest (added by
 * the responding store) or changed since, or deleted by its store, was touched.
 */
export function untouchedTransferCopy(record: SyncRecord): boolean {
  if (record.deleted === true) return record.data[DELETED_BY_TRANSFER_FIELD] === true;
  const stamp = record.data[TRANSFER_COPY_FIELD];
  return typeof stamp === 'string' && stamp === transferCopyDigest(record.data);
}

/**
 * The tombstone shape (docs/transfers.md, "Deletions"): `deleted: true`, the routing columns the
 * record had, and `data` with at least the record's link to its document: a line of a transfer
 * document names its header (`transactionId`, `requisitionId`, `purchaseOrderId`,
 * `goodsReceivedId`). Anything else in a tombstone's data is kept but read by no rule.
 */
export function tombstoneProblem(record: SyncRecord): RuleViolation<'record.tombstone-without-header'> | null {
  if (record.deleted !== true) return null;
  for (const [headerType, lineType] of Object.entries(TRANSFER_LINE_TYPES) as [TransferHeaderType, string][]) {
    if (record.type !== lineType) continue;
    const field = HEADER_ID_FIELD[headerType];
    if (str(record.data, field)) return null;
    return {
      code: 'record.tombstone-without-header',
      rule: 'the deletion of a document line names its header, so that both halves of a transfer can follow it',
      message: `The deletion of ${record.type} ${record.id} has no data.${field}: it does not say which ${headerType.replace('_', ' ')} the line belonged to.`,
      fix: `Send the deletion as {"type":"${record.type}","id":"${record.id}","deleted":true, the same storeId/otherPartyStoreId, "data":{"${field}":"<header id>"}}.`,
    };
  }
  return null;
}

/** A tombstone the transfer writes for a responding record whose initiating record is gone. */
export function transferTombstone(record: SyncRecord): SyncRecord {
  const link: Record<string, unknown> = { [DELETED_BY_TRANSFER_FIELD]: true };
  for (const field of [...Object.values(HEADER_ID_FIELD), 'linkedLineId', 'createdByTransfer']) {
    if (record.data[field] !== undefined) link[field] = record.data[field];
  }
  return { ...record, deleted: true, data: link };
}

/**
 * The number sequence of a document: each kind of document of a store is numbered on its own
 * (`transaction:supplier_invoice`, `transaction:customer_invoice`, `requisition:response`,
 * `goods_received`...).
 */
export function numberSequenceOf(record: Pick<SyncRecord, 'type' | 'data'>): string {
  const kind = record.data['kind'];
  return typeof kind === 'string' && kind !== '' ? `${record.type}:${kind}` : record.type;
}
