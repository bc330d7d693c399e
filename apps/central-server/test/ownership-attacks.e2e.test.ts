import { isPushConflict, type PushResult, type SyncRecord } from '@sitesync/domain';
import { HttpCentralSyncGateway, sha256Hex } from '@sitesync/http';
import { customerInvoice, recordsOf } from '@sitesync/testkit';
import { Cluster, ENGINES, wrappedGateway } from './cluster';

/**
 * A site with valid credentials tries to change what it does not own, by hand, through the sync
 * API: every attempt is refused for itself with its rule, and nothing it does not own changes,
 * on the central or on the owning site.
 */
describe.each(ENGINES)('ownership holds against a hostile site, with the central on $name', (engine) => {
  let c: Cluster;
  let attacker: HttpCentralSyncGateway;

  beforeAll(async () => {
    c = await Cluster.start(engine);
    for (const name of ['Owner', 'Attacker', 'Receiver']) await c.addRemote(name);
    await c.admin.addStore({ code: 'A', name: 'Store A', activeSiteId: 2, isDispensary: true, copies: [{ siteId: 4, type: 'transfer' }] });
    await c.admin.addStore({ code: 'C', name: 'Store C', activeSiteId: 3, isDispensary: true });
    await c.admin.addStore({ code: 'B', name: 'Store B', activeSiteId: 4, copies: [{ siteId: 2, type: 'transfer' }] });
    for (const id of [2, 3, 4]) await c.open(id);
    attacker = new HttpCentralSyncGateway({
      baseUrl: c.central.url,
      siteName: 'Attacker',
      passwordSha256: sha256Hex('Attacker-password'),
      hardwareId: 'device-3',
    });

    // The owner's own records, synced to the central.
    const owned: SyncRecord[] = [
      { type: 'transaction', id: 'tx-A-1', storeId: 'A', data: { kind: 'inventory_adjustment', status: 'finalised' } },
      { type: 'stock_line', id: 'sl-A-1', storeId: 'A', data: { itemId: 'bcg', packs: 20 } },
      { type: 'patient', id: 'pat-A-1', patientId: 'pat-A-1', homeStoreId: 'A', data: { name: 'Amina' } },
      { type: 'message', id: 'msg-A-1', storeId: 'A', otherPartyStoreId: 'B', data: { text: 'stock arriving Monday' } },
    ];
    expect((await c.site(2).putRecords(owned)).ok).toBe(true);
    expect((await c.site(2).putRecords(recordsOf(customerInvoice({ id: 'ci-A-B', from: 'A', to: 'B' })))).ok).toBe(true);
    await c.site(2).sync();
    await c.site(4).sync();
  }, 60_000);

  afterAll(() => c.stop());

  let n = 0;
  const push = async (records: SyncRecord[]): Promise<PushResult> => {
    const outcome = await attacker.push(`attack:${++n}`, records);
    if (isPushConflict(outcome)) throw new Error(outcome.conflict.message);
    return outcome;
  };
  const central = (type: string, id: string) => c.central.storage.storage.records.get(type, id);
  const onOwner = (type: string, id: string) => c.storageOf(2).storage.records.get(type, id);

  it("re-assigning another store's transaction or stock line to the attacker's store, or deleting it that way, is refused", async () => {
    const before = [await central('transaction', 'tx-A-1'), await central('stock_line', 'sl-A-1')];
    const answer = await push([
      { type: 'transaction', id: 'tx-A-1', storeId: 'C', data: { kind: 'inventory_adjustment', status: 'finalised', note: 'mine now' } },
      { type: 'stock_line', id: 'sl-A-1', storeId: 'C', deleted: true, data: {} },
    ]);
    expect(answer.accepted).toBe(0);
    expect(answer.refused.map((r) => [r.recordId, r.code])).toEqual([
      ['tx-A-1', 'push.owner-changed'],
      ['sl-A-1', 'push.owner-changed'],
    ]);
    expect(answer.refused[0]!.message).toMatch(/storeId "A".*storeId "C"/);
    expect([await central('transaction', 'tx-A-1'), await central('stock_line', 'sl-A-1')]).toEqual(before);
    await c.site(2).sync();
    expect(await onOwner('stock_line', 'sl-A-1')).toMatchObject({ storeId: 'A', data: { packs: 20 } });
    expect(await onOwner('transaction', 'tx-A-1')).not.toMatchObject({ data: { note: 'mine now' } });
  });

  it("taking over another store's patient by pushing it with the attacker's home store is refused", async () => {
    const answer = await push([{ type: 'patient', id: 'pat-A-1', patientId: 'pat-A-1', homeStoreId: 'C', data: { name: 'Someone else' } }]);
    expect(answer.refused.map((r) => r.code)).toEqual(['push.owner-changed']);
    expect(await central('patient', 'pat-A-1')).toMatchObject({ homeStoreId: 'A', data: { name: 'Amina' } });
  });

  it('injecting a line into a transfer between two other stores is refused, and the receiver never sees it', async () => {
    const answer = await push([
      { type: 'transaction_line', id: 'ci-A-B-injected', storeId: 'C', data: { transactionId: 'ci-A-B', itemId: 'gold', quantity: 1000 } },
    ]);
    expect(answer.refused.map((r) => r.code)).toEqual(['push.line-header-mismatch']);
    expect(await central('transaction_line', 'ci-A-B-injected')).toBeNull();
    await c.site(4).sync();
    const received = await c.site(4).listRecords('transaction_line');
    expect(received.map((l) => l.data['itemId'])).not.toContain('gold');
  });

  it('sending a message as another store, or overwriting its message, is refused', async () => {
    const answer = await push([
      { type: 'message', id: 'msg-forged', storeId: 'A', otherPartyStoreId: 'B', data: { text: 'send everything to store C' } },
      { type: 'message', id: 'msg-A-1', storeId: 'C', otherPartyStoreId: 'B', data: { text: 'cancelled' } },
      { type: 'message', id: 'msg-A-1', storeId: 'A', otherPartyStoreId: 'B', data: { text: 'cancelled' } },
    ]);
    expect(answer.accepted).toBe(0);
    expect(answer.refused.map((r) => r.code)).toEqual(['edit.message-sender-not-here', 'push.owner-changed', 'edit.message-sender-not-here']);
    expect(await central('message', 'msg-forged')).toBeNull();
    expect(await central('message', 'msg-A-1')).toMatchObject({ data: { text: 'stock arriving Monday' } });
  });

  it("the attacker's own records still go through, in the same batch as its refused ones", async () => {
    const answer = await push([
      { type: 'stock_line', id: 'sl-A-1', storeId: 'C', data: {} },
      { type: 'stock_line', id: 'sl-C-1', storeId: 'C', data: { packs: 3 } },
      { type: 'message', id: 'msg-C-1', storeId: 'C', otherPartyStoreId: 'A', data: { text: 'hello from C' } },
    ]);
    expect(answer).toMatchObject({ accepted: 2, refused: [{ recordId: 'sl-A-1' }] });
    expect(await central('stock_line', 'sl-C-1')).not.toBeNull();
    await c.site(2).sync();
    expect(await onOwner('message', 'msg-C-1')).toMatchObject({ data: { text: 'hello from C' } });
  });

  it('a remote applies only what the rules route to it, whatever the central sends', async () => {
    // A central (or something in its place) that sends records of a store this site holds no copy of, and local data.
    const hostile = { records: [] as SyncRecord[] };
    await c.kill(3);
    await c.open(
      3,
      wrappedGateway((real) => ({
        pull: async (cursor, limit, options) => {
          const answer = await real.pull(cursor, limit, options);
          return { ...answer, records: [...answer.records, ...hostile.records.splice(0)] };
        },
      })),
    );
    hostile.records.push(
      { type: 'stock_line', id: 'sl-B-pushed-to-C', storeId: 'B', data: { packs: 1 } },
      { type: 'log', id: 'log-from-elsewhere', data: { text: 'local data of another site' } },
      { type: 'item', id: 'item-fine', data: { name: 'Central data: goes everywhere' } },
    );
    const outcome = await c.site(3).sync();
    expect(outcome.pullFailures).toBe(2);
    expect(await c.has(3, 'item', 'item-fine')).toBe(true);
    expect(await c.has(3, 'stock_line', 'sl-B-pushed-to-C')).toBe(false);
    expect(await c.has(3, 'log', 'log-from-elsewhere')).toBe(false);
    const failed = (await c.site(3).status()).failed.filter((f) => f.key.startsWith('pulled:'));
    expect(failed.map((f) => [f.key, f.violation.code])).toEqual([
      ['pulled:log:log-from-elsewhere', 'pull.not-routed-here'],
      ['pulled:stock_line:sl-B-pushed-to-C', 'pull.not-routed-here'],
    ]);
  });
});
