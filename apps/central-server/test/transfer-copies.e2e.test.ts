import { respondingId, type SyncRecord, type TransferDocument } from '@sitesync/domain';
import { customerInvoice, purchaseOrder, recordsOf, supplierRequisition } from '@sitesync/testkit';
import { ENGINES } from './cluster';
import { edit, NORTH, SOUTH, startTransferCluster, type TransferCluster } from './transfer-setup';

/** The document with `data` added to its header and `lineData(i)` to its i-th line. */
const withData = (doc: TransferDocument, header: Record<string, unknown>, lineData: (i: number) => Record<string, unknown>): SyncRecord[] => [
  edit(doc.header, header),
  ...doc.lines.map((l, i) => edit(l, lineData(i))),
];

/** Issue 12: what a transfer copies and links, mobile sites, feedback, purchase-order receipts and numbering, over real HTTP. */
describe.each(ENGINES)('what transfers copy end to end with the central on $name', (engine) => {
  let t: TransferCluster;
  let MOBILE: number;

  beforeAll(async () => {
    t = await startTransferCluster(engine, async ({ c, addMobile }) => {
      MOBILE = await addMobile('Mobile');
      await c.admin.addStore({ code: 'M', name: 'Mobile outreach', activeSiteId: MOBILE });
      await c.admin.setCopyType('A', MOBILE, 'transfer');
      await c.admin.setCopyType('M', NORTH, 'transfer');
      // D (North) and E (South): a pair of stores of their own, for the numbering test
      await c.admin.addStore({ code: 'D', name: 'North depot', activeSiteId: NORTH });
      await c.admin.addStore({ code: 'E', name: 'South depot', activeSiteId: SOUTH });
      await c.admin.setCopyType('D', SOUTH, 'transfer');
      await c.admin.setCopyType('E', NORTH, 'transfer');
    });
  }, 60_000);

  afterAll(() => t.stop());

  it('copies the invoice header number and reference and the line details into the supplier invoice', async () => {
    const id = 'ci-copy';
    const invoice = customerInvoice({ id, from: 'A', to: 'B', lines: [{ id: `${id}-l1`, itemId: 'amox', quantity: 20 }], data: { serialNumber: 42 } });
    const lineData = {
      packSize: 10,
      numberOfPacks: 2,
      note: 'keep cool',
      itemName: 'Amoxicillin 250mg',
      itemCode: 'AMX250',
      batch: 'B-17',
      expiryDate: '2027-06-30',
      sellPrice: 1.25,
    };
    await t.put(
      NORTH,
      withData(invoice, { reference: 'DN-7781' }, () => lineData),
    );
    await t.roundTrip();
    const siId = respondingId(id, 'stock-transfer');
    const si = await t.must(SOUTH, 'transaction', siId);
    expect(si.data).toMatchObject({ senderSerialNumber: 42, reference: 'DN-7781', theirReference: expect.stringContaining('42') });
    const { sellPrice, ...rest } = lineData;
    expect(await t.must(SOUTH, 'transaction_line', respondingId(`${id}-l1`, 'stock-transfer'))).toMatchObject({
      data: { ...rest, quantity: 20, costPrice: sellPrice, linkedLineId: `${id}-l1` },
    });
  });

  it('copies the requisition header and line details into the response requisition', async () => {
    const id = 'rq-copy';
    const header = { minMonthsOfStock: 3, maxMonthsOfStock: 6, expectedDeliveryDate: '2026-12-24' };
    const lineData = (i: number) => ({ stockOnHand: 12 + i, averageMonthlyConsumption: 30 + i, suggestedQuantity: 78 + i, comment: `outbreak ${i}` });
    const requisition = supplierRequisition({
      id,
      from: 'A',
      to: 'B',
      lines: [0, 1].map((i) => ({ id: `${id}-l${i}`, itemId: `vax-${i}`, quantity: 100 + i })),
    });
    await t.put(NORTH, withData(requisition, header, lineData));
    await t.roundTrip();
    const rrId = respondingId(id, 'mobile-requisition');
    expect(await t.must(SOUTH, 'requisition', rrId)).toMatchObject({ data: { kind: 'response', ...header } });
    for (const i of [0, 1]) {
      expect(await t.must(SOUTH, 'requisition_line', respondingId(`${id}-l${i}`, 'mobile-requisition'))).toMatchObject({
        data: { requisitionId: rrId, requestedQuantity: 100 + i, ...lineData(i) },
      });
    }
  });

  it('a supplier requisition to a store on a mobile site arrives there as a customer requisition; to a desktop site as a response requisition', async () => {
    await t.put(NORTH, [
      ...recordsOf(supplierRequisition({ id: 'rq-mobile', from: 'A', to: 'M' })),
      ...recordsOf(supplierRequisition({ id: 'rq-desktop', from: 'A', to: 'B' })),
    ]);
    await t.sync(NORTH, MOBILE, SOUTH);
    expect(await t.must(MOBILE, 'requisition', respondingId('rq-mobile', 'mobile-requisition'))).toMatchObject({
      storeId: 'M',
      data: { kind: 'customer', linkedRequisitionId: 'rq-mobile' },
    });
    expect(await t.must(SOUTH, 'requisition', respondingId('rq-desktop', 'mobile-requisition'))).toMatchObject({
      storeId: 'B',
      data: { kind: 'response', linkedRequisitionId: 'rq-desktop' },
    });
  });

  it('feedback: the customer invoice and the supplier requisition show their responding half received (with its number), then finalised', async () => {
    await t.put(NORTH, [
      ...recordsOf(customerInvoice({ id: 'ci-feedback', from: 'A', to: 'B' })),
      ...recordsOf(supplierRequisition({ id: 'rq-feedback', from: 'A', to: 'B' })),
    ]);
    await t.roundTrip();
    const halves = [
      { type: 'transaction', id: 'ci-feedback', responding: respondingId('ci-feedback', 'stock-transfer') },
      { type: 'requisition', id: 'rq-feedback', responding: respondingId('rq-feedback', 'mobile-requisition') },
    ];
    for (const { type, id, responding } of halves) {
      const serialNumber = (await t.must(SOUTH, type, responding)).data['serialNumber'];
      expect(serialNumber).toBeGreaterThan(0);
      expect((await t.must(NORTH, type, id)).data['response']).toMatchObject({
        id: responding,
        state: 'received',
        serialNumber,
        receivedAt: expect.any(String),
        finalisedAt: null,
      });
      await t.put(SOUTH, [edit(await t.must(SOUTH, type, responding), { status: 'finalised' })]);
    }
    await t.sync(SOUTH, NORTH);
    for (const { type, id } of halves) {
      expect((await t.must(NORTH, type, id)).data['response']).toMatchObject({ state: 'finalised', finalisedAt: expect.any(String) });
    }
  });

  it("links: the supplier invoice for a requisition points at the requester's own requisition and at the response requisition", async () => {
    await t.put(NORTH, recordsOf(supplierRequisition({ id: 'rq-link', from: 'A', to: 'B' })));
    await t.roundTrip();
    const rrId = respondingId('rq-link', 'mobile-requisition');
    await t.must(SOUTH, 'requisition', rrId);
    await t.put(SOUTH, recordsOf(customerInvoice({ id: 'ci-link', from: 'B', to: 'A', data: { requisitionId: rrId } })));
    await t.sync(SOUTH, NORTH);
    expect(await t.must(NORTH, 'transaction', respondingId('ci-link', 'stock-transfer'))).toMatchObject({
      storeId: 'A',
      data: { kind: 'supplier_invoice', requisitionId: 'rq-link', responseRequisitionId: rrId },
    });
  });

  it('purchase-order receipts follow a goods-received line changed on its own (North, without centralised procurement)', async () => {
    const poId = 'po-receipts';
    const po = purchaseOrder({
      id: poId,
      from: 'A',
      to: 'B',
      lines: [
        { id: `${poId}-l1`, itemId: 'ors', quantity: 50 },
        { id: `${poId}-l2`, itemId: 'zinc', quantity: 30 },
      ],
    });
    await t.put(NORTH, recordsOf(po));
    await t.roundTrip();
    const ciId = respondingId(poId, 'internal-order');
    await t.put(SOUTH, [edit(await t.must(SOUTH, 'transaction', ciId), { status: 'finalised' })]);
    await t.sync(SOUTH, NORTH);
    const grId = respondingId(ciId, 'internal-receipt');
    const grLines = await t.liveLines(NORTH, 'goods_received_line', 'goodsReceivedId', grId);
    expect(grLines).toHaveLength(2);
    expect(await t.must(NORTH, 'purchase_order_line', `${poId}-l1`)).toMatchObject({ data: { receivedQuantity: 50 } });

    const line = grLines.find((l) => l.data['purchaseOrderLineId'] === `${poId}-l1`)!;
    await t.put(NORTH, [edit(line, { quantity: 45 })]);
    expect(await t.must(NORTH, 'purchase_order_line', `${poId}-l1`)).toMatchObject({ data: { receivedQuantity: 45 } });
    expect(await t.must(NORTH, 'purchase_order_line', `${poId}-l2`)).toMatchObject({ data: { receivedQuantity: 30 } });
  });

  it('numbering per document kind: supplier invoices received by E are 1 and 2, the customer invoice of an internal order is 1 of its own sequence', async () => {
    await t.put(NORTH, [
      ...recordsOf(customerInvoice({ id: 'ci-num-1', from: 'D', to: 'E' })),
      ...recordsOf(customerInvoice({ id: 'ci-num-2', from: 'D', to: 'E' })),
    ]);
    await t.roundTrip();
    const serial = async (id: string) => (await t.must(SOUTH, 'transaction', id)).data['serialNumber'];
    const invoices = [await serial(respondingId('ci-num-1', 'stock-transfer')), await serial(respondingId('ci-num-2', 'stock-transfer'))];
    expect(invoices.sort()).toEqual([1, 2]);

    await t.put(NORTH, recordsOf(purchaseOrder({ id: 'po-num', from: 'D', to: 'E' })));
    await t.roundTrip();
    const ci = await t.must(SOUTH, 'transaction', respondingId('po-num', 'internal-order'));
    expect(ci).toMatchObject({ storeId: 'E', data: { kind: 'customer_invoice', serialNumber: 1 } });
  });
});
