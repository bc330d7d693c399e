import {
  assignTransferNumber,
  awaitsTransferNumber,
  detectTransfer,
  processInitiatingHalf,
  purchaseOrderReceipt,
  respondingId,
  transferProcessingSite,
  type SyncRecord,
  type TransferDocument,
} from '@sitesync/domain';
import { customerInvoice, purchaseOrder, seedExampleTopology, supplierRequisition } from '@sitesync/testkit';

const topology = seedExampleTopology();
const CENTRAL = 1;

function created(result: ReturnType<typeof processInitiatingHalf>): readonly SyncRecord[] {
  if (!result.ok) throw new Error(result.error.message);
  if (result.value.kind !== 'created') throw new Error(`expected created, got ${result.value.kind}`);
  return result.value.writes;
}

describe('transfer rules (docs/sync-rules.md table X)', () => {
  it('X1: a finalised customer invoice from B (site 2) to C (site 3) becomes a supplier invoice on hold in C, numbered -1, on the central', () => {
    const invoice = customerInvoice({
      id: 'ci-1',
      from: 'B',
      to: 'C',
      lines: [
        { itemId: 'amoxicillin', quantity: 100 },
        { itemId: 'bcg-vaccine', quantity: 20 },
      ],
    });
    const writes = created(processInitiatingHalf(topology, CENTRAL, invoice, null));
    const [header, ...lines] = writes;
    expect(header).toMatchObject({
      type: 'transaction',
      id: respondingId('ci-1', 'stock-transfer'),
      storeId: 'C',
      otherPartyStoreId: 'B',
      data: { kind: 'supplier_invoice', onHold: true, serialNumber: -1, linkedTransactionId: 'ci-1', lineCount: 2 },
    });
    expect(lines.map((l) => [l.type, l.storeId, l.data['itemId'], l.data['quantity'], l.data['transactionId']])).toEqual([
      ['transaction_line', 'C', 'amoxicillin', 100, header!.id],
      ['transaction_line', 'C', 'bcg-vaccine', 20, header!.id],
    ]);
  });

  it('X2: a finalised supplier requisition becomes a response requisition in the supplier store', () => {
    const writes = created(processInitiatingHalf(topology, CENTRAL, supplierRequisition({ id: 'rq-1', from: 'C', to: 'B' }), null));
    expect(writes[0]).toMatchObject({
      type: 'requisition',
      storeId: 'B',
      otherPartyStoreId: 'C',
      data: { kind: 'response', serialNumber: -1, linkedRequisitionId: 'rq-1' },
    });
    expect(writes[1]).toMatchObject({ type: 'requisition_line', storeId: 'B', data: { requestedQuantity: 10 } });
  });

  it('X1 with a requisition: the customer invoice fulfilling a response requisition links the supplier invoice to it', () => {
    const invoice = customerInvoice({ id: 'ci-2', from: 'B', to: 'C', data: { requisitionId: 'rq-1.rr' } });
    expect(created(processInitiatingHalf(topology, CENTRAL, invoice, null))[0]?.data).toMatchObject({ responseRequisitionId: 'rq-1.rr' });
  });

  it('X3 then X4: a confirmed purchase order becomes a customer invoice in the supplier; finalised, it becomes goods received, extra lines included', () => {
    const order = purchaseOrder({ id: 'po-1', from: 'C', to: 'B', lines: [{ id: 'po-1-l1', itemId: 'ors', quantity: 50 }] });
    const [invoiceHeader, invoiceLine] = created(processInitiatingHalf(topology, CENTRAL, order, null));
    expect(invoiceHeader).toMatchObject({
      type: 'transaction',
      storeId: 'B',
      otherPartyStoreId: 'C',
      data: { kind: 'customer_invoice', status: 'new', purchaseOrderId: 'po-1', serialNumber: -1 },
    });
    expect(invoiceLine).toMatchObject({ data: { purchaseOrderLineId: 'po-1-l1', quantity: 50 } });

    // B finalises it after adding a line that was not on the order
    const extra: SyncRecord = {
      type: 'transaction_line',
      id: 'extra-1',
      storeId: 'B',
      otherPartyStoreId: 'C',
      data: { transactionId: invoiceHeader!.id, itemId: 'zinc', quantity: 5 },
    };
    const finalised: TransferDocument = {
      header: { ...invoiceHeader!, data: { ...invoiceHeader!.data, status: 'finalised', serialNumber: 7, lineCount: 2 } },
      lines: [invoiceLine!, extra],
    };
    expect(detectTransfer(topology, finalised.header)).toMatchObject({ kind: 'initiating', transferKind: 'internal-receipt' });
    const [received, ...receivedLines] = created(processInitiatingHalf(topology, CENTRAL, finalised, null));
    expect(received).toMatchObject({
      type: 'goods_received',
      storeId: 'C',
      otherPartyStoreId: 'B',
      data: { purchaseOrderId: 'po-1', linkedTransactionId: invoiceHeader!.id, serialNumber: -1 },
    });
    expect(receivedLines.map((l) => [l.data['itemId'], l.data['quantity'], l.data['purchaseOrderLineId']])).toEqual([
      ['ors', 50, 'po-1-l1'],
      ['zinc', 5, null],
    ]);
  });

  it('processing the same initiating half twice creates nothing new; a line added since becomes a new line of the untouched responding half', () => {
    const invoice = customerInvoice({ id: 'ci-3', from: 'B', to: 'C' });
    const writes = created(processInitiatingHalf(topology, CENTRAL, invoice, null));
    const existing: TransferDocument = { header: writes[0]!, lines: writes.slice(1) };
    expect(processInitiatingHalf(topology, CENTRAL, invoice, existing)).toMatchObject({ ok: true, value: { kind: 'already-processed', writes: [] } });

    const more: TransferDocument = {
      header: { ...invoice.header, data: { ...invoice.header.data, lineCount: 2 } },
      lines: [...invoice.lines, { ...invoice.lines[0]!, id: 'ci-3-l2' }],
    };
    const again = processInitiatingHalf(topology, CENTRAL, more, existing);
    expect(again).toMatchObject({ ok: true, value: { kind: 'updated' } });
    // the new line, and the header with its new line count
    if (again.ok && again.value.kind === 'updated') {
      expect(again.value.writes.map((w) => w.id).sort()).toEqual([respondingId('ci-3', 'stock-transfer'), respondingId('ci-3-l2', 'stock-transfer')].sort());
    }
  });

  it.each([
    ['a customer invoice that is only confirmed', customerInvoice({ from: 'B', to: 'C', status: 'confirmed' }), /confirmed, not finalised/],
    ['a draft supplier requisition', supplierRequisition({ from: 'C', to: 'B', status: 'new' }), /not finalised/],
    ['a purchase order not yet confirmed', purchaseOrder({ from: 'C', to: 'B', status: 'new' }), /not confirmed/],
  ])('%s is pending, not created', (_name, doc, reason) => {
    const result = processInitiatingHalf(topology, CENTRAL, doc, null);
    expect(result).toMatchObject({ ok: true, value: { kind: 'pending' } });
    if (result.ok && result.value.kind === 'pending') expect(result.value.reason).toMatch(reason);
  });

  it('a header whose lines have not all arrived waits, so a transfer never appears without its lines', () => {
    const invoice = customerInvoice({
      from: 'B',
      to: 'C',
      lines: [
        { itemId: 'a', quantity: 1 },
        { itemId: 'b', quantity: 2 },
        { itemId: 'c', quantity: 3 },
      ],
    });
    const partial = { header: invoice.header, lines: invoice.lines.slice(0, 1) };
    const result = processInitiatingHalf(topology, CENTRAL, partial, null);
    expect(result).toMatchObject({ ok: true, value: { kind: 'pending' } });
    if (result.ok && result.value.kind === 'pending') expect(result.value.reason).toMatch(/3 lines and 1 have arrived/);
  });

  it('a supplier invoice, a response requisition or an invoice to a non-store are not transfers', () => {
    for (const header of [
      { type: 'transaction', id: 'si', storeId: 'C', otherPartyStoreId: 'B', data: { kind: 'supplier_invoice', status: 'finalised' } },
      { type: 'requisition', id: 'rr', storeId: 'B', otherPartyStoreId: 'C', data: { kind: 'response', status: 'finalised' } },
      { type: 'transaction', id: 'ext', storeId: 'B', data: { kind: 'customer_invoice', status: 'finalised' } },
    ] satisfies SyncRecord[]) {
      expect(detectTransfer(topology, header).kind).toBe('not-a-transfer');
    }
  });

  it('a transfer to a store with no copy on the initiating site is refused with the fix, not created', () => {
    // F is active on site 2 and has no copy on site 3, where C is active
    const result = processInitiatingHalf(topology, CENTRAL, customerInvoice({ id: 'ci-f', from: 'C', to: 'F' }), null);
    expect(result).toMatchObject({ ok: false, error: { code: 'transfer.store-has-no-copy', recordId: 'ci-f' } });
    if (!result.ok) {
      expect(result.error.message).toMatch(/store F "Store F" has no copy on site 3 "Remote site 2"/);
      expect(result.error.fix).toBe(
        'On the central, give store F "Store F" a transfer copy on site 3 "Remote site 2"; the transfer is then completed on the next sync.',
      );
    }
  });

  it('a transfer to an unknown store is refused', () => {
    expect(processInitiatingHalf(topology, CENTRAL, customerInvoice({ from: 'B', to: 'NOPE' }), null)).toMatchObject({
      ok: false,
      error: { code: 'transfer.unknown-store' },
    });
  });

  it('lines of another header are refused', () => {
    const a = customerInvoice({ from: 'B', to: 'C' });
    const b = customerInvoice({ from: 'B', to: 'C' });
    expect(processInitiatingHalf(topology, CENTRAL, { header: a.header, lines: b.lines }, null)).toMatchObject({
      ok: false,
      error: { code: 'transfer.line-not-of-header' },
    });
  });

  it('same-site transfers are completed by the site itself; others only by the central', () => {
    const same = topology.store('C')!;
    const alsoOn3 = topology.store('D')!;
    expect(transferProcessingSite(topology, same, alsoOn3).site.id).toBe(3);
    const onSite3 = processInitiatingHalf(topology, 3, customerInvoice({ from: 'C', to: 'D' }), null);
    expect(onSite3).toMatchObject({ ok: true, value: { kind: 'created' } });
    expect(processInitiatingHalf(topology, 3, customerInvoice({ from: 'C', to: 'B' }), null)).toMatchObject({
      ok: false,
      error: { code: 'transfer.wrong-processing-site' },
    });
  });

  it('the responding site numbers the responding half and sends a log message back to the initiating store', () => {
    const [header] = created(processInitiatingHalf(topology, CENTRAL, customerInvoice({ id: 'ci-9', from: 'B', to: 'C' }), null));
    expect(awaitsTransferNumber(topology, 3, header!)).toBe(true);
    expect(awaitsTransferNumber(topology, 2, header!)).toBe(false);
    const numbered = assignTransferNumber(topology, 3, header!, 41);
    if (!numbered.ok) throw new Error(numbered.error.message);
    expect(numbered.value.header.data['serialNumber']).toBe(41);
    expect(numbered.value.logMessage).toMatchObject({
      type: 'message',
      storeId: 'C',
      otherPartyStoreId: 'B',
      data: { initiatingRecordId: 'ci-9', respondingSerialNumber: 41 },
    });
    expect(awaitsTransferNumber(topology, 3, numbered.value.header)).toBe(false);
    expect(assignTransferNumber(topology, 3, numbered.value.header, 42)).toMatchObject({ ok: false, error: { code: 'transfer.not-awaiting-number' } });
    expect(assignTransferNumber(topology, 2, header!, 42)).toMatchObject({ ok: false, error: { code: 'transfer.not-active-here' } });
  });

  it('received quantities update the purchase order on the primary with centralised procurement, else on the store site', () => {
    const orderLines: SyncRecord[] = [
      { type: 'purchase_order_line', id: 'l1', storeId: 'C', data: { purchaseOrderId: 'po', receivedQuantity: 0 } },
      { type: 'purchase_order_line', id: 'l2', storeId: 'C', data: { purchaseOrderId: 'po', receivedQuantity: 0 } },
    ];
    const received: SyncRecord[] = [
      { type: 'goods_received_line', id: 'g1', storeId: 'C', data: { purchaseOrderLineId: 'l1', quantity: 30 } },
      { type: 'goods_received_line', id: 'g2', storeId: 'C', data: { purchaseOrderLineId: 'l1', quantity: 20 } },
      { type: 'goods_received_line', id: 'g3', storeId: 'C', data: { purchaseOrderLineId: null, quantity: 5 } },
    ];
    const local = purchaseOrderReceipt(topology, topology.store('C')!, orderLines, received);
    expect(local.editorSiteId).toBe(3);
    expect(local.updatedLines.map((l) => [l.id, l.data['receivedQuantity']])).toEqual([['l1', 50]]);
    const central = purchaseOrderReceipt(topology, { ...topology.store('C')!, centralisedProcurement: true }, orderLines, received);
    expect(central.editorSiteId).toBe(1);
    expect(central.reason).toMatch(/centralised procurement/);
  });
});
