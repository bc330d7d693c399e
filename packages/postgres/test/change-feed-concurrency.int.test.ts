import { openPostgresSyncStorage, type PostgresSyncStorage } from '@sitesync/postgres';
import { describeWithPostgres, freshSchemaPool, type SchemaPool } from './real-postgres';

const WRITERS = 8;
const TRANSACTIONS_PER_WRITER = 40;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const random = (n: number) => Math.floor(Math.random() * n);

describeWithPostgres('change feed under concurrent writers (real Postgres server)', () => {
  let schema: SchemaPool;
  let storage: PostgresSyncStorage;

  beforeAll(async () => {
    schema = await freshSchemaPool(WRITERS + 4);
    storage = await openPostgresSyncStorage(schema.pool);
  });
  afterAll(async () => {
    await storage.destroy();
    await schema.drop();
  });

  it(`${WRITERS} writers with transactions of random length and a concurrent reader: every change is read exactly once`, async () => {
    const written = new Set<string>();
    let writersDone = false;

    const writer = async (w: number) => {
      for (let t = 0; t < TRANSACTIONS_PER_WRITER; t++) {
        await storage.run(async (s) => {
          const n = 1 + random(4);
          for (let k = 0; k < n; k++) {
            const id = `w${w}-t${t}-r${k}`;
            await s.records.upsert([{ type: 'stock_line', id, storeId: 'D', data: { w, t, k } }], { sourceSiteId: 3, viaSync: false });
            // hold the transaction open for a random time, so later transactions commit first
            await sleep(random(15));
          }
          for (let k = 0; k < n; k++) written.add(`w${w}-t${t}-r${k}`);
        });
      }
    };

    const seen = new Map<string, number>();
    let cursor = 0n;
    let reads = 0;
    const reader = async () => {
      for (;;) {
        const finished = writersDone;
        const changes = await storage.storage.changes.read(cursor, 50);
        reads++;
        for (const change of changes) {
          expect(change.cursor).toBeGreaterThan(cursor);
          cursor = change.cursor;
          seen.set(change.record.id, (seen.get(change.record.id) ?? 0) + 1);
        }
        if (changes.length === 0) {
          if (finished) return;
          await sleep(2);
        }
      }
    };

    const readerDone = reader();
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    writersDone = true;
    await readerDone;

    expect(written.size).toBeGreaterThan(WRITERS * TRANSACTIONS_PER_WRITER);
    const missed = [...written].filter((id) => !seen.has(id));
    const duplicated = [...seen].filter(([, count]) => count > 1).map(([id]) => id);
    expect(missed).toEqual([]);
    expect(duplicated).toEqual([]);
    expect(seen.size).toBe(written.size);
    expect(reads).toBeGreaterThan(10); // the reader really ran while the writers wrote
  }, 120_000);
});
