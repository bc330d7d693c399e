import { respondingId, type SyncRecord } from '@sitesync/domain';
import { customerInvoice, recordsOf } from '@sitesync/testkit';
import { Cluster, ENGINES } from './cluster';

const CENTRAL = 1;
const NORTH = 2;
const SOUTH = 3;

describe.each(ENGINES)('the central application service over HTTP, with the central on $name', (engine) => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start(engine);
    await c.addRemote('North');
    await c.addRemote('South');
    // X and Y active on the central; A on North, with a transfer copy on South; C on South, with no copy on North
    await c.admin.addStore({ code: 'X', name: 'Central warehouse', activeSiteId: CENTRAL });
    await c.admin.addStore({ code: 'Y', name: 'Central pharmacy', activeSiteId: CENTRAL });
    await c.admin.addStore({ code: 'A', name: 'North warehouse', activeSiteId: NORTH });
    await c.admin.addStore({ code: 'C', name: 'South clinic', activeSiteId: SOUTH });
    await c.admin.setCopyType('A', SOUTH, 'transfer');
    await c.open(NORTH);
    await c.open(SOUTH);
  }, 60_000);

  afterAll(() => c.stop());

  const onCentral = (type: string, id: string) => c.central.storage.storage.records.get(type, id);
  const put = async (siteId: number, records: SyncRecord[]) => {
    const result = await c.site(siteId).putRecords(records);
    if (!result.ok) throw new Error(result.error.map((v) => v.message).join(' '));
  };

  it('completes a customer invoice between two stores of the central in the request that writes it', async () => {
    const invoice = customerInvoice({ id: 'ci-X-Y-1', from: 'X', to: 'Y', lines: [{ itemId: 'bcg', quantity: 12 }] });
    expect(await c.admin.putRecords(recordsOf(invoice))).toEqual({ written: 2 });
    const siId = respondingId('ci-X-Y-1', 'stock-transfer');
    const received = await onCentral('transaction', siId);
    expect(received).toMatchObject({ storeId: 'Y', otherPartyStoreId: 'X', data: { kind: 'supplier_invoice', linkedTransactionId: 'ci-X-Y-1' } });
    expect(await c.central.storage.storage.records.findByField('transaction_line', 'transactionId', siId)).toHaveLength(1);
  });

  it('completes a transfer refused for a missing copy as soon as the admin adds the copy, before any further push; the receiving site gets it at its next sync', async () => {
    await put(NORTH, recordsOf(customerInvoice({ id: 'ci-A-C-1', from: 'A', to: 'C' })));
    await c.site(NORTH).sync();
    const siId = respondingId('ci-A-C-1', 'stock-transfer');
    expect(await onCentral('transaction', siId)).toBeNull();
    expect((await c.admin.issues()).find((i) => i.key === 'transaction:ci-A-C-1')?.violation).toMatchObject({ code: 'transfer.store-has-no-copy' });

    await c.admin.setCopyType('C', NORTH, 'transfer');
    // completed by the admin request itself: no site has synced since
    expect(await onCentral('transaction', siId)).toMatchObject({ storeId: 'C', otherPartyStoreId: 'A', data: { linkedTransactionId: 'ci-A-C-1' } });
    expect((await c.admin.issues()).find((i) => i.key === 'transaction:ci-A-C-1')).toBeUndefined();

    await c.site(SOUTH).sync();
    expect(await c.storageOf(SOUTH).storage.records.get('transaction', siId)).toMatchObject({ storeId: 'C' });
  });
});
