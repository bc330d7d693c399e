import { pushContext, pushRefusal, type SyncRecord } from '@sitesync/domain';
import { createInMemoryStorage, customerInvoice, seedExampleTopology } from '@sitesync/testkit';

/** Seed 002: store B active on site 2, stores A and C elsewhere; the central holds collector copies. */
const topology = seedExampleTopology();

async function refusalsAfter(stored: readonly SyncRecord[], pushed: readonly SyncRecord[]) {
  const central = createInMemoryStorage();
  await central.storage.records.upsert(stored, { sourceSiteId: 2, viaSync: true });
  const context = await pushContext(central.storage, topology, pushed);
  return pushed.map((r) => pushRefusal(topology, 2, r, context)?.code ?? null);
}

describe('push checks against the stored version', () => {
  it("a draft's other party may still change (a customer corrected before finalising), with its lines", async () => {
    const draft = customerInvoice({ id: 'ci-1', from: 'B', to: 'A', status: 'draft' });
    const corrected = customerInvoice({ id: 'ci-1', from: 'B', to: 'C', status: 'draft' });
    expect(await refusalsAfter([draft.header, ...draft.lines], [corrected.header, ...corrected.lines])).toEqual([null, null]);
  });

  it('once finalised (an initiating half), the other party never changes, nor the lines of it', async () => {
    const sent = customerInvoice({ id: 'ci-2', from: 'B', to: 'A' });
    const moved = customerInvoice({ id: 'ci-2', from: 'B', to: 'C' });
    expect(await refusalsAfter([sent.header, ...sent.lines], [moved.header, ...moved.lines])).toEqual(['push.owner-changed', 'push.owner-changed']);
  });

  it('a line may not take a draft of another store as its header', async () => {
    const theirs = customerInvoice({ id: 'ci-3', from: 'A', to: 'C', status: 'draft' });
    const line: SyncRecord = { type: 'transaction_line', id: 'l-x', storeId: 'B', otherPartyStoreId: 'C', data: { transactionId: 'ci-3' } };
    expect(await refusalsAfter([theirs.header], [line])).toEqual(['push.line-header-mismatch']);
  });

  it("a decoy header in the same batch does not make a line of another store's document acceptable", async () => {
    const theirs = customerInvoice({ id: 'ci-4', from: 'C', to: 'A' });
    const decoy: SyncRecord = {
      type: 'transaction',
      id: 'ci-4',
      storeId: 'B',
      otherPartyStoreId: 'A',
      data: { kind: 'customer_invoice', status: 'finalised' },
    };
    const line: SyncRecord = { type: 'transaction_line', id: 'l-y', storeId: 'B', otherPartyStoreId: 'A', data: { transactionId: 'ci-4', quantity: 999 } };
    expect(await refusalsAfter([theirs.header], [decoy, line])).toEqual(['push.owner-changed', 'push.line-header-mismatch']);
  });
});
