import { Pool } from 'pg';
import { freshSchemaName } from './schema-name';

/**
 * The real Postgres server for tests, from PG_URL. In CI (CI set) a missing PG_URL or an unreachable
 * server fails the run: the real-server half is never silently skipped there. Locally without
 * PG_URL the PGlite suites cover the same SQL and these tests are skipped.
 */
export const PG_URL = process.env['PG_URL'];

if (process.env['CI'] && !PG_URL) {
  throw new Error('CI is set but PG_URL is not: the contract suite must run against the real Postgres server in CI.');
}

export const describeWithPostgres: jest.Describe = PG_URL ? describe : describe.skip;

export interface SchemaPool {
  readonly pool: Pool;
  readonly schema: string;
  drop(): Promise<void>;
}

/** A fresh schema on the server and a pool whose connections use it. */
export async function freshSchemaPool(max = 10): Promise<SchemaPool> {
  const schema = freshSchemaName();
  const admin = new Pool({ connectionString: PG_URL, max: 1 });
  try {
    await admin.query(`create schema ${schema}`);
  } catch (error) {
    await admin.end();
    throw new Error(`cannot reach the Postgres server at PG_URL (${String(PG_URL)}): ${(error as Error).message}`, { cause: error });
  }
  const pool = new Pool({ connectionString: PG_URL, options: `-c search_path=${schema}`, max });
  return {
    pool,
    schema,
    async drop() {
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    },
  };
}
