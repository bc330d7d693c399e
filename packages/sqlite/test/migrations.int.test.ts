import Database from 'better-sqlite3';
import { openSqliteSyncStorage, sqliteMigrationProvider } from '@sitesync/sqlite';
import { Kysely, Migrator, SqliteDialect } from 'kysely';

describe('migration 0003: a remote file written before it', () => {
  it('moves the settings record (credentials and hardware id) out of the records into the settings store', async () => {
    const database = new Database(':memory:');
    const old = new Kysely<unknown>({ dialect: new SqliteDialect({ database }) });
    const migrated = await new Migrator({ db: old, provider: sqliteMigrationProvider }).migrateTo('0002_line_indexes');
    expect(migrated.error).toBeUndefined();
    const config = { centralUrl: 'http://central:8080', siteName: 'District', passwordSha256: 'ab'.repeat(32), hardwareId: 'device-1', siteId: 2 };
    const insert = database.prepare('insert into sync_record (type, id, deleted, data, source_site_id, via_sync, seq) values (?, ?, 0, ?, 2, 0, ?)');
    insert.run('preference', 'sitesync.remote-site', JSON.stringify(config), 1);
    insert.run('preference', 'pref-1', JSON.stringify({ showLogo: true }), 2);

    const storage = await openSqliteSyncStorage(database);
    expect(await storage.storage.settings.get('remote-site')).toEqual(config);
    expect((await storage.storage.records.list('preference', { limit: 10 })).map((r) => r.id)).toEqual(['pref-1']);
    await storage.destroy();
  });
});

describe('migration 0005: number sequences of a file written before it', () => {
  it('starts each document kind where the shared counter of its type was: no number given before is given again', async () => {
    const database = new Database(':memory:');
    const old = new Kysely<unknown>({ dialect: new SqliteDialect({ database }) });
    expect((await new Migrator({ db: old, provider: sqliteMigrationProvider }).migrateTo('0004_resync_queue')).error).toBeUndefined();
    database.prepare('insert into sync_serial (store_id, type, last) values (?, ?, ?)').run('B', 'transaction', 12);
    database.prepare('insert into sync_serial (store_id, type, last) values (?, ?, ?)').run('B', 'requisition', 4);

    const storage = await openSqliteSyncStorage(database);
    expect(await storage.storage.records.nextSerialNumber('B', 'transaction:supplier_invoice')).toBe(13);
    expect(await storage.storage.records.nextSerialNumber('B', 'transaction:customer_invoice')).toBe(13);
    expect(await storage.storage.records.nextSerialNumber('B', 'requisition:response')).toBe(5);
    expect(await storage.storage.records.nextSerialNumber('B', 'goods_received')).toBe(1);
    expect(await storage.storage.records.nextSerialNumber('C', 'transaction:supplier_invoice')).toBe(1);
    await storage.destroy();
  });
});

describe('migration 0007: partial header-id indexes', () => {
  it('keeps only the rows that have the field, and findByField still uses them (one value or a list)', async () => {
    const database = new Database(':memory:');
    const old = new Kysely<unknown>({ dialect: new SqliteDialect({ database }) });
    expect((await new Migrator({ db: old, provider: sqliteMigrationProvider }).migrateTo('0006_issue_subject_and_acknowledgement')).error).toBeUndefined();
    const insert = database.prepare('insert into sync_record (type, id, deleted, data, source_site_id, via_sync, seq) values (?, ?, 0, ?, 1, 1, ?)');
    insert.run('transaction_line', 'l1', JSON.stringify({ transactionId: 't1' }), 1);
    insert.run('item', 'i1', JSON.stringify({ name: 'x' }), 2);
    // enough rows for the planner to choose between the primary key and an index
    for (let i = 0; i < 3000; i++) insert.run('item', `item-${i}`, '{}', 10 + i);
    for (let i = 0; i < 300; i++) insert.run('transaction_line', `line-${i}`, JSON.stringify({ transactionId: `other-${i % 30}` }), 5000 + i);

    const storage = await openSqliteSyncStorage(database);
    const defs = database.prepare("select name, sql from sqlite_master where type = 'index' and name like 'sync_record_data_%' order by name").all() as {
      name: string;
      sql: string;
    }[];
    expect(defs.map((d) => d.name)).toEqual([
      'sync_record_data_goodsreceivedid',
      'sync_record_data_purchaseorderid',
      'sync_record_data_requisitionid',
      'sync_record_data_transactionid',
    ]);
    for (const { sql } of defs) expect(sql).toMatch(/where json_extract\(data, '\$\.\w+'\) is not null$/);
    // the index holds the line, not the item
    const indexed = database
      .prepare("select count(*) as n from sync_record indexed by sync_record_data_transactionid where json_extract(data, '$.transactionId') is not null")
      .get() as {
      n: number;
    };
    expect(indexed.n).toBe(301);
    database.exec('analyze');
    for (const values of [['t1'], ['t1', 't2']]) {
      const query = `select * from sync_record where type = ? and json_extract(data, '$.transactionId') ${values.length === 1 ? '= ?' : `in (${values.map(() => '?').join(', ')})`} order by id`;
      const plan = (database.prepare(`explain query plan ${query}`).all('transaction_line', ...values) as { detail: string }[])
        .map((r) => r.detail)
        .join(' | ');
      expect(plan).toContain('sync_record_data_transactionid');
      expect((await storage.storage.records.findByField('transaction_line', 'transactionId', values)).map((r) => r.id)).toEqual(['l1']);
    }
    await storage.destroy();
  });
});
