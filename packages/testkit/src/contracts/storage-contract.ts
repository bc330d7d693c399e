import {
  connectionFieldsOf,
  orThrow,
  type Change,
  type ChangeOrigin,
  type RoutingCount,
  type RuleViolation,
  type SyncRecord,
  type SyncStorage,
  type Topology,
  type UnitOfWork,
} from '@sitesync/domain';
import type * as JestGlobals from '@jest/globals';
import { seedExampleTopology } from '../builders/index';
import { describeLedgerContract } from './ledger-contract';
import { describeResyncContract } from './resync-contract';
import { canonical, rawRowOf } from './canonical-record';

// `@jest/globals` throws when it is loaded outside Jest, and the testkit is also used outside Jest
// (the demo imports it). So it is loaded when a suite is declared, not when this module is: the type
// import above is erased, and this declaration only gives the CommonJS `require` a type.
declare const require: (id: '@jest/globals') => typeof JestGlobals;

/** A record's row as the storage keeps it, read without the adapter's own getters. */
export interface RawRecordRow {
  /** a routing column the record was written without is null */
  readonly storeId: string | null;
  readonly otherPartyStoreId: string | null;
  readonly patientId: string | null;
  readonly homeStoreId: string | null;
  /** false when the record was written without `deleted` */
  readonly deleted: boolean;
  /** the record's data, parsed back from JSON (deep-equal to what was written) */
  readonly data: unknown;
}

/** Raw reads that bypass the adapter's own getters (SQL: plain SELECTs on the tables). */
export interface RawProbe {
  /** the stored row of a record, or null when there is none */
  recordRow(type: string, id: string): Promise<RawRecordRow | null>;
  /** how many records are stored, of every type */
  recordCount(): Promise<number>;
  /** where a consumer is, or null when it never advanced */
  consumerCursor(consumer: string): Promise<bigint | null>;
  /** inbound records not yet applied (new and failed ones) */
  bufferedCount(): Promise<number>;
  /** open issue keys, sorted */
  issueKeys(): Promise<string[]>;
}

/** One fresh, empty storage, opened for one test. */
export interface OpenedStorage {
  readonly unitOfWork: UnitOfWork;
  /** the storage outside any unit of work: each call applies at once */
  readonly storage: SyncStorage;
  readonly probe: RawProbe;
  close(): Promise<void>;
}

/** What an adapter's test gives the contract: how to open a fresh, empty storage for each test. */
export interface StorageHarness {
  readonly name: string;
  open(): Promise<OpenedStorage>;
  /** true when separate connections can write concurrently (real Postgres) */
  readonly concurrentConnections?: boolean;
}

const LOCAL: ChangeOrigin = { sourceSiteId: 1, viaSync: false };

/** A stock line of store D with every routing column given. */
function stockLine(id: string, data: Record<string, unknown> = {}): SyncRecord {
  return {
    type: 'stock_line',
    id,
    storeId: 'D',
    otherPartyStoreId: null,
    patientId: null,
    homeStoreId: null,
    deleted: false,
    data: { itemId: 'item-1', quantity: 10, ...data },
  };
}

const canonicalAll = (records: readonly SyncRecord[]): (SyncRecord | null)[] => records.map((r) => canonical(r));

const violation = (code: string, message = `refused: ${code}`): RuleViolation => ({ code, rule: 'a rule of the contract', message, fix: `fix ${code}` });

/** The whole feed after `after`, read a page at a time. */
async function readAll(storage: SyncStorage, after = 0n, pageSize = 100): Promise<Change[]> {
  const all: Change[] = [];
  let cursor = after;
  for (;;) {
    const page = await storage.changes.read(cursor, pageSize);
    all.push(...page);
    const last = page[page.length - 1];
    if (last === undefined || page.length < pageSize) return all;
    cursor = last.cursor;
  }
}

/**
 * A Date, whatever realm made it (`toBeInstanceOf(Date)` is not used: under Jest, a Date made by
 * Node's own `structuredClone` is not an instance of the test's `Date`).
 */
const isDate = (value: unknown): value is Date => Object.prototype.toString.call(value) === '[object Date]';

const idsOf = (changes: readonly Change[]): string[] => changes.map((c) => c.record.id);

/** Seed 002's example topology, with every kind of field set somewhere: booleans both ways, dates and nulls. */
function richTopology(): Topology {
  let topology = seedExampleTopology();
  topology = orThrow(
    topology.withStore({
      id: 'G',
      code: 'G-01',
      name: 'Dispensary G — Pharmacie générale 💊',
      activeSiteId: 3,
      isDispensary: true,
      includeTransactionsInSync: false,
      copies: [{ siteId: 1, type: 'collector' }],
    }),
  );
  topology = orThrow(topology.updateStore('A', { centralisedProcurement: true }));
  topology = orThrow(
    topology.updateSite(2, {
      lastSyncedAt: new Date('2026-03-04T05:06:07.891Z'),
      appName: 'mSupply',
      appVersion: '7.14.2',
      hardwareId: 'hw-1234',
      serverUrl: 'https://remote1.example.org:2048',
      syncIntervalMinutes: 15,
      requestSize: 250,
      failedLoginCount: 2,
      blocked: true,
    }),
  );
  topology = orThrow(
    topology.withSite({
      id: 4,
      code: 'OMS',
      name: 'Open mSupply central',
      roles: ['oms-central'],
      omsCentralUrl: 'https://oms.example.org',
      deviceType: 'mobile',
    }),
  );
  return topology;
}

/**
 * The storage contract: every storage adapter (in-memory, SQLite, PGlite, Postgres) runs this suite
 * unchanged, so that they all behave as the ports say. Each test opens a fresh, empty storage and
 * closes it afterwards. Call it at the top level of a test file.
 */
export function describeStorageContract(harness: StorageHarness): void {
  const { describe, it, expect, beforeEach, afterEach } = require('@jest/globals');

  describe(`storage contract: ${harness.name}`, () => {
    let opened: OpenedStorage | undefined;
    let storage: SyncStorage;
    let unitOfWork: UnitOfWork;
    let probe: RawProbe;

    beforeEach(async () => {
      opened = await harness.open();
      ({ storage, unitOfWork, probe } = opened);
    });

    afterEach(async () => {
      const closing = opened;
      opened = undefined;
      await closing?.close();
    });

    describeLedgerContract({ storage: () => storage, unitOfWork: () => unitOfWork });
    describeResyncContract({ storage: () => storage, unitOfWork: () => unitOfWork, concurrentConnections: harness.concurrentConnections === true });

    describe('record store', () => {
      it('gets many records by key at once: those that exist, each once', async () => {
        await storage.records.upsert([stockLine('a'), stockLine('b'), { ...stockLine('c'), type: 'transaction' }], LOCAL);
        const keys = [
          { type: 'stock_line', id: 'a' },
          { type: 'stock_line', id: 'missing' },
          { type: 'transaction', id: 'c' },
          { type: 'stock_line', id: 'a' },
          { type: 'transaction', id: 'a' },
        ];
        const found = await storage.records.getMany(keys);
        expect(found.map((r) => `${r.type}:${r.id}`).sort()).toEqual(['stock_line:a', 'transaction:c']);
        expect(found.find((r) => r.id === 'a')).toEqual(await storage.records.get('stock_line', 'a'));
        expect(await storage.records.getMany([])).toEqual([]);
        const many = Array.from({ length: 1_200 }, (_, i) => stockLine(`bulk-${i}`));
        await storage.records.upsert(many, LOCAL);
        expect(await storage.records.getMany(many)).toHaveLength(1_200);
      });

      it('locks many records by key: the stored versions, as getMany, inside a unit of work', async () => {
        await storage.records.upsert([stockLine('a'), stockLine('b'), { ...stockLine('c'), type: 'transaction' }], LOCAL);
        const keys = [
          { type: 'transaction', id: 'c' },
          { type: 'stock_line', id: 'b' },
          { type: 'stock_line', id: 'missing' },
          { type: 'stock_line', id: 'a' },
        ];
        const locked = await unitOfWork.run((s) => s.records.lockMany(keys));
        expect(canonicalAll([...locked].sort((x, y) => recordKeyOrder(x, y)))).toEqual(
          canonicalAll([...(await storage.records.getMany(keys))].sort((x, y) => recordKeyOrder(x, y))),
        );
        expect(locked).toHaveLength(3);
        expect(await unitOfWork.run((s) => s.records.lockMany([]))).toEqual([]);
      });

      it('round-trips every routing column, nested JSON data, unicode and the deleted flag, as the probe sees too', async () => {
        const full: SyncRecord = {
          type: 'transaction',
          id: 'tx-ünï-çødé-✓-𝄞',
          storeId: 'D',
          otherPartyStoreId: 'F',
          patientId: 'patient-Ω',
          homeStoreId: 'C',
          deleted: false,
          data: {
            status: 'finalised',
            serialNumber: 42,
            total: 1234.5,
            negative: -3,
            flags: { urgent: true, archived: false },
            lines: [
              { itemId: 'item-1', quantity: 10 },
              { itemId: 'item-2', quantity: 0.25, batch: null, tags: ['a', 'b'] },
            ],
            empty: { list: [], object: {} },
            nothing: null,
            note: 'Ärzte ohne Grenzen — 診療所 — مستوصف — 💊🩺',
            escapes: 'quote " backslash \\ slash / newline \n tab \t',
          },
        };
        const deleted: SyncRecord = {
          type: 'transaction',
          id: 'tx-deleted',
          storeId: 'D',
          otherPartyStoreId: null,
          patientId: null,
          homeStoreId: null,
          deleted: true,
          data: { status: 'deleted' },
        };
        const sparse: SyncRecord = { type: 'item', id: 'item-1', data: { name: 'Paracétamol 500 mg' } };

        await storage.records.upsert([full, deleted, sparse], LOCAL);

        expect(canonical(await storage.records.get('transaction', full.id))).toEqual(canonical(full));
        expect(canonical(await storage.records.get('transaction', 'tx-deleted'))).toEqual(canonical(deleted));
        expect(canonical(await storage.records.get('item', 'item-1'))).toEqual(canonical(sparse));

        expect(await probe.recordRow('transaction', full.id)).toEqual(rawRowOf(full));
        expect(await probe.recordRow('transaction', 'tx-deleted')).toEqual(rawRowOf(deleted));
        expect(await probe.recordRow('item', 'item-1')).toEqual({
          storeId: null,
          otherPartyStoreId: null,
          patientId: null,
          homeStoreId: null,
          deleted: false,
          data: { name: 'Paracétamol 500 mg' },
        });
        expect(await probe.recordCount()).toBe(3);
      });

      it('returns null for a missing record, and tells types apart', async () => {
        await storage.records.upsert([stockLine('sl-1')], LOCAL);

        expect(await storage.records.get('stock_line', 'missing')).toBeNull();
        expect(await storage.records.get('item', 'sl-1')).toBeNull();
        expect(await probe.recordRow('stock_line', 'missing')).toBeNull();
        expect(await probe.recordRow('item', 'sl-1')).toBeNull();
      });

      it('replaces a record written again with the same type and id', async () => {
        await storage.records.upsert([stockLine('sl-1', { quantity: 1 })], LOCAL);
        await storage.records.upsert([{ ...stockLine('sl-1', { quantity: 2 }), storeId: 'E', deleted: true }], { sourceSiteId: 2, viaSync: true });

        expect(canonical(await storage.records.get('stock_line', 'sl-1'))).toEqual(
          canonical({ ...stockLine('sl-1', { quantity: 2 }), storeId: 'E', deleted: true }),
        );
        expect(await probe.recordRow('stock_line', 'sl-1')).toMatchObject({ storeId: 'E', deleted: true, data: { quantity: 2 } });
        expect(await probe.recordCount()).toBe(1);
      });

      it('finds the lines of a header by a data field, in id order, and nothing else', async () => {
        const lineOf = (id: string, data: Record<string, unknown>): SyncRecord => ({ ...stockLine(id), type: 'transaction_line', data });
        const wanted = [lineOf('l-01', { transactionId: 'tx-1', quantity: 1 }), lineOf('l-03', { transactionId: 'tx-1', quantity: 3 })];
        await storage.records.upsert(
          [
            wanted[1]!,
            lineOf('l-02', { transactionId: 'tx-2' }),
            lineOf('l-04', { itemId: 'item-1' }),
            lineOf('l-05', { nested: { transactionId: 'tx-1' } }),
            lineOf('l-06', { transactionId: 'tx-10' }),
            lineOf('l-07', { transactionId: 'TX-1' }),
            wanted[0]!,
            { ...stockLine('s-01'), data: { transactionId: 'tx-1' } },
          ],
          LOCAL,
        );

        expect(canonicalAll(await storage.records.findByField('transaction_line', 'transactionId', 'tx-1'))).toEqual(canonicalAll(wanted));
        expect(await storage.records.findByField('transaction_line', 'transactionId', 'tx-9')).toEqual([]);
        expect(await storage.records.findByField('requisition_line', 'transactionId', 'tx-1')).toEqual([]);
        // many headers' lines in one call, in id order; a value given twice counts once
        const many = await storage.records.findByField('transaction_line', 'transactionId', ['tx-9', 'tx-1', 'tx-1']);
        expect(canonicalAll(many)).toEqual(canonicalAll(wanted));
        expect(await storage.records.findByField('transaction_line', 'transactionId', [])).toEqual([]);
      });

      it('lists a type in id order, a page at a time after an id, covering every record exactly once', async () => {
        const ids = Array.from({ length: 12 }, (_, i) => `sl-${String(i + 1).padStart(2, '0')}`);
        const shuffled = [...ids.filter((_, i) => i % 2 === 1).reverse(), ...ids.filter((_, i) => i % 2 === 0)];
        await storage.records.upsert(
          shuffled.map((id) => stockLine(id, { n: id })),
          LOCAL,
        );
        await storage.records.upsert([{ type: 'item', id: 'sl-00', data: {} }], LOCAL);

        const pages: string[][] = [];
        let afterId: string | undefined;
        for (let i = 0; i < 10; i += 1) {
          const page = await storage.records.list('stock_line', afterId === undefined ? { limit: 5 } : { afterId, limit: 5 });
          if (page.length === 0) break;
          pages.push(page.map((r) => r.id));
          afterId = page[page.length - 1]!.id;
        }

        expect(pages).toEqual([ids.slice(0, 5), ids.slice(5, 10), ids.slice(10)]);
        expect(canonicalAll(await storage.records.list('stock_line', { afterId: 'sl-055', limit: 2 }))).toEqual(
          canonicalAll([stockLine('sl-06', { n: 'sl-06' }), stockLine('sl-07', { n: 'sl-07' })]),
        );
        expect(await storage.records.list('stock_line', { afterId: 'sl-12', limit: 5 })).toEqual([]);
        expect(await storage.records.list('requisition', { limit: 5 })).toEqual([]);
      });

      it('counts serial numbers 1, 2, 3 per store and record type independently', async () => {
        const taken = [
          await storage.records.nextSerialNumber('D', 'transaction'),
          await storage.records.nextSerialNumber('D', 'transaction'),
          await storage.records.nextSerialNumber('D', 'requisition'),
          await storage.records.nextSerialNumber('F', 'transaction'),
          await storage.records.nextSerialNumber('D', 'transaction'),
          await storage.records.nextSerialNumber('F', 'transaction'),
          await storage.records.nextSerialNumber('D', 'requisition'),
        ];
        expect(taken).toEqual([1, 2, 1, 1, 3, 2, 2]);
      });

      it('does nothing for an empty upsert or an empty markApplied', async () => {
        await storage.records.upsert([], LOCAL);
        await storage.inbound.markApplied([]);

        expect(await probe.recordCount()).toBe(0);
        expect(await storage.changes.head()).toBe(0n);
        expect(await storage.changes.read(0n, 10)).toEqual([]);
      });

      it('leaves the same rows, and each record once in the feed, when a batch is applied twice', async () => {
        const batch = [
          stockLine('sl-1'),
          { ...stockLine('sl-2'), otherPartyStoreId: 'F' },
          { type: 'patient', id: 'p-1', patientId: 'p-1', homeStoreId: 'C', data: { name: 'Zoë' } },
        ];
        await storage.records.upsert(batch, { sourceSiteId: 2, viaSync: true });
        const rowsOnce = await Promise.all(batch.map((r) => probe.recordRow(r.type, r.id)));

        await storage.records.upsert(batch, { sourceSiteId: 2, viaSync: true });

        expect(await Promise.all(batch.map((r) => probe.recordRow(r.type, r.id)))).toEqual(rowsOnce);
        expect(rowsOnce).toEqual(batch.map(rawRowOf));
        expect(await probe.recordCount()).toBe(3);
        const feed = await readAll(storage);
        expect(idsOf(feed)).toEqual(['sl-1', 'sl-2', 'p-1']);
        expect(feed.map((c) => canonical(c.record))).toEqual(canonicalAll(batch));
      });
    });

    describe('change feed', () => {
      it('gives every write a bigint cursor greater than every cursor before', async () => {
        const seen: bigint[] = [];
        const write = async (records: readonly SyncRecord[]): Promise<void> => {
          await storage.records.upsert(records, LOCAL);
          for (const record of records) {
            const change = (await readAll(storage)).find((c) => c.record.id === record.id);
            expect(typeof change?.cursor).toBe('bigint');
            seen.push(change!.cursor);
          }
        };

        await write([stockLine('a')]);
        await write([stockLine('b')]);
        await write([stockLine('c')]);
        await write([stockLine('a', { quantity: 1 })]);
        await write([stockLine('b', { quantity: 1 })]);

        for (let i = 1; i < seen.length; i += 1) expect(seen[i]! > seen[i - 1]!).toBe(true);
        const feed = await readAll(storage);
        for (let i = 1; i < feed.length; i += 1) expect(feed[i]!.cursor > feed[i - 1]!.cursor).toBe(true);
      });

      it('reads after a cursor only the later changes, in cursor order', async () => {
        for (const id of ['a', 'b', 'c', 'd']) await storage.records.upsert([stockLine(id)], LOCAL);
        const feed = await readAll(storage);
        expect(idsOf(feed)).toEqual(['a', 'b', 'c', 'd']);

        expect(idsOf(await storage.changes.read(feed[1]!.cursor, 10))).toEqual(['c', 'd']);
        expect(idsOf(await storage.changes.read(feed[0]!.cursor, 10))).toEqual(['b', 'c', 'd']);
        expect(await storage.changes.read(feed[3]!.cursor, 10)).toEqual([]);
        expect(await storage.changes.read(feed[3]!.cursor + 1000n, 10)).toEqual([]);
      });

      it('returns at most limit changes', async () => {
        await storage.records.upsert(
          ['a', 'b', 'c', 'd', 'e'].map((id) => stockLine(id)),
          LOCAL,
        );

        expect(idsOf(await storage.changes.read(0n, 2))).toEqual(['a', 'b']);
        const first = await storage.changes.read(0n, 1);
        expect(idsOf(await storage.changes.read(first[0]!.cursor, 3))).toEqual(['b', 'c', 'd']);
        expect(await storage.changes.read(0n, 0)).toEqual([]);
      });

      it('scans the same changes as it reads, with the routing columns and without the data', async () => {
        const line: SyncRecord = { type: 'transaction', id: 'ci-1', storeId: 'A', otherPartyStoreId: 'B', deleted: true, data: { big: 'x'.repeat(1000) } };
        await storage.records.upsert([stockLine('a'), line], LOCAL);
        const read = await storage.changes.read(0n, 10);
        const scanned = await storage.changes.scan(0n, 10);
        expect(scanned.map((c) => c.cursor)).toEqual(read.map((c) => c.cursor));
        expect(scanned[1]).toMatchObject({
          sourceSiteId: LOCAL.sourceSiteId,
          viaSync: false,
          record: { type: 'transaction', id: 'ci-1', storeId: 'A', otherPartyStoreId: 'B', deleted: true, data: {} },
        });
        expect(await storage.changes.scan(read[0]!.cursor, 10)).toHaveLength(1);
      });

      it('reads the same changes encoded: the records without data, the data as JSON text', async () => {
        const data = { text: 'é \u2028 "quoted"', n: 12.5, big: 12345678901234, nested: { list: [1, null, true, 'x'] }, empty: {} };
        const line: SyncRecord = { type: 'transaction', id: 'ci-1', storeId: 'A', otherPartyStoreId: 'B', deleted: true, data };
        await storage.records.upsert([stockLine('a'), line, stockLine('b', { quantity: 0 })], LOCAL);
        const read = await storage.changes.read(0n, 10);
        const encoded = await storage.changes.readEncoded(0n, 10);
        expect(encoded.map(({ dataJson, ...change }) => ({ ...change, record: { ...change.record, data: JSON.parse(dataJson) as unknown } }))).toEqual(read);
        expect(encoded.map((c) => c.record.data)).toEqual([{}, {}, {}]);
        expect(await storage.changes.readEncoded(read[0]!.cursor, 1)).toEqual([
          expect.objectContaining({ cursor: read[1]!.cursor, record: { ...line, data: {} } }),
        ]);
        expect(await storage.changes.readEncoded(read[2]!.cursor, 10)).toEqual([]);
      });

      it('counts the changes in a cursor range by type, routing columns and source site', async () => {
        const patient: SyncRecord = { type: 'patient', id: 'p-1', patientId: 'p-1', homeStoreId: 'B', data: {} };
        await storage.records.upsert([stockLine('a'), stockLine('b'), { ...stockLine('c'), storeId: '' }], LOCAL);
        await storage.records.upsert([stockLine('d'), { type: 'item', id: 'i-1', data: {} }, patient], { sourceSiteId: 2, viaSync: true });
        await storage.records.upsert([{ type: 'transaction', id: 't-1', storeId: 'A', otherPartyStoreId: 'B', deleted: true, data: {} }], LOCAL);
        const feed = await readAll(storage);
        const sorted = (groups: readonly RoutingCount[]) => [...groups].sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));
        const line = { type: 'stock_line', storeId: 'D', otherPartyStoreId: null, patientId: null, homeStoreId: null };
        expect(sorted(await storage.changes.countByRouting(0n, feed[6]!.cursor))).toEqual(
          sorted([
            { ...line, sourceSiteId: 1, count: 2 },
            { ...line, storeId: '', sourceSiteId: 1, count: 1 },
            { ...line, sourceSiteId: 2, count: 1 },
            { type: 'item', storeId: null, otherPartyStoreId: null, patientId: null, homeStoreId: null, sourceSiteId: 2, count: 1 },
            { type: 'patient', storeId: null, otherPartyStoreId: null, patientId: 'p-1', homeStoreId: 'B', sourceSiteId: 2, count: 1 },
            { type: 'transaction', storeId: 'A', otherPartyStoreId: 'B', patientId: null, homeStoreId: null, sourceSiteId: 1, count: 1 },
          ]),
        );
        // (after, upTo]: the first change and the last are left out
        expect(sorted(await storage.changes.countByRouting(feed[0]!.cursor, feed[5]!.cursor))).toEqual(
          sorted([
            { ...line, sourceSiteId: 1, count: 1 },
            { ...line, storeId: '', sourceSiteId: 1, count: 1 },
            { ...line, sourceSiteId: 2, count: 1 },
            { type: 'item', storeId: null, otherPartyStoreId: null, patientId: null, homeStoreId: null, sourceSiteId: 2, count: 1 },
            { type: 'patient', storeId: null, otherPartyStoreId: null, patientId: 'p-1', homeStoreId: 'B', sourceSiteId: 2, count: 1 },
          ]),
        );
        // a record written again counts once, at its new place
        await storage.records.upsert([stockLine('a')], { sourceSiteId: 2, viaSync: true });
        const head = await storage.changes.head();
        expect(sorted(await storage.changes.countByRouting(feed[6]!.cursor, head))).toEqual([{ ...line, sourceSiteId: 2, count: 1 }]);
        expect(
          sorted(await storage.changes.countByRouting(0n, head)).find((g) => g.type === 'stock_line' && g.storeId === 'D' && g.sourceSiteId === 1)?.count,
        ).toBe(1);
        expect(await storage.changes.countByRouting(head, head)).toEqual([]);
        expect(await storage.changes.countByRouting(head, head + 100n)).toEqual([]);
      });

      it('gives a record written twice between reads once, in its latest version, at a cursor greater than before', async () => {
        await storage.records.upsert([stockLine('a'), stockLine('b'), stockLine('c')], LOCAL);
        const before = await readAll(storage);
        const readUpTo = before[before.length - 1]!.cursor;

        await storage.records.upsert([stockLine('a', { quantity: 1 })], LOCAL);
        await storage.records.upsert([stockLine('a', { quantity: 2 })], LOCAL);

        const after = await storage.changes.read(readUpTo, 10);
        expect(after).toHaveLength(1);
        expect(canonical(after[0]!.record)).toEqual(canonical(stockLine('a', { quantity: 2 })));
        expect(after[0]!.cursor > readUpTo).toBe(true);
        // from the start too: each record once, `a` now last
        const all = await readAll(storage);
        expect(idsOf(all)).toEqual(['b', 'c', 'a']);
        expect(canonical(all[2]!.record)).toEqual(canonical(stockLine('a', { quantity: 2 })));
      });

      it('keeps the origin of each change (site and whether it came by sync), the latest one after a rewrite', async () => {
        await storage.records.upsert([stockLine('a')], { sourceSiteId: 2, viaSync: false });
        await storage.records.upsert([stockLine('b')], { sourceSiteId: 3, viaSync: true });
        expect((await readAll(storage)).map((c) => [c.record.id, c.sourceSiteId, c.viaSync])).toEqual([
          ['a', 2, false],
          ['b', 3, true],
        ]);

        await storage.records.upsert([stockLine('a', { quantity: 1 })], { sourceSiteId: 4, viaSync: true });
        expect((await readAll(storage)).map((c) => [c.record.id, c.sourceSiteId, c.viaSync])).toEqual([
          ['b', 3, true],
          ['a', 4, true],
        ]);
      });

      it('has a head of 0n when empty, then the last cursor read', async () => {
        expect(await storage.changes.head()).toBe(0n);

        await storage.records.upsert([stockLine('a'), stockLine('b')], LOCAL);
        let feed = await readAll(storage);
        expect(await storage.changes.head()).toBe(feed[feed.length - 1]!.cursor);

        await storage.records.upsert([stockLine('a', { quantity: 1 })], LOCAL);
        feed = await readAll(storage);
        expect(idsOf(feed)).toEqual(['b', 'a']);
        const head = await storage.changes.head();
        expect(typeof head).toBe('bigint');
        expect(head).toBe(feed[feed.length - 1]!.cursor);
      });

      it('keeps bigint cursors above 2^53 exactly', async () => {
        const big = 2n ** 60n + 7n;

        await storage.changes.advance('far', big);

        const cursor = await storage.changes.cursorOf('far');
        expect(typeof cursor).toBe('bigint');
        expect(cursor).toBe(big);
        expect(await probe.consumerCursor('far')).toBe(big);
        await expect(storage.changes.advance('far', big - 1n)).rejects.toThrow();
        expect(await storage.changes.cursorOf('far')).toBe(big);
        expect(await storage.changes.read(big, 10)).toEqual([]);
      });

      it('reads back records written in several units of work in write order', async () => {
        await unitOfWork.run((s) => s.records.upsert([stockLine('c'), stockLine('a')], LOCAL));
        await unitOfWork.run((s) => s.records.upsert([stockLine('e')], LOCAL));
        await storage.records.upsert([stockLine('b')], LOCAL);
        await unitOfWork.run(async (s) => {
          await s.records.upsert([stockLine('f')], LOCAL);
          await s.records.upsert([stockLine('d')], LOCAL);
        });

        expect(idsOf(await readAll(storage, 0n, 2))).toEqual(['c', 'a', 'e', 'b', 'f', 'd']);
      });
    });

    describe('consumers', () => {
      it('has a cursor of 0n for a consumer that never advanced', async () => {
        expect(await storage.changes.cursorOf('never')).toBe(0n);
        expect(await probe.consumerCursor('never')).toBeNull();
      });

      it('moves a consumer forward with advance, and to the same cursor again', async () => {
        await storage.changes.advance('push', 3n);
        expect(await storage.changes.cursorOf('push')).toBe(3n);
        expect(await probe.consumerCursor('push')).toBe(3n);

        await storage.changes.advance('push', 3n);
        await storage.changes.advance('push', 8n);
        expect(await storage.changes.cursorOf('push')).toBe(8n);
        expect(await probe.consumerCursor('push')).toBe(8n);
      });

      it('refuses to move a consumer backwards by throwing, and leaves its cursor', async () => {
        await storage.changes.advance('push', 5n);

        await expect(storage.changes.advance('push', 4n)).rejects.toThrow();

        expect(await storage.changes.cursorOf('push')).toBe(5n);
        expect(await probe.consumerCursor('push')).toBe(5n);
      });

      it('keeps consumers independent', async () => {
        await storage.changes.advance('push', 5n);
        await storage.changes.advance('pull:2', 2n);
        await storage.changes.advance('pull:3', 9n);

        expect(await storage.changes.cursorOf('push')).toBe(5n);
        expect(await storage.changes.cursorOf('pull:2')).toBe(2n);
        expect(await storage.changes.cursorOf('pull:3')).toBe(9n);
        expect(await storage.changes.cursorOf('pull:4')).toBe(0n);
      });

      it('claims a consumer in a unit of work: its cursor, 0n when it never advanced', async () => {
        await storage.changes.advance('push', 5n);
        expect(await unitOfWork.run((s) => s.changes.claim('push'))).toBe(5n);
        expect(await unitOfWork.run((s) => s.changes.claim('processor'))).toBe(0n);
        expect(await storage.changes.cursorOf('processor')).toBe(0n);
      });

      (harness.concurrentConnections === true ? it : it.skip)(
        'a consumer claimed by one unit of work is claimed by another only after it ends, which then reads where it was left',
        async () => {
          const order: string[] = [];
          let release: () => void = () => undefined;
          const released = new Promise<void>((resolve) => (release = resolve));
          let claimedIt: () => void = () => undefined;
          const isClaimed = new Promise<void>((resolve) => (claimedIt = resolve));
          const first = unitOfWork.run(async (s) => {
            const at = await s.changes.claim('processor');
            claimedIt();
            await released;
            await s.changes.advance('processor', at + 10n);
            order.push('first');
          });
          await isClaimed;
          const second = unitOfWork.run(async (s) => {
            const at = await s.changes.claim('processor');
            order.push(`second at ${at}`);
          });
          await new Promise((resolve) => setTimeout(resolve, 200));
          expect(order).toEqual([]);
          release();
          await Promise.all([first, second]);
          expect(order).toEqual(['first', 'second at 10']);
        },
      );
    });

    describe('unit of work', () => {
      it('leaves nothing behind when the work throws after writing, and rethrows the same error', async () => {
        await storage.records.upsert([stockLine('kept')], LOCAL);
        const [kept] = await readAll(storage);
        await storage.changes.advance('push', kept!.cursor);
        await storage.inbound.stage('batch-0', 2, [stockLine('staged-0')]);
        await storage.issues.report('issue:kept', violation('kept'), new Date('2026-01-01T00:00:00.000Z'));
        const before = {
          recordCount: await probe.recordCount(),
          push: await probe.consumerCursor('push'),
          pull: await probe.consumerCursor('pull'),
          bufferedCount: await probe.bufferedCount(),
          issueKeys: await probe.issueKeys(),
          kept: await probe.recordRow('stock_line', 'kept'),
          head: await storage.changes.head(),
          feed: await readAll(storage),
          issues: await storage.issues.open(),
        };
        const failure = new Error('the work failed');
        let sawOwnWrites = false;

        const run = unitOfWork.run(async (s) => {
          await s.records.upsert([stockLine('kept', { quantity: 0 }), stockLine('new-1'), stockLine('new-2')], LOCAL);
          const head = await s.changes.head();
          await s.changes.advance('push', head);
          await s.changes.advance('pull', head);
          await s.inbound.stage('batch-1', 3, [stockLine('staged-1'), stockLine('staged-2')]);
          await s.issues.report('issue:kept', violation('again'), new Date('2026-02-01T00:00:00.000Z'));
          await s.issues.report('issue:new', violation('new'), new Date('2026-02-01T00:00:00.000Z'));
          sawOwnWrites = (await s.records.get('stock_line', 'new-1')) !== null && (await s.changes.cursorOf('push')) === head;
          throw failure;
        });

        await expect(run).rejects.toBe(failure);
        expect(sawOwnWrites).toBe(true);
        expect({
          recordCount: await probe.recordCount(),
          push: await probe.consumerCursor('push'),
          pull: await probe.consumerCursor('pull'),
          bufferedCount: await probe.bufferedCount(),
          issueKeys: await probe.issueKeys(),
          kept: await probe.recordRow('stock_line', 'kept'),
          head: await storage.changes.head(),
          feed: await readAll(storage),
          issues: await storage.issues.open(),
        }).toEqual(before);
        expect(await storage.records.get('stock_line', 'new-1')).toBeNull();
        // the batch id staged by the failed work is not remembered
        expect(await storage.inbound.stage('batch-1', 3, [stockLine('staged-1')])).toEqual({ staged: 1, duplicate: false });
      });

      it('commits everything a successful run wrote', async () => {
        await unitOfWork.run(async (s) => {
          await s.records.upsert([stockLine('a'), stockLine('b')], LOCAL);
          await s.changes.advance('push', await s.changes.head());
          await s.inbound.stage('batch-1', 2, [stockLine('staged-1'), stockLine('staged-2')]);
          await s.issues.report('issue:1', violation('one'), new Date('2026-01-01T00:00:00.000Z'));
          expect(canonical(await s.records.get('stock_line', 'a'))).toEqual(canonical(stockLine('a')));
        });

        expect(await probe.recordCount()).toBe(2);
        expect(await probe.recordRow('stock_line', 'b')).toEqual(rawRowOf(stockLine('b')));
        const feed = await readAll(storage);
        expect(idsOf(feed)).toEqual(['a', 'b']);
        expect(await probe.consumerCursor('push')).toBe(feed[1]!.cursor);
        expect(await probe.bufferedCount()).toBe(2);
        expect(await probe.issueKeys()).toEqual(['issue:1']);
        expect(await storage.inbound.stage('batch-1', 2, [])).toEqual({ staged: 0, duplicate: true });
      });

      it("returns the work's value", async () => {
        const value = { answer: 42 };
        expect(await unitOfWork.run(() => Promise.resolve(value))).toBe(value);
        expect(await unitOfWork.run((s) => s.records.nextSerialNumber('D', 'transaction'))).toBe(1);
      });

      (harness.concurrentConnections === true ? it : it.skip)(
        'a record locked by one unit of work is written by another only after the first commits',
        async () => {
          await storage.records.upsert([stockLine('held', { quantity: 1 })], LOCAL);
          const order: string[] = [];
          let release: () => void = () => undefined;
          const released = new Promise<void>((resolve) => (release = resolve));
          let lockedIt: () => void = () => undefined;
          const isLocked = new Promise<void>((resolve) => (lockedIt = resolve));
          const locker = unitOfWork.run(async (s) => {
            const [seen] = await s.records.lockMany([{ type: 'stock_line', id: 'held' }]);
            lockedIt();
            await released;
            await s.records.upsert([stockLine('held', { quantity: (seen!.data['quantity'] as number) + 1 })], LOCAL);
            order.push('locker');
          });
          await isLocked;
          const writer = unitOfWork.run(async (s) => {
            await s.records.upsert([stockLine('held', { quantity: 100 })], { sourceSiteId: 2, viaSync: true });
            order.push('writer');
          });
          await new Promise((resolve) => setTimeout(resolve, 200));
          expect(order).toEqual([]); // the writer waits for the lock
          release();
          await Promise.all([locker, writer]);
          expect(order).toEqual(['locker', 'writer']);
          expect((await storage.records.get('stock_line', 'held'))!.data['quantity']).toBe(100);
        },
      );

      (harness.concurrentConnections === true ? it : it.skip)('commits two units of work run concurrently, and the feed has both records', async () => {
        // Each work waits (a little, at most) for the other to have written before it commits, so
        // that both transactions are open together.
        const written = new Set<string>();
        const bothWritten = async (): Promise<void> => {
          for (let waited = 0; written.size < 2 && waited < 1000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
        };
        const work = (id: string) => async (s: SyncStorage) => {
          await s.records.upsert([stockLine(id)], { sourceSiteId: 2, viaSync: true });
          written.add(id);
          await bothWritten();
          return id;
        };

        expect(await Promise.all([unitOfWork.run(work('one')), unitOfWork.run(work('two'))])).toEqual(['one', 'two']);

        const feed = await readAll(storage);
        expect([...idsOf(feed)].sort()).toEqual(['one', 'two']);
        expect(feed[1]!.cursor > feed[0]!.cursor).toBe(true);
        expect(await probe.recordCount()).toBe(2);
      });
    });

    describe('inbound buffer', () => {
      it('stages a batch once: the same batch id again stages nothing', async () => {
        expect(await storage.inbound.stage('batch-1', 2, [stockLine('a'), stockLine('b')])).toEqual({ staged: 2, duplicate: false });
        expect(await probe.bufferedCount()).toBe(2);

        expect(await storage.inbound.stage('batch-1', 2, [stockLine('c')])).toEqual({ staged: 0, duplicate: true });

        expect(await probe.bufferedCount()).toBe(2);
        expect((await storage.inbound.pending(10)).map((r) => r.record.id)).toEqual(['a', 'b']);
      });

      it('returns pending records oldest first, with bigint seqs, at most limit', async () => {
        const withPatient: SyncRecord = {
          type: 'patient',
          id: 'p-1',
          patientId: 'p-1',
          homeStoreId: 'C',
          storeId: null,
          otherPartyStoreId: null,
          deleted: false,
          data: { name: 'Zoë' },
        };
        await storage.inbound.stage('batch-1', 2, [stockLine('a'), stockLine('b')]);
        await storage.inbound.stage('batch-2', 3, [withPatient]);

        const pending = await storage.inbound.pending(10);
        expect(pending.map((r) => [r.batchId, r.sourceSiteId, r.record.id, r.attempts, r.lastError])).toEqual([
          ['batch-1', 2, 'a', 0, null],
          ['batch-1', 2, 'b', 0, null],
          ['batch-2', 3, 'p-1', 0, null],
        ]);
        for (const r of pending) expect(typeof r.seq).toBe('bigint');
        expect(pending[1]!.seq > pending[0]!.seq && pending[2]!.seq > pending[1]!.seq).toBe(true);
        expect(canonical(pending[0]!.record)).toEqual(canonical(stockLine('a')));
        expect(canonical(pending[2]!.record)).toEqual(canonical(withPatient));
        expect((await storage.inbound.pending(2)).map((r) => r.record.id)).toEqual(['a', 'b']);
      });

      it('keeps a failed record pending with its attempts and last error, and lists it among failures', async () => {
        await storage.inbound.stage('batch-1', 2, [stockLine('a'), stockLine('b')]);
        const [a, b] = await storage.inbound.pending(10);
        const error = { code: 'record.unknown-store', message: 'store X is unknown', fix: 'create store X' };

        await storage.inbound.markFailed(a!.seq, error);

        let pending = await storage.inbound.pending(10);
        expect(pending.map((r) => r.seq)).toEqual([a!.seq, b!.seq]);
        expect(pending[0]).toMatchObject({ attempts: 1, lastError: error });
        expect(pending[1]).toMatchObject({ attempts: 0, lastError: null });
        let failures = await storage.inbound.failures();
        expect(failures).toEqual([{ ...a!, attempts: 1, lastError: error }]);

        // a second failure replaces the error (here, one without a fix) and counts the attempt
        await storage.inbound.markFailed(a!.seq, { code: 'record.unknown-store', message: 'still unknown' });

        pending = await storage.inbound.pending(10);
        expect(pending[0]!.attempts).toBe(2);
        expect(pending[0]!.lastError).toEqual({ code: 'record.unknown-store', message: 'still unknown' });
        failures = await storage.inbound.failures();
        expect(failures.map((r) => [r.seq, r.attempts])).toEqual([[a!.seq, 2]]);
        expect(await probe.bufferedCount()).toBe(2);
      });

      it('takes applied records out of pending and failures', async () => {
        await storage.inbound.stage('batch-1', 2, [stockLine('a'), stockLine('b'), stockLine('c')]);
        const [a, b, c] = await storage.inbound.pending(10);
        await storage.inbound.markFailed(b!.seq, { code: 'x', message: 'failed once', fix: 'retry' });

        await storage.inbound.markApplied([a!.seq, b!.seq]);

        expect((await storage.inbound.pending(10)).map((r) => r.seq)).toEqual([c!.seq]);
        expect(await storage.inbound.failures()).toEqual([]);
        expect(await probe.bufferedCount()).toBe(1);
        expect(await storage.inbound.stage('batch-1', 2, [stockLine('a')])).toEqual({ staged: 0, duplicate: true });
      });
    });

    describe('issue log', () => {
      it('keeps one issue for a key reported twice: occurrences 2, first seen kept, last seen and violation updated', async () => {
        const first = new Date('2026-01-01T10:00:00.000Z');
        const second = new Date('2026-01-02T11:30:00.250Z');
        await storage.issues.report('transaction:tx-1', violation('transfer.first'), first);
        await storage.issues.report('transaction:tx-1', violation('transfer.second'), second);

        expect(await storage.issues.open()).toEqual([
          {
            key: 'transaction:tx-1',
            violation: violation('transfer.second'),
            firstSeenAt: first,
            lastSeenAt: second,
            occurrences: 2,
            subject: null,
            acknowledgedAt: null,
            acknowledgedBy: null,
          },
        ]);
        expect(await probe.issueKeys()).toEqual(['transaction:tx-1']);
      });

      it('keeps timestamps to the millisecond', async () => {
        const at = new Date('2026-03-04T05:06:07.891Z');
        await storage.issues.report('issue:ms', violation('ms'), at);

        const [issue] = await storage.issues.open();
        expect(isDate(issue?.firstSeenAt) && isDate(issue?.lastSeenAt)).toBe(true);
        expect(issue?.firstSeenAt.toISOString()).toBe('2026-03-04T05:06:07.891Z');
        expect(issue?.lastSeenAt.toISOString()).toBe('2026-03-04T05:06:07.891Z');
        expect(issue?.occurrences).toBe(1);
      });

      it('removes a resolved issue, and resolving an unknown key does nothing', async () => {
        await storage.issues.report('issue:a', violation('a'), new Date('2026-01-01T00:00:00.000Z'));
        await storage.issues.report('issue:b', violation('b'), new Date('2026-01-01T00:00:00.000Z'));

        await storage.issues.resolve('issue:a');
        await storage.issues.resolve('issue:never-opened');

        expect((await storage.issues.open()).map((i) => i.key)).toEqual(['issue:b']);
        expect(await probe.issueKeys()).toEqual(['issue:b']);
      });

      it('lists open issues sorted by key', async () => {
        for (const key of ['issue:c', 'issue:a', 'issue:d', 'issue:b']) await storage.issues.report(key, violation(key), new Date('2026-01-01T00:00:00.000Z'));

        expect((await storage.issues.open()).map((i) => i.key)).toEqual(['issue:a', 'issue:b', 'issue:c', 'issue:d']);
        expect(await probe.issueKeys()).toEqual(['issue:a', 'issue:b', 'issue:c', 'issue:d']);
      });
    });

    describe('topology repository', () => {
      it('has no topology on a fresh storage', async () => {
        expect(await storage.topology.load()).toBeNull();
      });

      it('saves and loads the seed example topology: booleans, copies, roles, dates to the millisecond and nulls', async () => {
        const topology = richTopology();

        await storage.topology.save(topology);
        const loaded = await storage.topology.load();

        expect(loaded?.toInput()).toEqual(topology.toInput());
        expect(loaded?.store('G')).toMatchObject({ isDispensary: true, includeTransactionsInSync: false, centralisedProcurement: false });
        expect(loaded?.store('A')).toMatchObject({ isDispensary: false, includeTransactionsInSync: true, centralisedProcurement: true });
        expect(loaded?.store('B')?.copies).toEqual([
          { siteId: 1, type: 'collector' },
          { siteId: 3, type: 'transfer' },
        ]);
        expect(loaded?.site(1)?.roles).toEqual(['central', 'primary']);
        expect(loaded?.site(4)).toMatchObject({ roles: ['oms-central'], omsCentralUrl: 'https://oms.example.org', deviceType: 'mobile' });
        expect(isDate(loaded?.site(2)?.lastSyncedAt)).toBe(true);
        expect(loaded?.site(2)?.lastSyncedAt?.toISOString()).toBe('2026-03-04T05:06:07.891Z');
        expect(loaded?.site(2)).toMatchObject({ blocked: true, failedLoginCount: 2, hardwareId: 'hw-1234', requestSize: 250, syncIntervalMinutes: 15 });
        expect(loaded?.site(1)).toMatchObject({ lastSyncedAt: null, hardwareId: null, appName: null, blocked: false });
        expect(loaded?.syncTypeOn('C', 2)).toBe('transfer');
        expect(loaded?.storesActiveOn(3).map((s) => s.id)).toEqual(['C', 'D', 'G']);
      });

      it('replaces the saved topology when saving again', async () => {
        await storage.topology.save(richTopology());
        const smaller = seedExampleTopology();

        await storage.topology.save(smaller);
        const loaded = await storage.topology.load();

        // a site that stays keeps its connection fields (what its logins and syncs wrote), the rest is replaced
        const rich = richTopology().site(2)!;
        const expected = orThrow(smaller.updateSite(2, connectionFieldsOf(rich)));
        expect(loaded?.toInput()).toEqual(expected.toInput());
        expect(loaded?.site(2)).toMatchObject({
          serverUrl: null,
          syncIntervalMinutes: smaller.site(2)!.syncIntervalMinutes,
          hardwareId: 'hw-1234',
          blocked: true,
        });
        expect(loaded?.store('G')).toBeUndefined();
        expect(loaded?.site(4)).toBeUndefined();
        expect(loaded?.store('A')?.centralisedProcurement).toBe(false);
      });

      it('writes the connection fields of one site with updateSite, keeping every other field and the rest of the topology', async () => {
        const topology = seedExampleTopology();
        await storage.topology.save(topology);
        const fields = { lastSyncedAt: new Date('2026-05-06T07:08:09.123Z'), hardwareId: 'tablet-7', failedLoginCount: 3 };

        expect(await storage.topology.updateSite(2, fields)).toBe(true);
        expect(await storage.topology.updateSite(2, { lastConnectedAt: new Date('2026-05-06T08:00:00.000Z'), appVersion: null })).toBe(true);

        const expected = orThrow(topology.updateSite(2, { ...fields, lastConnectedAt: new Date('2026-05-06T08:00:00.000Z'), appVersion: null }));
        const loaded = await storage.topology.load();
        expect(loaded?.site(2)).toEqual(expected.site(2));
        expect(loaded?.toInput()).toEqual(expected.toInput());
        expect(await storage.topology.site(2)).toEqual(expected.site(2));
        expect(await storage.topology.site(3)).toEqual(topology.site(3));
      });

      it('answers false and writes nothing for a site that is not saved', async () => {
        await storage.topology.save(seedExampleTopology());
        expect(await storage.topology.updateSite(99, { failedLoginCount: 1 })).toBe(false);
        expect(await storage.topology.site(99)).toBeNull();
        expect((await storage.topology.load())?.site(99)).toBeUndefined();
      });

      it('writes with ifUnchanged only while the given fields are stored with those values (a login decided on what it read)', async () => {
        const topology = seedExampleTopology();
        await storage.topology.save(topology);
        const read = (await storage.topology.site(2))!;
        const asRead = { failedLoginCount: read.failedLoginCount, blocked: read.blocked, hardwareId: read.hardwareId };

        expect(await storage.topology.updateSite(2, { failedLoginCount: 1 }, { ifUnchanged: asRead })).toBe(true);
        // a second decision on the same read lost the race: nothing is written
        expect(await storage.topology.updateSite(2, { failedLoginCount: 1, hardwareId: 'other' }, { ifUnchanged: asRead })).toBe(false);
        expect(await storage.topology.site(2)).toMatchObject({ failedLoginCount: 1, hardwareId: null });

        expect(
          await storage.topology.updateSite(2, { hardwareId: 'tablet-7' }, { ifUnchanged: { failedLoginCount: 1, hardwareId: null, blocked: false } }),
        ).toBe(true);
        expect(await storage.topology.updateSite(2, { blocked: true }, { ifUnchanged: { hardwareId: 'tablet-7' } })).toBe(true);
        expect(await storage.topology.updateSite(2, { blocked: false }, { ifUnchanged: { blocked: false } })).toBe(false);
        expect(await storage.topology.site(2)).toMatchObject({ failedLoginCount: 1, hardwareId: 'tablet-7', blocked: true });
        expect(await storage.topology.site(3)).toEqual(topology.site(3));
      });

      (harness.concurrentConnections === true ? it : it.skip)(
        "a site's connection fields written while a topology change is saving (a login, a sync time) are not lost, nor is the change",
        async () => {
          const topology = seedExampleTopology();
          await storage.topology.save(topology);
          let release: () => void = () => undefined;
          const released = new Promise<void>((resolve) => (release = resolve));
          let lockedIt: () => void = () => undefined;
          const isLocked = new Promise<void>((resolve) => (lockedIt = resolve));
          const order: string[] = [];
          // a topology change (another process): lock, read, change the name of site 3, save
          const change = unitOfWork.run(async (s) => {
            await s.topology.lock();
            const current = (await s.topology.load())!;
            lockedIt();
            await released;
            await s.topology.save(orThrow(current.updateSite(3, { name: 'renamed' })));
            order.push('change');
          });
          await isLocked;
          // a login of site 2 meanwhile (decided on what it read before the change), and a sync time written alone
          const read = (await storage.topology.site(2))!;
          const login = storage.topology
            .updateSite(2, { failedLoginCount: read.failedLoginCount + 1 }, { ifUnchanged: { failedLoginCount: read.failedLoginCount } })
            .then((written) => order.push(`login ${written}`));
          const synced = storage.topology.updateSite(2, { lastSyncedAt: new Date('2026-05-06T07:08:09.123Z') }).then((found) => order.push(`synced ${found}`));
          await new Promise((resolve) => setTimeout(resolve, 200));
          release();
          await Promise.all([change, login, synced]);
          expect(order).toContain('login true');
          const loaded = (await storage.topology.load())!;
          expect(loaded.site(3)?.name).toBe('renamed');
          expect(loaded.site(2)?.failedLoginCount).toBe(1);
          expect(loaded.site(2)?.lastSyncedAt?.toISOString()).toBe('2026-05-06T07:08:09.123Z');
        },
      );

      (harness.concurrentConnections === true ? it : it.skip)(
        'two topology changes that lock run one after the other: the second reads what the first saved',
        async () => {
          await storage.topology.save(seedExampleTopology());
          const rename = (site: number, name: string) =>
            unitOfWork.run(async (s) => {
              await s.topology.lock();
              const current = (await s.topology.load())!;
              await new Promise((resolve) => setTimeout(resolve, 50));
              await s.topology.save(orThrow(current.updateSite(site, { name })));
            });
          await Promise.all([rename(2, 'two'), rename(3, 'three')]);
          const loaded = (await storage.topology.load())!;
          expect([loaded.site(2)?.name, loaded.site(3)?.name]).toEqual(['two', 'three']);
          expect(await storage.topology.version()).toBe(3n);
        },
      );

      it('keeps password hashes per site, null for a site without one', async () => {
        expect(await storage.topology.passwordHash(2)).toBeNull();

        await storage.topology.setPasswordHash(2, 'hash-2');
        await storage.topology.setPasswordHash(3, 'hash-3');
        await storage.topology.setPasswordHash(2, 'hash-2b');

        expect(await storage.topology.passwordHash(2)).toBe('hash-2b');
        expect(await storage.topology.passwordHash(3)).toBe('hash-3');
        expect(await storage.topology.passwordHash(99)).toBeNull();
      });
    });
  });
}

function recordKeyOrder(a: Pick<SyncRecord, 'type' | 'id'>, b: Pick<SyncRecord, 'type' | 'id'>): number {
  const x = `${a.type}\u0000${a.id}`;
  const y = `${b.type}\u0000${b.id}`;
  return x < y ? -1 : x > y ? 1 : 0;
}
