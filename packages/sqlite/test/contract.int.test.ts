import Database from 'better-sqlite3';
import { openSqliteSyncStorage } from '@sitesync/sqlite';
import { describeStorageContract, type RawProbe } from '@sitesync/testkit';

function sqliteProbe(db: Database.Database): RawProbe {
  return {
    recordRow: (type, id) => {
      const row = db.prepare('select * from sync_record where type = ? and id = ?').get(type, id) as Record<string, unknown> | undefined;
      return Promise.resolve(
        row
          ? {
              storeId: row['store_id'] as string | null,
              otherPartyStoreId: row['other_party_store_id'] as string | null,
              patientId: row['patient_id'] as string | null,
              homeStoreId: row['home_store_id'] as string | null,
              deleted: row['deleted'] === 1,
              data: JSON.parse(row['data'] as string) as unknown,
            }
          : null,
      );
    },
    recordCount: () => Promise.resolve((db.prepare('select count(*) as n from sync_record').get() as { n: number }).n),
    consumerCursor: (consumer) => {
      const row = db.prepare('select cursor from sync_consumer where consumer = ?').get(consumer) as { cursor: string } | undefined;
      return Promise.resolve(row ? BigInt(row.cursor) : null);
    },
    bufferedCount: () => Promise.resolve((db.prepare('select count(*) as n from sync_inbound').get() as { n: number }).n),
    issueKeys: () => Promise.resolve((db.prepare('select key from sync_issue order by key').all() as { key: string }[]).map((r) => r.key)),
  };
}

describeStorageContract({
  name: 'SQLite (better-sqlite3)',
  async open() {
    const db = new Database(':memory:');
    const storage = await openSqliteSyncStorage(db);
    return {
      unitOfWork: storage,
      storage: storage.storage,
      probe: sqliteProbe(db),
      async close() {
        await storage.destroy();
        db.close();
      },
    };
  },
});
