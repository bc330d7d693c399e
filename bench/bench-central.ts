import { startCentralServer } from '@sitesync/central-server';
import type { SyncRecord } from '@sitesync/domain';
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

/** ~250-byte JSON records, the same in every benchmark. */
export function record(type: string, id: string, storeId: string | null): SyncRecord {
  return {
    type,
    id,
    ...(storeId ? { storeId } : {}),
    data: {
      itemId: `item-${id.length}`,
      batch: `B-${id}`,
      expiryDate: '2027-06-30',
      packSize: 10,
      availablePacks: 7,
      costPricePerPack: 12.5,
      note: 'received from central medical stores, cold chain checked',
    },
  };
}
