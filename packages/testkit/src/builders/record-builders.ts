import type { StoreId, SyncRecord, TransferDocument } from '@sitesync/domain';

let counter = 0;
const nextId = (prefix: string): string => `${prefix}-${++counter}`;

/** A central-data (or any store-less) record of `type`. */
export function centralRecord(type: string, data: Record<string, unknown> = {}, id = nextId(type)): SyncRecord {
  return { type, id, data };
}

/** A record owned by a store: store data, central store data. */
export function storeRecord(type: string, storeId: StoreId, data: Record<string, unknown> = {}, id = nextId(type)): SyncRecord {
  return { type, id, storeId, data };
}

/** A patient-data record of a patient with home store `homeStoreId`. */
export function patientRecord(type: string, patientId: string, homeStoreId: StoreId, data: Record<string, unknown> = {}, id = nextId(type)): SyncRecord {
  return { type, id, patientId, homeStoreId, data };
}

/** A message from one store to another (either may be null). */
export function messageRecord(from: StoreId | null, to: StoreId | null, text = 'hello', id = nextId('message')): SyncRecord {
  return { type: 'message', id, storeId: from, otherPartyStoreId: to, data: { text } };
}

export interface LineSpec {
  readonly itemId: string;
  readonly quantity: number;
  readonly id?: string;
}

interface DocumentSpec {
  readonly id?: string;
  readonly from: StoreId;
  readonly to: StoreId;
  readonly status?: string;
  readonly lines?: readonly LineSpec[];
  readonly data?: Record<string, unknown>;
}

function document(
  type: string,
  lineType: string,
  headerField: string,
  quantityField: string,
  spec: DocumentSpec,
  data: Record<string, unknown>,
): TransferDocument {
  const id = spec.id ?? nextId(type);
  const lines = (spec.lines ?? [{ itemId: 'item-1', quantity: 10 }]).map((l, i) => ({
    type: lineType,
    id: l.id ?? `${id}-l${i + 1}`,
    storeId: spec.from,
    otherPartyStoreId: spec.to,
    data: { [headerField]: id, itemId: l.itemId, [quantityField]: l.quantity },
  }));
  return {
    header: {
      type,
      id,
      storeId: spec.from,
      otherPartyStoreId: spec.to,
      data: { status: spec.status ?? 'finalised', serialNumber: 1, lineCount: lines.length, ...data, ...spec.data },
    },
    lines,
  };
}

/** A customer invoice in store `from` whose customer is store `to` (finalised unless said otherwise). */
export function customerInvoice(spec: DocumentSpec): TransferDocument {
  return document('transaction', 'transaction_line', 'transactionId', 'quantity', spec, { kind: 'customer_invoice' });
}

/** A supplier (request) requisition in store `from` whose supplier is store `to`. */
export function supplierRequisition(spec: DocumentSpec): TransferDocument {
  return document('requisition', 'requisition_line', 'requisitionId', 'requestedQuantity', spec, { kind: 'supplier' });
}

/** A purchase order in store `from` whose supplier is store `to` (confirmed unless said otherwise). */
export function purchaseOrder(spec: DocumentSpec): TransferDocument {
  return document('purchase_order', 'purchase_order_line', 'purchaseOrderId', 'quantity', { status: 'confirmed', ...spec }, {});
}

/** Header and lines as one list, in the order they are written. */
export function recordsOf(doc: TransferDocument): SyncRecord[] {
  return [doc.header, ...doc.lines];
}
