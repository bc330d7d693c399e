import type { SiteId } from '../site';
import type { Topology } from '../topology';
import type { SyncStorage, UnitOfWork } from '../ports/unit-of-work';
import { consumeChanges } from './consume-changes';
import { str } from '../transfers/transfer-documents';
import { purchaseOrderReceipt } from '../transfers/transfer-rules';

export const PURCHASE_ORDER_RECEIPTS = 'purchase-order-receipts';

/**
 * Internal requisitions: when goods received headers or lines arrive, change or are deleted, the received quantities of the
 * purchase order lines they answer are updated, on the primary when the purchase order's store uses
 * centralised procurement, otherwise on the store's own site. Other sites leave them alone.
 */
export async function updatePurchaseOrderReceipts(
  deps: { readonly unitOfWork: UnitOfWork },
  topology: Topology,
  siteId: SiteId,
  options: { readonly batchSize?: number } = {},
): Promise<readonly string[]> {
  const updated: string[] = [];
  const batchSize = options.batchSize ?? 2_000;
  await consumeChanges(deps.unitOfWork, PURCHASE_ORDER_RECEIPTS, batchSize, async (storage, changes) => {
    const orders = new Set<string>();
    for (const { record } of changes) {
      // a goods received header, or one of its lines alone (seed 002: every later update of the lines counts)
      if (record.type !== 'goods_received' && record.type !== 'goods_received_line') continue;
      const line = record.type === 'goods_received_line' ? await storage.records.get(record.type, record.id) : null;
      const headerId = line ? str(line.data, 'goodsReceivedId') : record.type === 'goods_received' ? record.id : null;
      const header = headerId ? await storage.records.get('goods_received', headerId) : null;
      const po = header ? str(header.data, 'purchaseOrderId') : null;
      if (po) orders.add(po);
      // a deleted goods received whose tombstone does not name its order: its lines do
      else if (header?.deleted === true) for (const order of await ordersOfLines(storage, header.id)) orders.add(order);
    }
    for (const orderId of orders) {
      const order = await storage.records.get('purchase_order', orderId);
      const store = order?.storeId ? topology.store(order.storeId) : undefined;
      if (!order || !store) continue;
      // Only documents of the order's own store count: another store cannot receive against this order.
      const own = (r: { readonly storeId?: string | null }) => (r.storeId ?? null) === order.storeId;
      const receipts = (await storage.records.findByField('goods_received', 'purchaseOrderId', orderId)).filter((r) => own(r) && r.deleted !== true);
      const receivedLines = (await Promise.all(receipts.map((r) => storage.records.findByField('goods_received_line', 'goodsReceivedId', r.id))))
        .flat()
        .filter(own);
      const orderLines = (await storage.records.findByField('purchase_order_line', 'purchaseOrderId', orderId)).filter(own);
      const receipt = purchaseOrderReceipt(topology, store, orderLines, receivedLines);
      if (receipt.editorSiteId !== siteId || receipt.updatedLines.length === 0) continue;
      await storage.records.upsert(receipt.updatedLines, { sourceSiteId: siteId, viaSync: false });
      updated.push(...receipt.updatedLines.map((l) => `${l.type}:${l.id}`));
    }
  });
  return updated;
}

/** The purchase orders the lines of a goods received answer (through their purchase order lines). */
async function ordersOfLines(storage: SyncStorage, goodsReceivedId: string): Promise<readonly string[]> {
  const lines = await storage.records.findByField('goods_received_line', 'goodsReceivedId', goodsReceivedId);
  const orderLines = lines.flatMap((l) => {
    const id = str(l.data, 'purchaseOrderLineId');
    return id ? [{ type: 'purchase_order_line', id }] : [];
  });
  const found = orderLines.length > 0 ? await storage.records.getMany(orderLines) : [];
  return [...new Set(found.flatMap((l) => str(l.data, 'purchaseOrderId') ?? []))];
}
