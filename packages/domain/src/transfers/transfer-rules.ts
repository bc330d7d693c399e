import type { SyncRecord } from '../record';
import { err, ok, type Result, type RuleViolation } from '../result';
import { describeSite, type Site, type SiteId } from '../site';
import { describeStore, type Store } from '../store';
import type { Topology } from '../topology';
import { num, str, TRANSFER_LINE_TYPES, UNASSIGNED_SERIAL_NUMBER, type TransferKind } from './transfer-documents';

export const TRANSFER_VIOLATION_CODES = [
  'transfer.not-a-header',
  'transfer.line-not-of-header',
  'transfer.unknown-store',
  'transfer.store-has-no-copy',
  'transfer.wrong-processing-site',
  'transfer.not-awaiting-number',
  'transfer.not-active-here',
  'transfer.responding-half-touched',
  'transfer.processing-moved',
] as const;
export type TransferViolationCode = (typeof TRANSFER_VIOLATION_CODES)[number];

export interface TransferViolation extends RuleViolation<TransferViolationCode> {
  readonly recordId: string;
}

/** What a header is, as far as transfers go. */
export type TransferDetection =
  | { readonly kind: 'not-a-transfer'; readonly reason: string }
  | { readonly kind: 'pending'; readonly transferKind: TransferKind; readonly reason: string }
  | {
      readonly kind: 'initiating';
      readonly transferKind: TransferKind;
      readonly initiating: Store;
      readonly responding: Store;
      readonly reason: string;
    };

/** Recognises the initiating half of a transfer (seed 002, "Transfers"). */
export function detectTransfer(topology: Topology, header: SyncRecord): TransferDetection {
  const none = (reason: string): TransferDetection => ({ kind: 'not-a-transfer', reason });
  const own = header.storeId ? topology.store(header.storeId) : undefined;
  const other = header.otherPartyStoreId ? topology.store(header.otherPartyStoreId) : undefined;
  if (!own || !other || own.id === other.id || header.deleted) {
    return none(`${header.type} ${header.id} does not name another store as its other party.`);
  }
  const status = str(header.data, 'status');
  const both = `from ${describeStore(own)} to ${describeStore(other)}`;
  const pending = (transferKind: TransferKind, reason: string): TransferDetection => ({ kind: 'pending', transferKind, reason });
  const initiating = (transferKind: TransferKind, reason: string): TransferDetection => ({
    kind: 'initiating',
    transferKind,
    initiating: own,
    responding: other,
    reason,
  });

  switch (header.type) {
    case 'transaction': {
      if (str(header.data, 'kind') !== 'customer_invoice') return none('Only customer invoices start a transfer; supplier invoices are the responding half.');
      const fromOrder = str(header.data, 'purchaseOrderId') !== null;
      const kind: TransferKind = fromOrder ? 'internal-receipt' : 'stock-transfer';
      if (status !== 'finalised') {
        return pending(
          kind,
          `Customer invoice ${header.id} ${both} is ${status ?? 'without a status'}, not finalised: the transfer is created when it is finalised.`,
        );
      }
      return fromOrder
        ? initiating(
            kind,
            `Customer invoice ${header.id} ${both} answers a purchase order and is finalised: it becomes goods received in ${describeStore(other)}.`,
          )
        : initiating(kind, `Customer invoice ${header.id} ${both} is finalised: it becomes a supplier invoice on hold in ${describeStore(other)}.`);
    }
    case 'requisition': {
      if (str(header.data, 'kind') !== 'supplier')
        return none('Only supplier (request) requisitions start a transfer; response requisitions are the responding half.');
      if (status !== 'finalised') {
        return pending(
          'mobile-requisition',
          `Supplier requisition ${header.id} ${both} is ${status ?? 'without a status'}, not finalised: the response requisition is created when it is finalised.`,
        );
      }
      return initiating(
        'mobile-requisition',
        `Supplier requisition ${header.id} ${both} is finalised: it becomes a response requisition in ${describeStore(other)}.`,
      );
    }
    case 'purchase_order': {
      if (status !== 'confirmed' && status !== 'finalised') {
        return pending(
          'internal-order',
          `Purchase order ${header.id} ${both} is ${status ?? 'without a status'}, not confirmed: the customer invoice is created when it is confirmed.`,
        );
      }
      return initiating('internal-order', `Purchase order ${header.id} ${both} is confirmed: it becomes a customer invoice in ${describeStore(other)}.`);
    }
    default:
      return none(`${header.type} records do not start transfers.`);
  }
}

/** Where a transfer between two stores is completed: the site both are active on, else the central. */
export function transferProcessingSite(topology: Topology, initiating: Store, responding: Store): { site: Site; reason: string } {
  if (initiating.activeSiteId === responding.activeSiteId) {
    const site = topology.site(initiating.activeSiteId)!;
    return { site, reason: `Both stores are active on ${describeSite(site)}, which completes the transfer itself at once.` };
  }
  return { site: topology.central, reason: 'The stores are active on different sites: the central completes the transfer and routes both halves.' };
}

/** The site that completes a transfer between the two stores `header` names (deleted or not), or null when one does not exist. */
export function processingSiteOf(topology: Topology, header: SyncRecord): Site | null {
  const own = header.storeId ? topology.store(header.storeId) : undefined;
  const other = header.otherPartyStoreId ? topology.store(header.otherPartyStoreId) : undefined;
  return own && other ? transferProcessingSite(topology, own, other).site : null;
}

/**
 * Both stores of a transfer exist on both sites: each needs a copy (transfer or collector) where
 * the other is active, or one half cannot reach the other site.
 */
export function missingCopy(topology: Topology, header: SyncRecord, initiating: Store, responding: Store): TransferViolation | null {
  if (initiating.activeSiteId === responding.activeSiteId) return null;
  for (const [store, other] of [
    [initiating, responding],
    [responding, initiating],
  ] as const) {
    if (topology.syncTypeOn(store.id, other.activeSiteId) !== 'none') continue;
    const site = topology.site(other.activeSiteId)!;
    return {
      code: 'transfer.store-has-no-copy',
      rule: 'both stores of a transfer exist on both sites: each needs a copy where the other is active',
      message: `${describeStore(store)} has no copy on ${describeSite(site)}, where ${describeStore(other)} is active, so the ${store === initiating ? 'initiating' : 'responding'} half of ${header.type} ${header.id} cannot reach it. The transfer was not created.`,
      fix: `On the central, give ${describeStore(store)} a transfer copy on ${describeSite(site)}; the transfer is then completed on the next sync.`,
      recordId: header.id,
    };
  }
  return null;
}

/** Why a transfer header (initiating half, finalised or not yet) could not be completed with the current copies, or null. */
export function transferRoutingProblem(topology: Topology, header: SyncRecord): TransferViolation | null {
  const detection = detectTransfer(topology, header);
  if (detection.kind === 'not-a-transfer') return null;
  const own = topology.store(header.storeId!)!;
  const other = topology.store(header.otherPartyStoreId!)!;
  return missingCopy(topology, header, own, other);
}

/** Does `siteId` have to number this record? (a responding half of one of its active stores, still -1) */
export function awaitsTransferNumber(topology: Topology, siteId: SiteId, record: SyncRecord): boolean {
  return (
    record.type in TRANSFER_LINE_TYPES &&
    record.deleted !== true &&
    num(record.data, 'serialNumber') === UNASSIGNED_SERIAL_NUMBER &&
    !!record.storeId &&
    topology.store(record.storeId)?.activeSiteId === siteId
  );
}

export interface NumberedTransfer {
  readonly header: SyncRecord;
  /** the log message for the initiating half, routed back to the initiating store's site */
  readonly logMessage: SyncRecord;
}

/** The responding site numbers the responding half with its store's next serial number and logs it for the initiating store. */
export function assignTransferNumber(
  topology: Topology,
  siteId: SiteId,
  header: SyncRecord,
  nextSerialNumber: number,
): Result<NumberedTransfer, TransferViolation> {
  const refuse = (code: TransferViolationCode, rule: string, message: string, fix: string) =>
    err<TransferViolation>({ code, rule, message, fix, recordId: header.id });
  const store = header.storeId ? topology.store(header.storeId) : undefined;
  if (!store || store.activeSiteId !== siteId) {
    return refuse(
      'transfer.not-active-here',
      'the responding site numbers the responding half',
      `${header.type} ${header.id} does not belong to a store active on site ${siteId}.`,
      'Number it on the site where its store is active.',
    );
  }
  if (num(header.data, 'serialNumber') !== UNASSIGNED_SERIAL_NUMBER) {
    return refuse(
      'transfer.not-awaiting-number',
      'only a responding half still numbered -1 gets a number',
      `${header.type} ${header.id} already has serial number ${String(header.data['serialNumber'])}.`,
      'Nothing to do: it is numbered.',
    );
  }
  const numbered: SyncRecord = { ...header, data: { ...header.data, serialNumber: nextSerialNumber } };
  const initiatingId = str(header.data, 'linkedTransactionId') ?? str(header.data, 'linkedRequisitionId') ?? str(header.data, 'purchaseOrderId');
  const logMessage: SyncRecord = {
    type: 'message',
    id: `${header.id}.log`,
    storeId: store.id,
    otherPartyStoreId: header.otherPartyStoreId ?? null,
    data: {
      subject: 'transfer-received',
      initiatingRecordId: initiatingId,
      respondingRecordType: header.type,
      respondingRecordId: header.id,
      respondingSerialNumber: nextSerialNumber,
      text: `Received by ${describeStore(store)} as ${header.type.replace('_', ' ')} number ${nextSerialNumber}.`,
    },
  };
  return ok({ header: numbered, logMessage });
}

export interface PurchaseOrderReceipt {
  /** the site that updates the purchase order lines */
  readonly editorSiteId: SiteId;
  readonly reason: string;
  /** purchase order lines with their new received quantities (only those that changed) */
  readonly updatedLines: readonly SyncRecord[];
}

/**
 * Received quantities of purchase order lines from the goods received lines that answer them.
 * With centralised procurement the primary updates them (and they reach the initiating site from
 * there); otherwise the site where the purchase order's store is active does.
 */
export function purchaseOrderReceipt(
  topology: Topology,
  purchaseOrderStore: Store,
  purchaseOrderLines: readonly SyncRecord[],
  goodsReceivedLines: readonly SyncRecord[],
): PurchaseOrderReceipt {
  const received = new Map<string, number>();
  for (const gr of goodsReceivedLines) {
    if (gr.deleted === true) continue;
    const poLineId = str(gr.data, 'purchaseOrderLineId');
    if (poLineId) received.set(poLineId, (received.get(poLineId) ?? 0) + (num(gr.data, 'quantity') ?? 0));
  }
  const updatedLines = purchaseOrderLines
    .filter((l) => l.deleted !== true && (received.get(l.id) ?? 0) !== (num(l.data, 'receivedQuantity') ?? 0))
    .map((l) => ({ ...l, data: { ...l.data, receivedQuantity: received.get(l.id) ?? 0 } }));
  const editor = purchaseOrderStore.centralisedProcurement ? topology.primary : topology.site(purchaseOrderStore.activeSiteId)!;
  return {
    editorSiteId: editor.id,
    reason: purchaseOrderStore.centralisedProcurement
      ? `${describeStore(purchaseOrderStore)} uses centralised procurement: the primary (${describeSite(editor)}) updates the received quantities and sends them on to the store's site.`
      : `${describeStore(purchaseOrderStore)} does its own procurement: its site (${describeSite(editor)}) updates the received quantities when the goods received lines arrive.`,
    updatedLines,
  };
}
