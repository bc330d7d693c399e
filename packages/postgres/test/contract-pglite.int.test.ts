import { PGlite } from '@electric-sql/pglite';
import { openPostgresSyncStorage, pglitePool } from '@sitesync/postgres';
import { describeStorageContract } from '@sitesync/testkit';
import { postgresProbe } from './postgres-probe';
import { freshSchemaName } from './schema-name';

// One embedded engine for the file; each test gets a fresh schema in it.
const pglite = new PGlite();
afterAll(() => pglite.close());

describeStorageContract({
  name: 'PGlite',
  async open() {
    const schema = freshSchemaName();
    await pglite.exec(`create schema ${schema}; set search_path to ${schema}`);
    const storage = await openPostgresSyncStorage(pglitePool(pglite));
    return {
      unitOfWork: storage,
      storage: storage.storage,
      probe: postgresProbe(pglite),
      async close() {
        await storage.destroy();
        await pglite.exec(`set search_path to public; drop schema ${schema} cascade`);
      },
    };
  },
});
