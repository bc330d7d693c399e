import { openPostgresSyncStorage } from '@sitesync/postgres';
import { describeStorageContract } from '@sitesync/testkit';
import { postgresProbe } from './postgres-probe';
import { describeWithPostgres, freshSchemaPool } from './real-postgres';

describeWithPostgres('on the real Postgres server (PG_URL)', () => {
  describeStorageContract({
    name: 'Postgres server',
    concurrentConnections: true,
    async open() {
      const { pool, drop } = await freshSchemaPool();
      const storage = await openPostgresSyncStorage(pool);
      return {
        unitOfWork: storage,
        storage: storage.storage,
        probe: postgresProbe(pool),
        async close() {
          await storage.destroy(); // ends the pool
          await drop();
        },
      };
    },
  });
});
