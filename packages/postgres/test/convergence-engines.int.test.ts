import { PGlite } from '@electric-sql/pglite';
import { openPostgresSyncStorage, pglitePool } from '@sitesync/postgres';
import { openSqliteSyncStorage } from '@sitesync/sqlite';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { convergenceOn, type Engines } from '../../domain/test/convergence/convergence-harness';
import { freshSchemaName } from './schema-name';

// The convergence harness of packages/domain/test/convergence on the real adapters: the central on
// PGlite (a fresh schema per run in one embedded engine), every site on its own SQLite database.
const RUNS = Number(process.env['CONVERGENCE_ENGINE_RUNS'] ?? 12);
const pglite = new PGlite();
afterAll(() => pglite.close());

const engines: Engines = {
  async central() {
    const schema = freshSchemaName();
    await pglite.exec(`create schema ${schema}; set search_path to ${schema}`);
    const storage = await openPostgresSyncStorage(pglitePool(pglite));
    return {
      ...storage,
      async close() {
        await storage.destroy();
        await pglite.exec(`set search_path to public; drop schema ${schema} cascade`);
      },
    };
  },
  async site() {
    const storage = await openSqliteSyncStorage(new Database(':memory:'));
    return { ...storage, close: () => storage.destroy() };
  },
};

describe('convergence on the real adapters (central on PGlite, sites on SQLite)', () => {
  it(`holds over ${RUNS} random runs`, async () => {
    await fc.assert(convergenceOn(engines), { numRuns: RUNS, seed: 20261202 });
  }, 600_000);
});
