import {
  applyPulled,
  PURCHASE_ORDER_RECEIPTS,
  PUSH_CONSUMER,
  runSiteProcessors,
  SITE_PROCESSOR_INTERESTS,
  TRANSFER_FEEDBACK,
  TRANSFER_NUMBERING,
  TRANSFER_PROCESSOR,
  type SyncRecord,
  type SyncStorage,
} from '@sitesync/domain';
import { createInMemoryStorage, ManualClock, seedExampleTopology } from '@sitesync/testkit';

const topology = seedExampleTopology();
const item = (i: number): SyncRecord => ({ type: 'item', id: `item-${i}`, data: { name: `Item ${i}` } });
/** the responding half of a transfer from store B (remote 1) to store C (active on remote 2), made by the central: remote 2 numbers it */
const invoice: SyncRecord = { type: 'transaction', id: 'inv-1-si', storeId: 'C', otherPartyStoreId: 'B', data: { serialNumber: -1 } };
const CONSUMERS = [PUSH_CONSUMER, TRANSFER_PROCESSOR, TRANSFER_NUMBERING, PURCHASE_ORDER_RECEIPTS, TRANSFER_FEEDBACK];

async function cursors(s: SyncStorage): Promise<Record<string, bigint>> {
  const out: Record<string, bigint> = {};
  for (const c of CONSUMERS) out[c] = await s.changes.cursorOf(c);
  return out;
}

describe('pulled records the processors do not look at', () => {
  it('lists every processor runSiteProcessors runs', () => {
    expect(SITE_PROCESSOR_INTERESTS.map((i) => i.consumer).sort()).toEqual(
      [TRANSFER_PROCESSOR, TRANSFER_NUMBERING, PURCHASE_ORDER_RECEIPTS, TRANSFER_FEEDBACK].sort(),
    );
  });

  it('are skipped by the cursors of processors that had read everything before them', async () => {
    const site = createInMemoryStorage();
    await site.run((s) => applyPulled(s, topology, 3, [item(1), item(2), item(3)], 0n, new Date()));
    const head = await site.storage.changes.head();
    expect(head).toBeGreaterThan(0n);
    expect(await cursors(site.storage)).toEqual(Object.fromEntries(CONSUMERS.map((c) => [c, head])));
  });

  it('leave behind the processors a record of the batch concerns, and the processors that were behind', async () => {
    const site = createInMemoryStorage();
    await site.run((s) => applyPulled(s, topology, 3, [item(1), invoice], 0n, new Date()));
    const first = await site.storage.changes.head();
    // the invoice concerns transfer processing, numbering and feedback; not purchase-order receipts
    expect(await cursors(site.storage)).toEqual({
      [PUSH_CONSUMER]: first,
      [TRANSFER_PROCESSOR]: 0n,
      [TRANSFER_NUMBERING]: 0n,
      [PURCHASE_ORDER_RECEIPTS]: first,
      [TRANSFER_FEEDBACK]: 0n,
    });
    await site.run((s) => applyPulled(s, topology, 3, [item(2)], 1n, new Date()));
    const second = await site.storage.changes.head();
    expect(await cursors(site.storage)).toEqual({
      [PUSH_CONSUMER]: second,
      [TRANSFER_PROCESSOR]: 0n,
      [TRANSFER_NUMBERING]: 0n,
      [PURCHASE_ORDER_RECEIPTS]: second,
      [TRANSFER_FEEDBACK]: 0n,
    });
    // the processors still find the invoice: remote 2 numbers it
    const report = await runSiteProcessors({ unitOfWork: site, clock: new ManualClock() }, topology, 3);
    expect(report.numbered).toEqual(['transaction:inv-1-si']);
    expect((await site.storage.records.get('transaction', 'inv-1-si'))?.data['serialNumber']).toBe(1);
  });

  it('are a superset of what each processor handles: a processor skipping every other change writes the same', async () => {
    // the same pulled batches, once with the skip (applyPulled) and once scanned by the processors from the start
    const received: SyncRecord[] = [
      { type: 'purchase_order', id: 'po-1', storeId: 'C', data: {} },
      { type: 'purchase_order_line', id: 'pol-1', storeId: 'C', data: { purchaseOrderId: 'po-1', quantity: 5 } },
      { type: 'goods_received', id: 'gr-1', storeId: 'C', data: { purchaseOrderId: 'po-1' } },
      { type: 'goods_received_line', id: 'grl-1', storeId: 'C', data: { goodsReceivedId: 'gr-1', purchaseOrderLineId: 'pol-1', quantity: 3 } },
    ];
    const requisition: SyncRecord = { type: 'requisition', id: 'req-1', storeId: 'B', otherPartyStoreId: 'C', data: { status: 'sent' } };
    const batches: SyncRecord[][] = [[item(1), item(2)], [invoice], [item(3)], received, [item(4)], [requisition, item(5)]];
    const skipped = createInMemoryStorage();
    for (const [i, batch] of batches.entries()) await skipped.run((s) => applyPulled(s, topology, 3, batch, BigInt(i), new Date(0)));
    const scanned = createInMemoryStorage();
    for (const batch of batches) await scanned.storage.records.upsert(batch, { sourceSiteId: 1, viaSync: true });
    const clock = new ManualClock();
    const a = await runSiteProcessors({ unitOfWork: skipped, clock }, topology, 3);
    const b = await runSiteProcessors({ unitOfWork: scanned, clock }, topology, 3);
    expect(a).toEqual(b);
    expect(a.numbered).toEqual(['transaction:inv-1-si']);
    const all = async (s: SyncStorage) => (await s.changes.read(0n, 1000)).map((c) => c.record);
    expect(await all(skipped.storage)).toEqual(await all(scanned.storage));
  });
});
