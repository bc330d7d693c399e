import { openPostgresSyncStorage, type PostgresSyncStorage } from '@sitesync/postgres';
import { INDEXED_DATA_FIELDS } from '@sitesync/sql';
import { describeWithPostgres, freshSchemaPool, type SchemaPool } from './real-postgres';

describeWithPostgres('header-id indexes (real Postgres server)', () => {
  let schema: SchemaPool;
  let storage: PostgresSyncStorage;

  beforeAll(async () => {
    schema = await freshSchemaPool(2);
    storage = await openPostgresSyncStorage(schema.pool);
  });
  afterAll(async () => {
    await storage.destroy();
    await schema.drop();
  });

  it('hold only the rows that have the field', async () => {
    await storage.storage.records.upsert(
      [
        { type: 'transaction', id: 't1', storeId: 'D', data: { type: 'customer_invoice' } },
        { type: 'transaction_line', id: 'l1', storeId: 'D', data: { transactionId: 't1' } },
        { type: 'stock_line', id: 's1', storeId: 'D', data: { itemId: 'i1' } },
      ],
      { sourceSiteId: 1, viaSync: false },
    );
    const defs = await schema.pool.query<{ indexname: string; indexdef: string }>(
      `select indexname, indexdef from pg_indexes where indexname like 'sync_record_data_%' and schemaname = current_schema()`,
    );
    expect(defs.rows.map((r) => r.indexname).sort()).toEqual(INDEXED_DATA_FIELDS.map((f) => `sync_record_data_${f.toLowerCase()}`).sort());
    for (const { indexdef } of defs.rows) expect(indexdef).toMatch(/WHERE \(\(data ->> '\w+'::text\) IS NOT NULL\)/);
  });

  it.each([
    ['one value', ['t1']],
    ['a list', ['t1', 't2']],
  ])('are used by findByField with %s', async (_, values) => {
    const client = await schema.pool.connect();
    try {
      await client.query('begin');
      await client.query('set local enable_seqscan = off');
      const placeholders = values.map((_v, i) => `$${i + 2}`).join(', ');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `explain select * from sync_record where type = $1 and (data->>'transactionId') in (${placeholders})`,
        ['transaction_line', ...values],
      );
      expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('sync_record_data_transactionid');
      expect((await storage.storage.records.findByField('transaction_line', 'transactionId', values)).map((r) => r.id)).toEqual(['l1']);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});
