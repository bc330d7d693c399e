import type { SyncRecord } from '../record';
import type { Store } from '../store';
import { respondingId, str, UNASSIGNED_SERIAL_NUMBER, type TransferDocument, type TransferKind } from './transfer-documents';

/**
 * What the responding half copies from the initiating half, per kind (docs/transfers.md names
 * them; Open mSupply's CreateInboundInvoiceProcessor and CreateResponseRequisitionProcessor are the
 * reference). Fields absent from the initiating record are written as null, so the copy is the same
 * whatever the sender left out.
 */
export const COPIED_FIELDS = {
  'stock-transfer': {
    header: ['reference', 'comment', 'currency', 'currencyRate', 'tax', 'transportReference', 'shippedAt', 'expectedDeliveryDate'],
    line: ['itemId', 'itemCode', 'itemName', 'batch', 'expiryDate', 'packSize', 'numberOfPacks', 'quantity', 'note', 'tax'],
  },
  'mobile-requisition': {
    header: ['reference', 'comment', 'minMonthsOfStock', 'maxMonthsOfStock', 'expectedDeliveryDate', 'programId', 'periodId', 'orderType', 'isEmergency'],
    line: ['itemId', 'itemCode', 'itemName', 'requestedQuantity', 'suggestedQuantity', 'stockOnHand', 'averageMonthlyConsumption', 'comment', 'packSize'],
  },
  'internal-order': {
    header: ['reference', 'comment', 'expectedDeliveryDate'],
    line: ['itemId', 'itemCode', 'itemName', 'packSize', 'numberOfPacks', 'quantity', 'note'],
  },
  'internal-receipt': {
    header: ['reference', 'comment', 'transportReference', 'shippedAt'],
    line: ['itemId', 'itemCode', 'itemName', 'batch', 'expiryDate', 'packSize', 'numberOfPacks', 'quantity', 'note'],
  },
} as const satisfies Record<TransferKind, { readonly header: readonly string[]; readonly line: readonly string[] }>;

/** What building a responding half needs to know beyond the initiating document. */
export interface RespondingContext {
  /** stock transfer fulfilling a response requisition: the requester's own (supplier) requisition it answers */
  readonly requesterRequisitionId?: string | null;
  /** the responding store is active on a mobile site (a mobile requisition then shows as a customer requisition) */
  readonly respondingOnMobile?: boolean;
}

function pick(data: SyncRecord['data'], fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = data[f] ?? null;
  return out;
}

function describeNumber(header: SyncRecord, what: string): string {
  const n = header.data['serialNumber'];
  const ref = str(header.data, 'reference');
  return `From ${what} number ${typeof n === 'number' ? n : '?'}${ref ? ` (${ref})` : ''}`;
}

/** The responding half of `doc` (its live lines only), as the transfer writes it: serial -1, every copied field, links back. */
export function buildRespondingHalf(
  kind: TransferKind,
  doc: TransferDocument,
  initiating: Store,
  responding: Store,
  context: RespondingContext = {},
): TransferDocument {
  const { header } = doc;
  const live = doc.lines.filter((l) => l.deleted !== true);
  const id = respondingId(header.id, kind);
  const routing = { storeId: responding.id, otherPartyStoreId: initiating.id };
  const fields = COPIED_FIELDS[kind];
  const lineOf = (type: string, line: SyncRecord, data: Record<string, unknown>): SyncRecord => ({
    type,
    id: respondingId(line.id, kind),
    ...routing,
    data: { ...pick(line.data, fields.line), ...data, linkedLineId: line.id, createdByTransfer: kind },
  });
  const common = {
    ...pick(header.data, fields.header),
    serialNumber: UNASSIGNED_SERIAL_NUMBER,
    lineCount: live.length,
    createdByTransfer: kind,
    senderSerialNumber: header.data['serialNumber'] ?? null,
  };
  switch (kind) {
    case 'stock-transfer':
      return {
        header: {
          type: 'transaction',
          id,
          ...routing,
          data: {
            kind: 'supplier_invoice',
            status: 'new',
            onHold: true,
            ...common,
            theirReference: describeNumber(header, 'invoice'),
            linkedTransactionId: header.id,
            requisitionId: context.requesterRequisitionId ?? null,
            responseRequisitionId: str(header.data, 'requisitionId'),
          },
        },
        lines: live.map((l) => lineOf('transaction_line', l, { transactionId: id, costPrice: l.data['sellPrice'] ?? null })),
      };
    case 'mobile-requisition':
      return {
        header: {
          type: 'requisition',
          id,
          ...routing,
          data: {
            kind: context.respondingOnMobile === true ? 'customer' : 'response',
            status: 'new',
            ...common,
            theirReference: describeNumber(header, 'requisition'),
            linkedRequisitionId: header.id,
          },
        },
        lines: live.map((l) => lineOf('requisition_line', l, { requisitionId: id })),
      };
    case 'internal-order':
      return {
        header: {
          type: 'transaction',
          id,
          ...routing,
          data: { kind: 'customer_invoice', status: 'new', ...common, theirReference: describeNumber(header, 'purchase order'), purchaseOrderId: header.id },
        },
        lines: live.map((l) => lineOf('transaction_line', l, { transactionId: id, purchaseOrderLineId: l.id })),
      };
    case 'internal-receipt':
      return {
        header: {
          type: 'goods_received',
          id,
          ...routing,
          data: {
            status: 'new',
            ...common,
            theirReference: describeNumber(header, 'invoice'),
            purchaseOrderId: str(header.data, 'purchaseOrderId'),
            linkedTransactionId: header.id,
          },
        },
        lines: live.map((l) =>
          lineOf('goods_received_line', l, {
            goodsReceivedId: id,
            purchaseOrderLineId: str(l.data, 'purchaseOrderLineId'),
            costPrice: l.data['sellPrice'] ?? null,
          }),
        ),
      };
  }
}
