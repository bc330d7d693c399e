import { processTransfers, respondingId, TRANSFER_CONFLICT_PREFIX, type SyncRecord, type SyncStorage, type UnitOfWork } from '@sitesync/domain';
import { createInMemoryStorage, customerInvoice, ManualClock, recordsOf, seedExampleTopology, type InMemoryStorage } from '@sitesync/testkit';

const topology = seedExampleTopology();
const CENTRAL = 1;
const pushedBy = (siteId: number) => ({ sourceSiteId: siteId, viaSync: true });

/**
 * The central's storage, where another site's push commits between the moment transfer processing
 * read a responding half and the moment it locks it to write (`lockMany`): what Postgres allows
 * two concurrent transactions to do.
 */
function withPushInBetween(inner: InMemoryStorage, push: () => readonly SyncRecord[], siteId: number): UnitOfWork {
  let pending = true;
  return {
    run: <T>(work: (s: SyncStorage) => Promise<T>) =>
      inner.run((s) => {
        const records = new Proxy(s.records, {
          get(target, prop, receiver) {
            if (prop === 'lockMany' && pending) {
              return async (keys: readonly Pick<SyncRecord, 'type' | 'id'>[]) => {
                pending = false;
                await target.upsert(push(), pushedBy(siteId));
                return target.lockMany(keys);
              };
            }
            const value: unknown = Reflect.get(target, prop, receiver);
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        });
        return work({ ...s, records });
      }),
  };
}

describe('transfer processing and a concurrent push of the responding store', () => {
  it('never overwrites what the responding store wrote meanwhile: the transfer writes nothing then, and is decided again on what is there', async () => {
    const central = createInMemoryStorage();
    await central.storage.topology.save(topology);
    const clock = new ManualClock();
    // B (site 2) sends C (site 3) an invoice; the central completes it; C's site numbers it and pushes it back
    const invoice = customerInvoice({ id: 'ci-race', from: 'B', to: 'C', lines: [{ itemId: 'bcg', quantity: 10 }] });
    await central.storage.records.upsert(recordsOf(invoice), pushedBy(2));
    expect((await processTransfers({ unitOfWork: central, clock }, topology, CENTRAL)).created).toEqual(['transaction:ci-race']);
    const siId = respondingId('ci-race', 'stock-transfer');
    const si = (await central.storage.records.get('transaction', siId))!;
    await central.storage.records.upsert([{ ...si, data: { ...si.data, serialNumber: 4 } }], pushedBy(3));

    // B changes its line; while the central decides to carry it (C's half looks untouched), C's finalisation arrives
    const line = invoice.lines[0]!;
    await central.storage.records.upsert([{ ...line, data: { ...line.data, quantity: 12 } }], pushedBy(2));
    const numbered = (await central.storage.records.get('transaction', siId))!;
    const finalised: SyncRecord = { ...numbered, data: { ...numbered.data, status: 'finalised', onHold: false } };
    const racing = withPushInBetween(central, () => [finalised], 3);
    const report = await processTransfers({ unitOfWork: racing, clock }, topology, CENTRAL);
    expect(report.raced).toEqual(['transaction:ci-race']);
    expect(report.updated).toEqual([]);
    // C's finalisation stands, and C's line was not changed under it
    expect((await central.storage.records.get('transaction', siId))!.data).toMatchObject({ status: 'finalised', serialNumber: 4 });
    expect((await central.storage.records.get('transaction_line', respondingId(line.id, 'stock-transfer')))!.data['quantity']).toBe(10);

    // the finalisation is in the feed after that batch: the same run decides the transfer again, now
    // as a conflict, kept visible (and nothing is left for a later run)
    expect(report.conflicts.map((c) => c.key)).toEqual(['transaction:ci-race']);
    expect((await central.storage.issues.open({ prefix: TRANSFER_CONFLICT_PREFIX })).map((i) => i.key)).toEqual([
      `${TRANSFER_CONFLICT_PREFIX}transaction:ci-race`,
    ]);
    expect((await central.storage.records.get('transaction_line', respondingId(line.id, 'stock-transfer')))!.data['quantity']).toBe(10);
    expect(await processTransfers({ unitOfWork: central, clock }, topology, CENTRAL)).toMatchObject({ updated: [], conflicts: [], raced: [] });
  });
});
