import { respondingId, type SyncRecord } from '@sitesync/domain';
import { HttpCentralSyncGateway } from '@sitesync/http';
import { customerInvoice, purchaseOrder, recordsOf, supplierRequisition } from '@sitesync/testkit';
import { Cluster, dyingGateway, ENGINES } from './cluster';

const NORTH = 2;
const SOUTH = 3;

describe.each(ENGINES)('transfers end to end with the central on $name', (engine) => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start(engine);
    await c.addRemote('North');
    await c.addRemote('South');
    // A and A2 active on North, B and C on South; A and B each hold a transfer copy of the other; C has none on North
    await c.admin.addStore({ code: 'A', name: 'North warehouse', activeSiteId: NORTH });
    await c.admin.addStore({ code: 'A2', name: 'North clinic', activeSiteId: NORTH });
    await c.admin.addStore({ code: 'B', name: 'South hospital', activeSiteId: SOUTH });
    await c.admin.addStore({ code: 'C', name: 'South clinic', activeSiteId: SOUTH });
    await c.admin.setCopyType('A', SOUTH, 'transfer');
    await c.admin.setCopyType('B', NORTH, 'transfer');
    await c.open(NORTH);
    await c.open(SOUTH);
  }, 60_000);

  afterAll(() => c.stop());

  const put = async (siteId: number, records: SyncRecord[]) => {
    const result = await c.site(siteId).putRecords(records);
    if (!result.ok) throw new Error(result.error.map((v) => v.message).join(' '));
  };
  const get = (siteId: number, type: string, id: string) => (siteId === 1 ? c.central.storage.storage : c.storageOf(siteId).storage).records.get(type, id);
  const lines = (siteId: number, type: string, field: string, id: string) =>
    (siteId === 1 ? c.central.storage.storage : c.storageOf(siteId).storage).records.findByField(type, field, id);
  /** North pushes, South pulls and answers, North gets the answer. */
  const roundTrip = async () => {
    await c.site(NORTH).sync();
    await c.site(SOUTH).sync();
    await c.site(NORTH).sync();
  };

  it('stock transfer: a finalised customer invoice A -> B becomes a supplier invoice on hold in B, numbered by South, logged back to North', async () => {
    const invoice = customerInvoice({
      id: 'ci-A-B-1',
      from: 'A',
      to: 'B',
      lines: Array.from({ length: 20 }, (_, i) => ({ itemId: `item-${i}`, quantity: i + 1 })),
    });
    await put(NORTH, recordsOf(invoice));
    await roundTrip();
    const siId = respondingId('ci-A-B-1', 'stock-transfer');
    const received = await get(SOUTH, 'transaction', siId);
    expect(received).toMatchObject({ storeId: 'B', otherPartyStoreId: 'A', data: { kind: 'supplier_invoice', onHold: true, linkedTransactionId: 'ci-A-B-1' } });
    expect(received!.data['serialNumber']).toBeGreaterThan(0);
    expect(await lines(SOUTH, 'transaction_line', 'transactionId', siId)).toHaveLength(20);
    // both halves on both sites, and on the central
    expect(await get(SOUTH, 'transaction', 'ci-A-B-1')).not.toBeNull();
    expect(await get(NORTH, 'transaction', siId)).toMatchObject({ data: { serialNumber: received!.data['serialNumber'] } });
    expect(await get(1, 'transaction', siId)).not.toBeNull();
    expect(await get(NORTH, 'message', `${siId}.log`)).toMatchObject({ storeId: 'B', otherPartyStoreId: 'A', data: { initiatingRecordId: 'ci-A-B-1' } });
  });

  it('mobile requisition: a finalised supplier requisition becomes a response requisition; the invoice that fulfils it comes back as a supplier invoice', async () => {
    await put(NORTH, recordsOf(supplierRequisition({ id: 'rq-A-B-1', from: 'A', to: 'B', lines: [{ itemId: 'bcg', quantity: 100 }] })));
    await roundTrip();
    const responseId = respondingId('rq-A-B-1', 'mobile-requisition');
    expect(await get(SOUTH, 'requisition', responseId)).toMatchObject({ storeId: 'B', data: { kind: 'response', linkedRequisitionId: 'rq-A-B-1' } });

    await put(
      SOUTH,
      recordsOf(customerInvoice({ id: 'ci-B-A-1', from: 'B', to: 'A', lines: [{ itemId: 'bcg', quantity: 80 }], data: { requisitionId: responseId } })),
    );
    await c.site(SOUTH).sync();
    await c.site(NORTH).sync();
    const back = await get(NORTH, 'transaction', respondingId('ci-B-A-1', 'stock-transfer'));
    expect(back).toMatchObject({ storeId: 'A', data: { kind: 'supplier_invoice', responseRequisitionId: responseId } });
    expect(back!.data['serialNumber']).toBeGreaterThan(0);
  });

  it('internal requisition: a confirmed purchase order becomes a customer invoice in B; finalised with an extra line, it becomes goods received in A and updates the order', async () => {
    await put(NORTH, recordsOf(purchaseOrder({ id: 'po-A-1', from: 'A', to: 'B', lines: [{ id: 'po-A-1-l1', itemId: 'ors', quantity: 50 }] })));
    await roundTrip();
    const ciId = respondingId('po-A-1', 'internal-order');
    const invoice = await get(SOUTH, 'transaction', ciId);
    expect(invoice).toMatchObject({ storeId: 'B', otherPartyStoreId: 'A', data: { kind: 'customer_invoice', status: 'new', purchaseOrderId: 'po-A-1' } });
    const [orderLine] = await lines(SOUTH, 'transaction_line', 'transactionId', ciId);

    // South adds a line that was not ordered, then finalises
    const extra: SyncRecord = {
      type: 'transaction_line',
      id: 'ci-extra-1',
      storeId: 'B',
      otherPartyStoreId: 'A',
      data: { transactionId: ciId, itemId: 'zinc', quantity: 5 },
    };
    await put(SOUTH, [
      extra,
      { ...orderLine!, data: { ...orderLine!.data, quantity: 40 } },
      { ...invoice!, data: { ...invoice!.data, status: 'finalised', lineCount: 2 } },
    ]);
    await c.site(SOUTH).sync();
    await c.site(NORTH).sync();
    const grId = respondingId(ciId, 'internal-receipt');
    expect(await get(NORTH, 'goods_received', grId)).toMatchObject({ storeId: 'A', data: { purchaseOrderId: 'po-A-1' } });
    const grLines = await lines(NORTH, 'goods_received_line', 'goodsReceivedId', grId);
    expect(grLines.map((l) => [l.data['itemId'], l.data['quantity'], l.data['purchaseOrderLineId']]).sort()).toEqual([
      ['ors', 40, 'po-A-1-l1'],
      ['zinc', 5, null],
    ]);
    // no centralised procurement for A: North (A's site) updates the received quantity
    expect(await get(NORTH, 'purchase_order_line', 'po-A-1-l1')).toMatchObject({ data: { receivedQuantity: 40 } });
  });

  it('on one site: A -> A2 is completed by North at once, without a sync', async () => {
    await put(NORTH, recordsOf(customerInvoice({ id: 'ci-A-A2-1', from: 'A', to: 'A2' })));
    const local = await get(NORTH, 'transaction', respondingId('ci-A-A2-1', 'stock-transfer'));
    expect(local).toMatchObject({ storeId: 'A2', data: { kind: 'supplier_invoice' } });
    expect(local!.data['serialNumber']).toBeGreaterThan(0);
  });

  it('a replayed push and a crash between pulling and numbering create nothing twice', async () => {
    const invoice = customerInvoice({ id: 'ci-A-B-replay', from: 'A', to: 'B' });
    await put(NORTH, recordsOf(invoice));
    await c.site(NORTH).sync();
    // the same batch again, as after a lost answer
    const config = (await c.site(NORTH).config())!;
    const gateway = new HttpCentralSyncGateway({
      baseUrl: config.centralUrl,
      siteName: config.siteName,
      passwordSha256: config.passwordSha256,
      hardwareId: config.hardwareId,
    });
    expect(await gateway.push('replayed-batch', recordsOf(invoice))).toMatchObject({ accepted: recordsOf(invoice).length });
    expect(await gateway.push('replayed-batch', recordsOf(invoice))).toMatchObject({ replayed: true });

    // South pulls the responding half, then dies before numbering it
    await c.kill(SOUTH);
    let pulled = false;
    const dying = await c.open(
      SOUTH,
      dyingGateway(async (real, cursor, limit, options) => {
        if (pulled) throw new Error('killed after the pull');
        pulled = true;
        return real.pull(cursor, limit, options);
      }),
    );
    await expect(dying.sync()).rejects.toThrow('killed');
    await c.kill(SOUTH);
    await c.open(SOUTH);
    await c.site(SOUTH).sync();
    await c.site(NORTH).sync();
    const siId = respondingId('ci-A-B-replay', 'stock-transfer');
    const numbered = await get(SOUTH, 'transaction', siId);
    expect(numbered!.data['serialNumber']).toBeGreaterThan(0);
    const supplierInvoices = (await c.site(SOUTH).listRecords('transaction')).filter((t) => t.data['linkedTransactionId'] === 'ci-A-B-replay');
    expect(supplierInvoices).toHaveLength(1);
    expect((await c.site(NORTH).listRecords('message')).filter((m) => m.data['initiatingRecordId'] === 'ci-A-B-replay')).toHaveLength(1);
  });

  it('a transfer to a store with no copy on the initiating site is not created, is reported on both sides with the fix, and completes once fixed', async () => {
    await put(NORTH, recordsOf(customerInvoice({ id: 'ci-A-C-1', from: 'A', to: 'C' })));
    await c.site(NORTH).sync();
    const siId = respondingId('ci-A-C-1', 'stock-transfer');
    expect(await get(1, 'transaction', siId)).toBeNull();
    const issues = await c.admin.issues();
    const onCentral = issues.find((i) => i.key === 'transaction:ci-A-C-1');
    if (!onCentral)
      throw new Error(`no issue on the central; open issues: ${JSON.stringify(issues)}; status of North: ${JSON.stringify(await c.site(NORTH).status())}`);
    expect(onCentral?.violation).toMatchObject({ code: 'transfer.store-has-no-copy' });
    expect(onCentral?.violation.fix).toMatch(/give store C "South clinic" a transfer copy on site 2 "North"/);
    const onSite = (await c.site(NORTH).status()).failed.find((i) => i.key === 'transfer:transaction:ci-A-C-1');
    expect(onSite?.violation).toMatchObject({ code: 'transfer.store-has-no-copy', fix: expect.stringMatching(/transfer copy on site 2/) });

    await c.admin.setCopyType('C', NORTH, 'transfer');
    await put(NORTH, [{ type: 'stock_line', id: 'sl-A-nudge', storeId: 'A', data: {} }]); // any push lets the central retry
    await c.site(NORTH).sync();
    await c.site(SOUTH).sync();
    await c.site(NORTH).sync();
    expect(await get(SOUTH, 'transaction', siId)).toMatchObject({ storeId: 'C' });
    expect((await c.admin.issues()).find((i) => i.key === 'transaction:ci-A-C-1')).toBeUndefined();
    expect((await c.site(NORTH).status()).failed.find((i) => i.key === 'transfer:transaction:ci-A-C-1')).toBeUndefined();
  });
});
