import { assignTransferNumbers, processTransfers, recordLocalChange, respondingId } from '@sitesync/domain';
import { customerInvoice, recordsOf, seedExampleTopology } from '@sitesync/testkit';
import { simulate } from './sync-simulation';

const topology = seedExampleTopology();

describe('use cases on the in-memory ports: transfers end to end', () => {
  it('a stock transfer from B (remote 1) to C (remote 2) is completed by the central, numbered by C, and logged back to B', async () => {
    const sim = simulate(topology, [2, 3]);
    const remote1 = sim.site(2);
    const remote2 = sim.site(3);
    const deps = (storage: typeof sim.central) => ({ unitOfWork: storage, clock: sim.clock });

    const invoice = customerInvoice({
      id: 'ci-1',
      from: 'B',
      to: 'C',
      lines: [
        { itemId: 'bcg', quantity: 200 },
        { itemId: 'opv', quantity: 50 },
      ],
    });
    expect((await recordLocalChange(deps(remote1.storage), topology, 2, recordsOf(invoice))).ok).toBe(true);
    // remote 1 does not complete a transfer to another site's store, and does not complain either
    expect(await processTransfers(deps(remote1.storage), topology, 2)).toMatchObject({ created: [], refused: [] });

    await sim.sync(2);
    const processed = await processTransfers(deps(sim.central), topology, 1);
    expect(processed.created).toEqual(['transaction:ci-1']);

    await sim.sync(3);
    const supplierInvoiceId = respondingId('ci-1', 'stock-transfer');
    expect(await remote2.storage.storage.records.get('transaction', supplierInvoiceId)).toMatchObject({
      storeId: 'C',
      data: { serialNumber: -1, onHold: true },
    });
    expect(await remote2.storage.storage.records.findByField('transaction_line', 'transactionId', supplierInvoiceId)).toHaveLength(2);

    expect(await assignTransferNumbers(deps(remote2.storage), topology, 3)).toEqual([`transaction:${supplierInvoiceId}`]);
    await sim.sync(3);
    await sim.sync(2);

    expect(await sim.central.storage.records.get('transaction', supplierInvoiceId)).toMatchObject({ data: { serialNumber: 1 } });
    const log = await remote1.storage.storage.records.get('message', `${supplierInvoiceId}.log`);
    expect(log).toMatchObject({ storeId: 'C', otherPartyStoreId: 'B', data: { initiatingRecordId: 'ci-1', respondingSerialNumber: 1 } });
    expect(await remote1.storage.storage.records.get('transaction', supplierInvoiceId)).toMatchObject({ data: { serialNumber: 1 } });

    // processing again, replaying the push and syncing again create nothing new
    const head = await sim.central.storage.changes.head();
    const again = await processTransfers(deps(sim.central), topology, 1);
    expect(again.created).toEqual([]);
    await sim.sync(2);
    await sim.sync(3);
    expect(await sim.central.storage.changes.head()).toBe(head);
    expect(await sim.recordsOf(remote2.storage, 'transaction')).toHaveLength(2); // C's supplier invoice, and B's invoice via the transfer copy
  });

  it('a transfer between two stores of one site is completed by that site at once, without a sync', async () => {
    const sim = simulate(topology, [3]);
    const { storage } = sim.site(3);
    const deps = { unitOfWork: storage, clock: sim.clock };
    await recordLocalChange(deps, topology, 3, recordsOf(customerInvoice({ id: 'ci-cd', from: 'C', to: 'D' })));
    expect((await processTransfers(deps, topology, 3)).created).toEqual(['transaction:ci-cd']);
    expect(await assignTransferNumbers(deps, topology, 3)).toHaveLength(1);
    expect(await storage.storage.records.get('transaction', respondingId('ci-cd', 'stock-transfer'))).toMatchObject({
      storeId: 'D',
      data: { serialNumber: 1 },
    });
    expect(await sim.central.storage.changes.head()).toBe(0n);
  });

  it('a transfer that cannot be routed is kept in the issue log with the fix, then completed once the configuration is fixed', async () => {
    const sim = simulate(topology, [3]);
    const deps = { unitOfWork: sim.central, clock: sim.clock };
    // C (remote 2) sends to F (remote 1), but F has no copy on remote 2
    await recordLocalChange({ unitOfWork: sim.site(3).storage }, topology, 3, recordsOf(customerInvoice({ id: 'ci-cf', from: 'C', to: 'F' })));
    await sim.sync(3);
    const first = await processTransfers(deps, topology, 1);
    expect(first.refused).toEqual([{ key: 'transaction:ci-cf', violation: expect.objectContaining({ code: 'transfer.store-has-no-copy' }) }]);
    expect(await sim.central.storage.issues.open()).toEqual([
      expect.objectContaining({ key: 'transaction:ci-cf', violation: expect.objectContaining({ fix: expect.stringMatching(/transfer copy on site 3/) }) }),
    ]);
    expect(await sim.central.storage.records.get('transaction', respondingId('ci-cf', 'stock-transfer'))).toBeNull();

    const fixed = topology.withCopyType('F', 3, 'transfer');
    if (!fixed.ok) throw new Error('fix refused');
    const second = await processTransfers(deps, fixed.value, 1);
    expect(second.created).toEqual(['transaction:ci-cf']);
    expect(await sim.central.storage.issues.open()).toEqual([]);
  });

  it('editing another site’s store data is refused and writes nothing', async () => {
    const sim = simulate(topology, [2]);
    const result = await recordLocalChange({ unitOfWork: sim.site(2).storage }, topology, 2, [
      { type: 'stock_line', id: 's1', storeId: 'D', data: {} },
      { type: 'stock_line', id: 's2', storeId: 'B', data: {} },
    ]);
    expect(result).toMatchObject({ ok: false, error: [{ code: 'edit.store-not-active-here', recordId: 's1', editorSiteId: 3 }] });
    expect(await sim.site(2).storage.storage.changes.head()).toBe(0n);
  });
});
