import { openPostgresSyncStorage, postgresMigrationProvider, type PostgresSyncStorage } from '@sitesync/postgres';
import { Kysely, Migrator, PostgresDialect } from 'kysely';
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

  it('gives every record a cursor: a row without one is refused', async () => {
    await expect(
      schema.pool.query(`insert into sync_record (type, id, data, source_site_id, via_sync) values ('stock_line', 'none', '{}', 1, false)`),
    ).rejects.toThrow(/seq/);
  });
});

describeWithPostgres('migration 0009 (real Postgres server)', () => {
  it('numbers the records a sequencer had not numbered yet, in write order, after the others', async () => {
    const { pool, schema, drop } = await freshSchemaPool(2);
    const old = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
    try {
      const migrator = new Migrator({ db: old, provider: postgresMigrationProvider, migrationTableSchema: schema });
      expect((await migrator.migrateTo('0008_partial_line_indexes')).error).toBeUndefined();
      // written before: two numbered by the sequencer, two still waiting for it
      await pool.query(
        `insert into sync_record (type, id, data, source_site_id, via_sync, seq) values ('stock_line', 'a', '{}', 1, false, 1), ('stock_line', 'b', '{}', 1, false, 2)`,
      );
      await pool.query(`update sync_feed_state set last_seq = 2`);
      await pool.query(`insert into sync_record (type, id, data, source_site_id, via_sync) values ('stock_line', 'd', '{}', 1, false)`);
      await pool.query(`insert into sync_record (type, id, data, source_site_id, via_sync) values ('stock_line', 'c', '{}', 1, false)`);

      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const storage = await openPostgresSyncStorage(pool);
      expect((await storage.storage.changes.read(0n, 10)).map((c) => [c.record.id, c.cursor])).toEqual([
        ['a', 1n],
        ['b', 2n],
        ['d', 3n],
        ['c', 4n],
      ]);
      await storage.storage.records.upsert([{ type: 'stock_line', id: 'a', storeId: 'D', data: { again: true } }], LOCAL);
      expect((await storage.storage.changes.read(4n, 10)).map((c) => [c.record.id, c.cursor])).toEqual([['a', 5n]]);
      await storage.destroy(); // ends the pool
    } finally {
      await drop();
    }
  });
});
