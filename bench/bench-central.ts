import { startCentralServer } from '@sitesync/central-server';
import { AdminClient } from '@sitesync/http';
import { Pool } from 'pg';
import { pino } from 'pino';

export const PG_URL = process.env['PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export type Central = Awaited<ReturnType<typeof startCentralServer>>;

/** A central on a fresh schema of the Postgres server at PG_URL, listening on loopback; dropped afterwards. */
export async function withCentral<T>(
  name: string,
  work: (central: Central, admin: AdminClient) => Promise<T>,
  options: { readonly trustProxy?: number } = {},
): Promise<T> {
  const schema = `bench_${name}_${process.pid}`;
  const pool = new Pool({ connectionString: PG_URL, max: 1 });
  await pool.query(`drop schema if exists ${schema} cascade; create schema ${schema}`);
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const central = await startCentralServer({ port: 0, databaseUrl: url.toString(), adminToken: 'bench', logger: pino({ level: 'silent' }), ...options });
  try {
    return await work(central, new AdminClient({ baseUrl: central.url, adminToken: central.adminToken }));
  } finally {
    await central.close();
    await pool.query(`drop schema if exists ${schema} cascade`);
    await pool.end();
  }
}
