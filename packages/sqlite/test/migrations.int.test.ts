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
