import { buildTopology, type RuleViolation, type SyncRecord, type SyncStorage } from '@sitesync/domain';
import { createInMemoryState, createInMemoryStorage, type InMemoryState, type InMemoryStorage } from '../../src/in-memory/index';

const stockLine = (id: string, data: Record<string, unknown> = {}): SyncRecord => ({
  type: 'stock_line',
  id,
  storeId: 'D',
  data: { itemId: 'item-1', quantity: 10, ...data },
});

const violation = (code: string): RuleViolation => ({ code, rule: 'a rule', message: `refused: ${code}`, fix: 'fix it' });

const at = (iso: string): Date => new Date(iso);

/** Everything observable through the ports, to compare before and after. */
async function observe(storage: SyncStorage) {
  return {
    records: await storage.records.list('stock_line', { limit: 1000 }),
    head: await storage.changes.head(),
    changes: await storage.changes.read(0n, 1000),
    cursor: await storage.changes.cursorOf('push'),
    pending: await storage.inbound.pending(1000),
    failures: await storage.inbound.failures(),
    issues: await storage.issues.open(),
    passwordHash: await storage.topology.passwordHash(2),
    topology: (await storage.topology.load())?.toInput() ?? null,
  };
}

describe('InMemoryStorage', () => {
  let state: InMemoryState;
  let central: InMemoryStorage;
  let storage: SyncStorage;

  beforeEach(() => {
    state = createInMemoryState();
    central = createInMemoryStorage(state);
    storage = central.storage;
  });

  describe('records', () => {
    it('returns a record as it was written', async () => {
      const record: SyncRecord = { ...stockLine('sl-1', { batch: 'B1', expiry: '2027-01-31' }), otherPartyStoreId: null, deleted: false };
      await storage.records.upsert([record], { sourceSiteId: 2, viaSync: false });

      expect(await storage.records.get('stock_line', 'sl-1')).toEqual(record);
      expect(await storage.records.get('stock_line', 'missing')).toBeNull();
      expect(await storage.records.get('item', 'sl-1')).toBeNull();
    });

    it('replaces a record written again with the same type and id', async () => {
      await storage.records.upsert([stockLine('sl-1', { quantity: 1 })], { sourceSiteId: 2, viaSync: false });
      await storage.records.upsert([stockLine('sl-1', { quantity: 2 })], { sourceSiteId: 2, viaSync: false });

      expect((await storage.records.get('stock_line', 'sl-1'))?.data['quantity']).toBe(2);
      expect(await storage.records.list('stock_line', { limit: 10 })).toHaveLength(1);
    });

    it('keeps copies: mutating a written or returned record does not change the store', async () => {
      const written = { type: 'stock_line', id: 'sl-1', storeId: 'D', data: { quantity: 10, tags: ['a'] } };
      await storage.records.upsert([written], { sourceSiteId: 2, viaSync: false });
      written.data.quantity = 99;
      written.data.tags.push('written-after');

      const read = (await storage.records.get('stock_line', 'sl-1')) as unknown as { data: { quantity: number; tags: string[] } };
      read.data.quantity = 42;
      read.data.tags.push('read-after');
      const listed = (await storage.records.list('stock_line', { limit: 10 }))[0] as unknown as { data: { quantity: number } };
      listed.data.quantity = 7;

      expect(await storage.records.get('stock_line', 'sl-1')).toEqual({ type: 'stock_line', id: 'sl-1', storeId: 'D', data: { quantity: 10, tags: ['a'] } });
      const [change] = await storage.changes.read(0n, 10);
      expect(change?.record.data).toEqual({ quantity: 10, tags: ['a'] });
    });

    it('finds records by a data field, in id order', async () => {
      await storage.records.upsert(
        [
          { type: 'transaction_line', id: 'l-3', storeId: 'D', data: { transactionId: 'tx-1' } },
          { type: 'transaction_line', id: 'l-1', storeId: 'D', data: { transactionId: 'tx-1' } },
          { type: 'transaction_line', id: 'l-2', storeId: 'D', data: { transactionId: 'tx-2' } },
          { type: 'stock_line', id: 'l-0', storeId: 'D', data: { transactionId: 'tx-1' } },
        ],
        { sourceSiteId: 2, viaSync: false },
      );

      const lines = await storage.records.findByField('transaction_line', 'transactionId', 'tx-1');
      expect(lines.map((r) => r.id)).toEqual(['l-1', 'l-3']);
      expect(await storage.records.findByField('transaction_line', 'transactionId', 'tx-9')).toEqual([]);
    });

    it('lists a type in id order, a page at a time', async () => {
      await storage.records.upsert(
        ['e', 'b', 'd', 'a', 'c'].map((id) => stockLine(id)),
        { sourceSiteId: 2, viaSync: false },
      );

      const first = await storage.records.list('stock_line', { limit: 2 });
      const second = await storage.records.list('stock_line', { afterId: 'b', limit: 2 });
      const last = await storage.records.list('stock_line', { afterId: 'd', limit: 2 });
      const past = await storage.records.list('stock_line', { afterId: 'e', limit: 2 });

      expect(first.map((r) => r.id)).toEqual(['a', 'b']);
      expect(second.map((r) => r.id)).toEqual(['c', 'd']);
      expect(last.map((r) => r.id)).toEqual(['e']);
      expect(past).toEqual([]);
      expect(await storage.records.list('item', { limit: 10 })).toEqual([]);
    });

    it('hands out serial numbers 1, 2, 3... per store and record type', async () => {
      const taken = [
        await storage.records.nextSerialNumber('D', 'transaction'),
        await storage.records.nextSerialNumber('D', 'transaction'),
        await storage.records.nextSerialNumber('D', 'requisition'),
        await storage.records.nextSerialNumber('F', 'transaction'),
        await storage.records.nextSerialNumber('D', 'transaction'),
      ];
      expect(taken).toEqual([1, 2, 1, 1, 3]);
    });
  });

  describe('change feed', () => {
    it('gives each upserted record a change with the next bigint cursor (1n, 2n, ...) and the origin', async () => {
      expect(await storage.changes.head()).toBe(0n);
      expect(await storage.changes.read(0n, 10)).toEqual([]);

      await storage.records.upsert([stockLine('sl-1'), stockLine('sl-2')], { sourceSiteId: 2, viaSync: false });
      await storage.records.upsert([stockLine('sl-3')], { sourceSiteId: 3, viaSync: true });

      const changes = await storage.changes.read(0n, 10);
      expect(changes.map((c) => [c.cursor, c.sourceSiteId, c.viaSync, c.record.id])).toEqual([
        [1n, 2, false, 'sl-1'],
        [2n, 2, false, 'sl-2'],
        [3n, 3, true, 'sl-3'],
      ]);
      expect(typeof changes[0]?.cursor).toBe('bigint');
      expect(changes[2]?.record).toEqual(stockLine('sl-3'));
      expect(await storage.changes.head()).toBe(3n);
    });

    it('moves a record written again to the end of the feed: one change, its latest version and origin, a new cursor', async () => {
      await storage.records.upsert([stockLine('sl-1'), stockLine('sl-2')], { sourceSiteId: 2, viaSync: false });
      await storage.records.upsert([stockLine('sl-1', { quantity: 5 })], { sourceSiteId: 3, viaSync: true });
      await storage.records.upsert([stockLine('sl-1', { quantity: 6 })], { sourceSiteId: 3, viaSync: true });

      const changes = await storage.changes.read(0n, 10);
      expect(changes.map((c) => [c.cursor, c.sourceSiteId, c.viaSync, c.record.id])).toEqual([
        [2n, 2, false, 'sl-2'],
        [4n, 3, true, 'sl-1'],
      ]);
      expect(changes[1]?.record).toEqual(stockLine('sl-1', { quantity: 6 }));
      expect(await storage.changes.head()).toBe(4n);
      // a reader that had read up to the old cursor of sl-1 (1n) gets sl-2 and the new sl-1, once each
      expect((await storage.changes.read(1n, 10)).map((c) => c.cursor)).toEqual([2n, 4n]);
      // a reader that had read everything before the rewrites gets only the new sl-1
      expect((await storage.changes.read(2n, 10)).map((c) => c.cursor)).toEqual([4n]);
      expect(await storage.changes.read(4n, 10)).toEqual([]);
    });

    it('keeps one change for a record written twice in one upsert, the last one', async () => {
      await storage.records.upsert([stockLine('sl-1', { quantity: 1 }), stockLine('sl-2'), stockLine('sl-1', { quantity: 2 })], {
        sourceSiteId: 2,
        viaSync: false,
      });

      const changes = await storage.changes.read(0n, 10);
      expect(changes.map((c) => [c.cursor, c.record.id, c.record.data['quantity']])).toEqual([
        [2n, 'sl-2', 10],
        [3n, 'sl-1', 2],
      ]);
    });

    it('tells records of different types with the same id apart', async () => {
      await storage.records.upsert([stockLine('x'), { type: 'item', id: 'x', data: {} }], { sourceSiteId: 2, viaSync: false });
      await storage.records.upsert([stockLine('x', { quantity: 1 })], { sourceSiteId: 2, viaSync: false });

      expect((await storage.changes.read(0n, 10)).map((c) => [c.cursor, c.record.type])).toEqual([
        [2n, 'item'],
        [3n, 'stock_line'],
      ]);
    });

    it('skips replaced entries in a read, limit counting only the changes returned, and drops them as they pile up', async () => {
      await storage.records.upsert(
        ['a', 'b', 'c'].map((id) => stockLine(id)),
        { sourceSiteId: 2, viaSync: false },
      );
      for (let i = 1; i <= 500; i += 1) {
        await storage.records.upsert([stockLine('b', { quantity: i })], { sourceSiteId: 2, viaSync: false });
      }
      await storage.records.upsert([stockLine('d')], { sourceSiteId: 2, viaSync: false });

      expect((await storage.changes.read(0n, 2)).map((c) => [c.cursor, c.record.id])).toEqual([
        [1n, 'a'],
        [3n, 'c'],
      ]);
      const all = await storage.changes.read(0n, 10);
      expect(all.map((c) => [c.cursor, c.record.id])).toEqual([
        [1n, 'a'],
        [3n, 'c'],
        [503n, 'b'],
        [504n, 'd'],
      ]);
      expect(all[2]?.record.data['quantity']).toBe(500);
      expect((await storage.changes.read(3n, 1)).map((c) => c.cursor)).toEqual([503n]);
      expect(await storage.changes.head()).toBe(504n);
      expect(state.changes.size).toBe(4);
      expect(state.changeOrder.length).toBeLessThanOrEqual(2 * 4 + 64);
    });

    it('reads changes after a cursor, in cursor order, at most limit', async () => {
      await storage.records.upsert(
        ['a', 'b', 'c', 'd', 'e'].map((id) => stockLine(id)),
        { sourceSiteId: 2, viaSync: false },
      );

      expect((await storage.changes.read(1n, 2)).map((c) => c.cursor)).toEqual([2n, 3n]);
      expect((await storage.changes.read(3n, 10)).map((c) => c.cursor)).toEqual([4n, 5n]);
      expect(await storage.changes.read(5n, 10)).toEqual([]);
      expect(await storage.changes.read(50n, 10)).toEqual([]);
      expect(await storage.changes.read(0n, 0)).toEqual([]);
    });

    it('keeps a cursor per consumer, 0n for an unknown one, and refuses to move one backwards', async () => {
      expect(await storage.changes.cursorOf('push')).toBe(0n);

      await storage.changes.advance('push', 5n);
      await storage.changes.advance('push', 5n);
      await storage.changes.advance('pull', 2n);

      await expect(storage.changes.advance('push', 4n)).rejects.toThrow(/push.*cannot move back/);
      expect(await storage.changes.cursorOf('push')).toBe(5n);
      expect(await storage.changes.cursorOf('pull')).toBe(2n);
      expect(await storage.changes.cursorOf('other')).toBe(0n);
    });
  });

  describe('inbound buffer', () => {
    it('stages a batch once: the same batch id again is a duplicate and stages nothing', async () => {
      const first = await storage.inbound.stage('batch-1', 2, [stockLine('sl-1'), stockLine('sl-2')]);
      const again = await storage.inbound.stage('batch-1', 2, [stockLine('sl-3')]);

      expect(first).toEqual({ staged: 2, duplicate: false });
      expect(again).toEqual({ staged: 0, duplicate: true });
      const pending = await storage.inbound.pending(10);
      expect(pending.map((r) => [r.seq, r.batchId, r.sourceSiteId, r.record.id, r.attempts, r.lastError])).toEqual([
        [1n, 'batch-1', 2, 'sl-1', 0, null],
        [2n, 'batch-1', 2, 'sl-2', 0, null],
      ]);
    });

    it('numbers records 1n, 2n... across batches and returns pending ones oldest first, at most limit', async () => {
      await storage.inbound.stage('batch-1', 2, [stockLine('sl-1')]);
      await storage.inbound.stage('batch-2', 3, [stockLine('sl-2'), stockLine('sl-3')]);

      expect((await storage.inbound.pending(10)).map((r) => r.seq)).toEqual([1n, 2n, 3n]);
      expect((await storage.inbound.pending(2)).map((r) => r.record.id)).toEqual(['sl-1', 'sl-2']);
    });

    it('keeps a failed record pending with its error and attempts, and lists it among failures', async () => {
      await storage.inbound.stage('batch-1', 2, [stockLine('sl-1'), stockLine('sl-2')]);
      const error = { code: 'record.unknown-store', message: 'store X is unknown', fix: 'create store X' };

      await storage.inbound.markFailed(1n, error);
      await storage.inbound.markFailed(1n, { code: 'record.unknown-store', message: 'still unknown' });

      const pending = await storage.inbound.pending(10);
      expect(pending.map((r) => r.seq)).toEqual([1n, 2n]);
      expect(pending[0]).toMatchObject({ seq: 1n, attempts: 2, lastError: { code: 'record.unknown-store', message: 'still unknown' } });
      expect(pending[1]).toMatchObject({ seq: 2n, attempts: 0, lastError: null });
      const failures = await storage.inbound.failures();
      expect(failures.map((r) => [r.seq, r.attempts, r.lastError?.message])).toEqual([[1n, 2, 'still unknown']]);
    });

    it('takes applied records out of pending and failures', async () => {
      await storage.inbound.stage('batch-1', 2, [stockLine('sl-1'), stockLine('sl-2'), stockLine('sl-3')]);
      await storage.inbound.markFailed(2n, { code: 'x', message: 'failed once' });

      await storage.inbound.markApplied([1n, 2n]);

      expect((await storage.inbound.pending(10)).map((r) => r.seq)).toEqual([3n]);
      expect(await storage.inbound.failures()).toEqual([]);
      await expect(storage.inbound.markFailed(1n, { code: 'x', message: 'too late' })).rejects.toThrow(/seq 1/);
      expect(await storage.inbound.stage('batch-1', 2, [stockLine('sl-1')])).toEqual({ staged: 0, duplicate: true });
    });
  });

  describe('issue log', () => {
    it('opens an issue, counts it again, and closes it', async () => {
      await storage.issues.report('transaction:tx-2', violation('b.first'), at('2026-01-01T10:00:00Z'));
      await storage.issues.report('transaction:tx-1', violation('a.first'), at('2026-01-01T10:00:00Z'));
      await storage.issues.report('transaction:tx-2', violation('b.second'), at('2026-01-02T10:00:00Z'));

      const open = await storage.issues.open();
      expect(open.map((i) => i.key)).toEqual(['transaction:tx-1', 'transaction:tx-2']);
      expect(open[1]).toEqual({
        key: 'transaction:tx-2',
        violation: violation('b.second'),
        firstSeenAt: at('2026-01-01T10:00:00Z'),
        lastSeenAt: at('2026-01-02T10:00:00Z'),
        occurrences: 2,
        subject: null,
        acknowledgedAt: null,
        acknowledgedBy: null,
      });
      expect(open[0]?.occurrences).toBe(1);

      await storage.issues.resolve('transaction:tx-2');
      await storage.issues.resolve('never-opened');
      expect((await storage.issues.open()).map((i) => i.key)).toEqual(['transaction:tx-1']);
    });
  });

  describe('topology repository', () => {
    it('has no topology until one is saved, then loads an equal one', async () => {
      const topology = buildTopology({
        sites: [
          { id: 1, name: 'Central', roles: ['central', 'primary'] },
          { id: 2, name: 'Remote', lastSyncedAt: at('2026-01-01T00:00:00Z') },
        ],
        stores: [{ id: 'D', name: 'District', activeSiteId: 2, copies: [{ siteId: 1, type: 'collector' }] }],
      });
      if (!topology.ok) throw new Error('test topology is invalid');
      expect(await storage.topology.load()).toBeNull();

      await storage.topology.save(topology.value);
      const loaded = await storage.topology.load();

      expect(loaded).not.toBe(topology.value);
      expect(loaded?.toInput()).toEqual(topology.value.toInput());
      expect(loaded?.syncTypeOn('D', 1)).toBe('collector');
    });

    it('keeps password hashes per site', async () => {
      expect(await storage.topology.passwordHash(2)).toBeNull();
      await storage.topology.setPasswordHash(2, 'hash-2');
      await storage.topology.setPasswordHash(3, 'hash-3');
      await storage.topology.setPasswordHash(2, 'hash-2b');
      expect(await storage.topology.passwordHash(2)).toBe('hash-2b');
      expect(await storage.topology.passwordHash(3)).toBe('hash-3');
    });
  });

  describe('units of work', () => {
    it('applies the writes of a unit of work that succeeds, and returns its value', async () => {
      const value = await central.run(async (s) => {
        await s.records.upsert([stockLine('sl-1')], { sourceSiteId: 2, viaSync: false });
        await s.changes.advance('push', 1n);
        return 'done';
      });

      expect(value).toBe('done');
      expect(await storage.records.get('stock_line', 'sl-1')).not.toBeNull();
      expect(await storage.changes.cursorOf('push')).toBe(1n);
    });

    it('leaves nothing behind when the work throws, and rethrows its error', async () => {
      const topology = buildTopology({
        sites: [{ id: 1, name: 'Central', roles: ['central', 'primary'] }],
        stores: [{ id: 'D', name: 'District', activeSiteId: 1 }],
      });
      if (!topology.ok) throw new Error('test topology is invalid');
      await storage.records.upsert([stockLine('sl-1')], { sourceSiteId: 2, viaSync: false });
      await storage.changes.advance('push', 1n);
      await storage.inbound.stage('batch-1', 2, [stockLine('sl-9')]);
      await storage.issues.report('issue-1', violation('x'), at('2026-01-01T00:00:00Z'));
      await storage.topology.setPasswordHash(2, 'before');
      const before = await observe(storage);
      const failure = new Error('the work failed');
      let headInFailedWork = 0n;

      const run = central.run(async (s) => {
        await s.records.upsert([stockLine('sl-1', { quantity: 0 }), stockLine('sl-2')], { sourceSiteId: 1, viaSync: false });
        await s.changes.advance('push', 3n);
        await s.inbound.stage('batch-2', 3, [stockLine('sl-8')]);
        await s.inbound.markFailed(1n, { code: 'x', message: 'failed' });
        await s.issues.report('issue-1', violation('y'), at('2026-01-05T00:00:00Z'));
        await s.issues.report('issue-2', violation('z'), at('2026-01-05T00:00:00Z'));
        await s.topology.setPasswordHash(2, 'after');
        await s.topology.save(topology.value);
        await s.records.nextSerialNumber('D', 'transaction');
        expect(await s.records.get('stock_line', 'sl-2')).not.toBeNull(); // the work sees its own writes
        headInFailedWork = await s.changes.head();
        throw failure;
      });

      await expect(run).rejects.toBe(failure);
      expect(await observe(storage)).toEqual(before);
      // the batch id staged by the failed work is forgotten, and the serial number was not taken
      expect(await storage.inbound.stage('batch-2', 3, [stockLine('sl-8')])).toEqual({ staged: 1, duplicate: false });
      expect(await storage.records.nextSerialNumber('D', 'transaction')).toBe(1);
      // the feed goes on from where it was, and never hands out again a cursor the failed work used
      expect(headInFailedWork).toBe(3n);
      expect(await storage.changes.head()).toBe(1n);
      await storage.records.upsert([stockLine('sl-3')], { sourceSiteId: 2, viaSync: false });
      expect((await storage.changes.read(0n, 10)).map((c) => [c.cursor, c.record.id])).toEqual([
        [1n, 'sl-1'],
        [4n, 'sl-3'],
      ]);
    });

    it('runs concurrent units of work one after the other, each seeing the writes of the previous one', async () => {
      const log: string[] = [];
      const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1));
      const work = (name: string) => async (s: SyncStorage) => {
        log.push(`${name}:start`);
        const count = (await s.records.list('stock_line', { limit: 100 })).length;
        await tick();
        await s.records.upsert([stockLine(`${name}-${count}`)], { sourceSiteId: 2, viaSync: false });
        await tick();
        log.push(`${name}:end`);
        return count;
      };

      const counts = await Promise.all([central.run(work('a')), central.run(work('b')), central.run(work('c'))]);

      expect(log).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
      expect(counts).toEqual([0, 1, 2]);
    });

    it('goes on with the next unit of work after one fails, without undoing the ones before', async () => {
      const first = central.run((s) => s.records.upsert([stockLine('sl-1')], { sourceSiteId: 2, viaSync: false }));
      const failing = central.run(async (s) => {
        await s.records.upsert([stockLine('sl-2')], { sourceSiteId: 2, viaSync: false });
        throw new Error('boom');
      });
      const third = central.run(async (s) => {
        await s.records.upsert([stockLine('sl-3')], { sourceSiteId: 2, viaSync: false });
        return s.changes.head();
      });

      await first;
      await expect(failing).rejects.toThrow('boom');
      // cursor 2n went to the failed work's write and is not handed out again
      expect(await third).toBe(3n);
      expect((await storage.records.list('stock_line', { limit: 10 })).map((r) => r.id)).toEqual(['sl-1', 'sl-3']);
    });
  });
});
