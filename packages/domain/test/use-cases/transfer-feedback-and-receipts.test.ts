import { orThrow, reportTransferFeedback, respondingId, updatePurchaseOrderReceipts, type SyncRecord } from '@sitesync/domain';
import { createInMemoryStorage, ManualClock, purchaseOrder, recordsOf, seedExampleTopology } from '@sitesync/testkit';

const clock = new ManualClock();
const pushedBy = (siteId: number) => ({ sourceSiteId: siteId, viaSync: true });

describe('feedback on the initiating half is written by the site that may edit it', () => {
  it('a purchase order under centralised procurement shows its customer invoice on the primary, not on its store site', async () => {
    // C (site 3) uses centralised procurement: its purchase orders are the primary's (site 1) to edit
    const topology = orThrow(seedExampleTopology().updateStore('C', { centralisedProcurement: true }));
    const order = purchaseOrder({ id: 'po-c-b', from: 'C', to: 'B' });
    const answer: SyncRecord = {
      type: 'transaction',
      id: respondingId('po-c-b', 'internal-order'),
      storeId: 'B',
      otherPartyStoreId: 'C',
      data: { kind: 'customer_invoice', status: 'new', serialNumber: 3, createdByTransfer: 'internal-order', purchaseOrderId: 'po-c-b' },
    };
    for (const siteId of [3, 1]) {
      const storage = createInMemoryStorage();
      await storage.storage.topology.save(topology);
      await storage.storage.records.upsert([...recordsOf(order), answer], pushedBy(2));
      const written = await reportTransferFeedback({ unitOfWork: storage, clock }, topology, siteId);
      const stored = (await storage.storage.records.get('purchase_order', 'po-c-b'))!;
      if (siteId === 3) {
        expect(written).toEqual([]); // C's site may not edit the order: it would be refused at every push
        expect(stored.data['response']).toBeUndefined();
      } else {
        expect(written).toEqual(['purchase_order:po-c-b']);
        expect(stored.data['response']).toMatchObject({ id: answer.id, state: 'received', serialNumber: 3 });
      }
    }
  });
});

describe('purchase-order receipts follow the goods received', () => {
  it('a goods received deleted by a tombstone that does not name its order still takes its quantities off the order', async () => {
    const topology = seedExampleTopology();
    const storage = createInMemoryStorage();
    await storage.storage.topology.save(topology);
    // D (site 3) ordered from B; goods received in D for 6 of the 10
    const order = purchaseOrder({ id: 'po-d', from: 'D', to: 'B', lines: [{ itemId: 'bcg', quantity: 10 }] });
    const receipt: SyncRecord[] = [
      { type: 'goods_received', id: 'gr-d', storeId: 'D', otherPartyStoreId: 'B', data: { status: 'new', purchaseOrderId: 'po-d' } },
      {
        type: 'goods_received_line',
        id: 'gr-d-l1',
        storeId: 'D',
        otherPartyStoreId: 'B',
        data: { goodsReceivedId: 'gr-d', purchaseOrderLineId: 'po-d-l1', quantity: 6 },
      },
    ];
    await storage.storage.records.upsert([...recordsOf(order), ...receipt], pushedBy(3));
    await updatePurchaseOrderReceipts({ unitOfWork: storage }, topology, 3);
    expect((await storage.storage.records.get('purchase_order_line', 'po-d-l1'))!.data['receivedQuantity']).toBe(6);

    await storage.storage.records.upsert([{ ...receipt[0]!, deleted: true, data: {} }], { sourceSiteId: 3, viaSync: false });
    expect(await updatePurchaseOrderReceipts({ unitOfWork: storage }, topology, 3)).toEqual(['purchase_order_line:po-d-l1']);
    expect((await storage.storage.records.get('purchase_order_line', 'po-d-l1'))!.data['receivedQuantity']).toBe(0);
  });
});
