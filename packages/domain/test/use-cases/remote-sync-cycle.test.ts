import {
  applyPulled,
  CENTRAL_PULL_CURSOR,
  nextRequestSize,
  PUSH_CONSUMER,
  recordLocalChange,
  runSyncCycle,
  type CentralSyncGateway,
  type SyncRecord,
} from '@sitesync/domain';
import { createInMemoryStorage, InMemoryCentralSyncGateway, ManualClock, seedExampleTopology, SequentialIdGenerator } from '@sitesync/testkit';

const topology = seedExampleTopology();
const item = (i: number): SyncRecord => ({ type: 'item', id: `item-${String(i).padStart(4, '0')}`, data: { name: `Item ${i}` } });

function setup(siteId = 3) {
  const clock = new ManualClock();
  const central = createInMemoryStorage();
  const remote = createInMemoryStorage();
  const gateway = new InMemoryCentralSyncGateway(central, topology, siteId, { clock });
  return { clock, central, remote, gateway, deps: { unitOfWork: remote, gateway, clock, ids: new SequentialIdGenerator('file') } };
}

describe('request size', () => {
  it.each([
    [500, 100, 1000],
    [500, 8000, 250],
    [500, 2000, 500],
    [4000, 10, 5000],
    [12, 60_000, 10],
  ])('from %i after a %i ms request -> %i', (current, elapsed, next) => expect(nextRequestSize(current, elapsed)).toBe(next));
});

describe('a remote sync cycle (push, then pull)', () => {
  it('pushes its own changes, pulls what is routed to it, and never pushes back what it received', async () => {
    const { central, remote, deps } = setup();
    await central.storage.records.upsert([item(1), item(2)], { sourceSiteId: 1, viaSync: false });
    const stock: SyncRecord = { type: 'stock_line', id: 'sl-1', storeId: 'D', data: { packs: 3 } };
    const log: SyncRecord = { type: 'log', id: 'log-1', data: { text: 'local only' } };
    await recordLocalChange({ unitOfWork: remote }, topology, 3, [stock, log]);

    const report = await runSyncCycle(deps, 3, { requestSize: 100 });
    expect(report).toMatchObject({ pushed: 1, pulled: 2, refused: [] });
    expect(await central.storage.records.get('stock_line', 'sl-1')).toEqual(stock);
    expect(await central.storage.records.get('log', 'log-1')).toBeNull(); // local data never leaves
    expect(await remote.storage.records.get('item', 'item-0001')).toEqual(item(1));

    const again = await runSyncCycle(deps, 3, { requestSize: 100 });
    expect(again).toMatchObject({ pushed: 0, pulled: 0 }); // the items are not pushed back, the stock line not pulled back
    expect(await remote.storage.topology.load()).not.toBeNull();
  });

  it('keeps a record the central refused as an issue with the reason, and still delivers the rest', async () => {
    const { central, remote, deps } = setup();
    // written around the rules (as a corrupt or hand-edited database would): B is not active on site 3
    await remote.storage.records.upsert(
      [
        { type: 'stock_line', id: 'sl-b', storeId: 'B', data: {} },
        { type: 'stock_line', id: 'sl-d', storeId: 'D', data: {} },
      ],
      { sourceSiteId: 3, viaSync: false },
    );
    const report = await runSyncCycle(deps, 3, { requestSize: 100 });
    expect(report.refused).toEqual([expect.objectContaining({ recordId: 'sl-b', code: 'edit.store-not-active-here' })]);
    expect(await central.storage.records.get('stock_line', 'sl-d')).not.toBeNull();
    expect((await remote.storage.issues.open()).map((i) => [i.key, i.violation.code])).toEqual([['refused:stock_line:sl-b', 'edit.store-not-active-here']]);
    expect((await central.storage.issues.open()).map((i) => i.key)).toEqual(['quarantine:3:stock_line:sl-b']);
  });

  it('pulls in requests of the current size and reports progress down to zero remaining', async () => {
    const { central, deps } = setup();
    await central.storage.records.upsert(
      Array.from({ length: 95 }, (_, i) => item(i)),
      { sourceSiteId: 1, viaSync: false },
    );
    const progress: number[] = [];
    const report = await runSyncCycle(deps, 3, { requestSize: 10, onProgress: (p) => p.phase === 'pull' && progress.push(p.remaining) });
    expect(report.pulled).toBe(95);
    expect(progress.at(-1)).toBe(0);
    expect(progress.length).toBeGreaterThan(1);
    expect([...progress].sort((a, b) => b - a)).toEqual(progress); // counts only go down
  });

  it('a crash in the middle of a pull loses and duplicates nothing: the next cycle resumes', async () => {
    const { central, remote, gateway, deps } = setup();
    await central.storage.records.upsert(
      Array.from({ length: 60 }, (_, i) => item(i)),
      { sourceSiteId: 1, viaSync: false },
    );
    let pulls = 0;
    const crashing: CentralSyncGateway = {
      siteInfo: () => gateway.siteInfo(),
      push: (id, records) => gateway.push(id, records),
      pull: async (cursor, limit, options) => {
        if (++pulls === 3) throw new Error('connection reset (simulated crash)');
        return gateway.pull(cursor, limit, options);
      },
    };
    await expect(runSyncCycle({ ...deps, gateway: crashing }, 3, { requestSize: 10 })).rejects.toThrow('connection reset');
    const afterCrash = await remote.storage.records.list('item', { limit: 1000 });
    // the batches before the crash were applied with their cursor (sizes grow: requests are fast here)
    expect(afterCrash.length).toBeGreaterThan(0);
    expect(afterCrash.length).toBeLessThan(60);
    expect(await remote.storage.changes.cursorOf(CENTRAL_PULL_CURSOR)).toBeGreaterThan(0n);

    const resumed = await runSyncCycle(deps, 3, { requestSize: 10 });
    expect(resumed.pulled).toBe(60 - afterCrash.length);
    const all = await remote.storage.records.list('item', { limit: 1000 });
    expect(all.map((r) => r.id)).toEqual(Array.from({ length: 60 }, (_, i) => item(i).id));
  });

  it('waits for the next page to be on its way (dispatched) before it applies the page it has', async () => {
    const { central, remote, gateway, deps } = setup();
    await central.storage.records.upsert(
      Array.from({ length: 60 }, (_, i) => item(i)),
      { sourceSiteId: 1, viaSync: false },
    );
    let received = 0;
    let asked = 0;
    const seen: { readonly asked: number; readonly received: number; readonly held: number }[] = [];
    const pipelining: CentralSyncGateway = {
      siteInfo: () => gateway.siteInfo(),
      push: (id, records) => gateway.push(id, records),
      pull: async (cursor, limit, options) => {
        asked++;
        const page = await gateway.pull(cursor, limit, options);
        received += page.records.length;
        return page;
      },
      dispatched: async () => {
        seen.push({ asked, received, held: (await remote.storage.records.list('item', { limit: 1000 })).length });
      },
    };
    const report = await runSyncCycle({ ...deps, gateway: pipelining }, 3, { requestSize: 10 });
    expect(report.pulled).toBe(60);
    expect(seen.length).toBeGreaterThan(1);
    for (const [i, at] of seen.entries()) {
      expect(at.asked).toBe(i + 2); // the next page was asked for...
      expect(at.held).toBeLessThan(at.received); // ...and the page received is not applied yet
    }
  });

  it('a push whose answer was lost is replayed with the same batch id and stored once', async () => {
    const { central, remote, gateway, deps } = setup();
    await recordLocalChange({ unitOfWork: remote }, topology, 3, [{ type: 'stock_line', id: 'sl-1', storeId: 'D', data: {} }]);
    const losing: CentralSyncGateway = {
      siteInfo: () => gateway.siteInfo(),
      pull: (c, l, o) => gateway.pull(c, l, o),
      push: async (id, records) => {
        await gateway.push(id, records); // the central stored it...
        throw new Error('timeout waiting for the answer'); // ...but the answer never arrived
      },
    };
    await expect(runSyncCycle({ ...deps, gateway: losing }, 3, { requestSize: 10 })).rejects.toThrow('timeout');
    expect(await remote.storage.changes.cursorOf(PUSH_CONSUMER)).toBe(0n);
    const head = await central.storage.changes.head();
    const report = await runSyncCycle(deps, 3, { requestSize: 10 });
    expect(report.pushed).toBe(1); // the replay is recognised: accepted again, written once
    expect(await central.storage.changes.head()).toBe(head);
  });

  describe('against a central that misbehaves', () => {
    const hostile = (pull: CentralSyncGateway['pull']): CentralSyncGateway => {
      const { gateway } = setup();
      return { siteInfo: () => gateway.siteInfo(), push: (id, records) => gateway.push(id, records), pull };
    };

    it('stops pulling when the cursor does not advance, however many records the central says remain', async () => {
      const { remote, clock } = setup();
      let pulls = 0;
      const gateway = hostile((cursor) => {
        pulls++;
        return Promise.resolve({ records: [], nextCursor: cursor, remaining: 1 });
      });
      await runSyncCycle({ unitOfWork: remote, gateway, clock, ids: new SequentialIdGenerator() }, 3, { requestSize: 10 });
      expect(pulls).toBe(1);
    });

    it('stops after a bounded number of pages when the central keeps saying one more remains', async () => {
      const { remote, clock } = setup();
      let pulls = 0;
      const gateway = hostile((cursor) => {
        pulls++;
        return Promise.resolve({ records: [], nextCursor: cursor + 1n, remaining: 1 });
      });
      await runSyncCycle({ unitOfWork: remote, gateway, clock, ids: new SequentialIdGenerator() }, 3, { requestSize: 10, maxPullPages: 25 });
      expect(pulls).toBe(25);
      expect(await remote.storage.changes.cursorOf('central-pull')).toBe(25n); // the next cycle goes on from there
    });

    it('refuses a pull answer holding more records than asked for, and applies none of it', async () => {
      const { remote, clock } = setup();
      const item = (n: number): SyncRecord => ({ type: 'item', id: `item-${n}`, data: {} });
      const gateway = hostile(() => Promise.resolve({ records: Array.from({ length: 11 }, (_, n) => item(n)), nextCursor: 11n, remaining: 0 }));
      await expect(runSyncCycle({ unitOfWork: remote, gateway, clock, ids: new SequentialIdGenerator() }, 3, { requestSize: 10 })).rejects.toThrow(
        /at most 10 records with 11/,
      );
      expect(await remote.storage.records.get('item', 'item-0')).toBeNull();
    });
  });

  it('a pulled record of a store added during the cycle is kept, then applied at the next cycle that knows the store', async () => {
    const { remote, clock, gateway } = setup();
    const before = { ...(await gateway.siteInfo()) };
    const withG = topology.withStore({ id: 'G', name: 'New store', activeSiteId: 3, copies: [{ siteId: 1, type: 'collector' }] });
    if (!withG.ok) throw new Error('test topology');
    let cycle = 0;
    const record: SyncRecord = { type: 'stock_line', id: 'sl-G-1', storeId: 'G', data: { packs: 1 } };
    const changing: CentralSyncGateway = {
      siteInfo: () => Promise.resolve(cycle++ === 0 ? before : { ...before, topology: withG.value.toInput() }),
      push: (id, records) => gateway.push(id, records),
      pull: (cursor) =>
        Promise.resolve(cursor === 0n ? { records: [record], nextCursor: 1n, remaining: 0 } : { records: [], nextCursor: cursor, remaining: 0 }),
    };
    const deps = { unitOfWork: remote, gateway: changing, clock, ids: new SequentialIdGenerator() };
    expect(await runSyncCycle(deps, 3, { requestSize: 10 })).toMatchObject({ pullFailures: 1 });
    expect(await remote.storage.records.get('stock_line', 'sl-G-1')).toBeNull();
    await runSyncCycle(deps, 3, { requestSize: 10 });
    expect(await remote.storage.records.get('stock_line', 'sl-G-1')).toEqual(record);
    expect(await remote.storage.inbound.failures()).toEqual([]);
    expect((await remote.storage.issues.open()).map((i) => i.key)).toEqual([]);
  });
});

describe('a pulled version of a record this site changed and has not pushed', () => {
  it('keeps the local change (it goes up at the next push); records it does not own are applied', async () => {
    const site = createInMemoryStorage();
    const mine: SyncRecord = { type: 'stock_line', id: 'sl-own', storeId: 'D', data: { packs: 1 } };
    await site.run((s) => s.topology.save(topology));
    // pushed long ago: the central holds packs 1; then changed here to packs 7, not pushed yet
    await site.run((s) => s.records.upsert([mine], { sourceSiteId: 1, viaSync: true }));
    await site.run(async (s) => s.changes.advance(PUSH_CONSUMER, await s.changes.head()));
    await recordLocalChange({ unitOfWork: site }, topology, 3, [{ ...mine, data: { packs: 7 } }]);
    const item: SyncRecord = { type: 'item', id: 'item-x', data: { name: 'X' } };
    const failed = await site.run((s) => applyPulled(s, topology, 3, [mine, item], 0n, new Date()));
    expect(failed).toBe(0);
    expect((await site.storage.records.get('stock_line', 'sl-own'))?.data).toEqual({ packs: 7 });
    expect(await site.storage.records.get('item', 'item-x')).toEqual(item);
  });
});
