import { openPostgresSyncStorage, type PostgresSyncStorage } from '@sitesync/postgres';
import { describeWithPostgres, freshSchemaPool, type SchemaPool } from './real-postgres';

const LOCAL = { sourceSiteId: 1, viaSync: false } as const;

describeWithPostgres('change feed numbering (real Postgres server)', () => {
  let schema: SchemaPool;
  let storage: PostgresSyncStorage;

  beforeAll(async () => {
    schema = await freshSchemaPool(4);
    storage = await openPostgresSyncStorage(schema.pool);
  });
  afterAll(async () => {
    await storage.destroy();
    await schema.drop();
  });

  it('writes each record row once, with its cursor', async () => {
    await storage.storage.records.upsert(
      [
        { type: 'stock_line', id: 'a', storeId: 'D', data: {} },
        { type: 'stock_line', id: 'b', storeId: 'D', data: {} },
      ],
      LOCAL,
    );
    const { rows } = await schema.pool.query<{ id: string; seq: string | null }>(`select id, seq::text from sync_record order by id`);
    expect(rows).toEqual([
      { id: 'a', seq: '1' },
      { id: 'b', seq: '2' },
    ]);
    expect(await storage.storage.changes.head()).toBe(2n);
  });

  it('numbers at the next read the records an earlier version wrote without a cursor, after the others', async () => {
    await schema.pool.query(`insert into sync_record (type, id, data, source_site_id, via_sync) values ('stock_line', 'old', '{}', 1, false)`);
    await storage.storage.records.upsert([{ type: 'stock_line', id: 'c', storeId: 'D', data: {} }], LOCAL);
    const changes = await storage.storage.changes.read(2n, 10);
    expect(changes.map((c) => [c.record.id, c.cursor])).toEqual([
      ['c', 3n],
      ['old', 4n],
    ]);
    expect(await storage.storage.changes.head()).toBe(4n);
    await storage.storage.records.upsert([{ type: 'stock_line', id: 'd', storeId: 'D', data: {} }], LOCAL);
    expect((await storage.storage.changes.read(4n, 10)).map((c) => [c.record.id, c.cursor])).toEqual([['d', 5n]]);
  });
});
