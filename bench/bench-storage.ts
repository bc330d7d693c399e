/**
 * npm run bench:storage [-- --records 200000 --batch 5000 --engines sqlite,pglite,postgres]
 *
 * Writes and applies N records through each storage adapter and, in the same run, through the raw
 * driver (better-sqlite3 prepared insert in one transaction; Postgres and PGlite `unnest` inserts),
 * then reads the whole change feed back in pages. Prints records/s, peak RSS and the adapter/raw
 * ratio. Records are generated and written in batches, never held all at once.
 */
import { PGlite } from '@electric-sql/pglite';
import type { SyncRecord } from '@sitesync/domain';
import { openPostgresSyncStorage, pglitePool } from '@sitesync/postgres';
import { openSqliteSyncStorage } from '@sitesync/sqlite';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const N = Number(args.get('records') ?? 200_000);
const BATCH = Number(args.get('batch') ?? 5_000);
const PG_URL = process.env['PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const engines = (args.get('engines') ?? 'sqlite,pglite,postgres').split(',');

/** ~300-byte JSON records of store D, like stock lines. */
function* batches(prefix: string): Generator<SyncRecord[]> {
  for (let start = 0; start < N; start += BATCH) {
    const batch: SyncRecord[] = [];
    for (let i = start; i < Math.min(N, start + BATCH); i++) {
      batch.push({
        type: 'stock_line',
        id: `${prefix}-${i.toString().padStart(8, '0')}`,
        storeId: 'D',
        data: {
          itemId: `item-${i % 997}`,
          batch: `B${(i * 7919) % 100000}`,
          expiryDate: '2027-06-30',
          packSize: 10,
          availablePacks: i % 500,
          totalPacks: (i % 500) + 3,
          costPricePerPack: 12.5,
          sellPricePerPack: 15.75,
          location: 'shelf-A-12',
          note: 'received from central medical stores, cold chain checked',
        },
      });
    }
    yield batch;
  }
}

let peakRss = 0;
let peakHeap = 0;
const sample = () => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed + m.external);
};
const sampler = setInterval(sample, 10);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

interface Measure {
  label: string;
  seconds: number;
  peakRss: number;
  /** peak JS heap + external buffers during the phase: flat if nothing is loaded whole */
  peakHeap: number;
}

async function measure(label: string, work: () => Promise<void>): Promise<Measure> {
  global.gc?.();
  peakRss = 0;
  peakHeap = 0;
  sample();
  const start = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  sample();
  return { label, seconds, peakRss, peakHeap };
}

const rows: string[][] = [];
function report(engine: string, raw: Measure, ...adapter: Measure[]): void {
  const rate = (m: Measure) => N / m.seconds;
  const row = (m: Measure, ratio: string) => [engine, m.label, Math.round(rate(m)).toLocaleString('en'), ratio, mb(m.peakHeap), mb(m.peakRss)];
  rows.push(row(raw, '1.00'));
  for (const m of adapter) rows.push(row(m, (rate(m) / rate(raw)).toFixed(2)));
}

const RAW_COLUMNS = ['type', 'id', 'store_id', 'data', 'source_site_id', 'via_sync'];

async function benchSqlite(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sitesync-bench-'));
  const open = (name: string) => {
    const db = new Database(join(dir, name));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    return db;
  };
  try {
    const raw = await measure('raw driver: prepared insert, one transaction', async () => {
      const db = open('raw.sqlite');
      db.exec(
        'create table t (type text not null, id text not null, store_id text, data text not null, source_site_id integer, via_sync integer, seq integer, primary key (type, id)) without rowid',
      );
      const insert = db.prepare('insert into t (type, id, store_id, data, source_site_id, via_sync, seq) values (?, ?, ?, ?, ?, ?, ?)');
      let seq = 0;
      db.transaction(() => {
        for (const batch of batches('r')) for (const r of batch) insert.run(r.type, r.id, r.storeId, JSON.stringify(r.data), 3, 0, ++seq);
      })();
      db.close();
    });
    const write = await measure('adapter: RecordStore.upsert (local writes)', async () => {
      const db = open('write.sqlite');
      const storage = await openSqliteSyncStorage(db);
      for (const batch of batches('w')) await storage.storage.records.upsert(batch, { sourceSiteId: 3, viaSync: false });
      await storage.destroy();
      db.close();
    });
    let readDb: Database.Database | undefined;
    const apply = await measure('adapter: apply pulled batches (unit of work + cursor)', async () => {
      readDb = open('apply.sqlite');
      const storage = await openSqliteSyncStorage(readDb);
      let cursor = 0n;
      for (const batch of batches('a')) {
        cursor += BigInt(batch.length);
        await storage.run(async (s) => {
          await s.records.upsert(batch, { sourceSiteId: 1, viaSync: true });
          await s.changes.advance('pull', cursor);
        });
      }
      await storage.destroy();
    });
    const read = await measure('adapter: read the whole change feed in pages', async () => {
      const storage = await openSqliteSyncStorage(readDb!);
      await readFeed(storage.storage.changes);
      await storage.destroy();
      readDb!.close();
    });
    report('SQLite', raw, write, apply, read);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function readFeed(feed: { read(after: bigint, limit: number): Promise<readonly { cursor: bigint }[]> }): Promise<void> {
  let cursor = 0n;
  let count = 0;
  for (;;) {
    const page = await feed.read(cursor, BATCH);
    if (page.length === 0) break;
    count += page.length;
    cursor = page[page.length - 1]!.cursor;
  }
  if (count !== N) throw new Error(`read ${count} changes, expected ${N}`);
}

const UNNEST = `insert into t (${RAW_COLUMNS.join(', ')}) select * from unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::int[], $6::bool[])`;
const RAW_TABLE =
  'create table t (type text not null, id text not null, store_id text, data jsonb not null, source_site_id integer, via_sync boolean, primary key (type, id))';
const unnestParams = (batch: SyncRecord[]) => [
  batch.map((r) => r.type),
  batch.map((r) => r.id),
  batch.map((r) => r.storeId ?? null),
  batch.map((r) => JSON.stringify(r.data)),
  batch.map(() => 3),
  batch.map(() => false),
];

type Connection = {
  pool: Parameters<typeof openPostgresSyncStorage>[0];
  query: (text: string, params?: unknown[]) => Promise<unknown>;
  done: () => Promise<void>;
};

/** Connecting (and PGlite's start-up) is not timed: only the writes and reads are. */
async function benchPostgresLike(engine: string, connect: (name: string) => Promise<Connection>): Promise<void> {
  const rawConnection = await connect('bench_raw');
  await rawConnection.query(RAW_TABLE);
  const raw = await measure('raw driver: unnest insert per batch', async () => {
    for (const batch of batches('r')) await rawConnection.query(UNNEST, unnestParams(batch));
  });
  await rawConnection.done();

  const writeConnection = await connect('bench_write');
  const writeStorage = await openPostgresSyncStorage(writeConnection.pool);
  const write = await measure('adapter: RecordStore.upsert (local writes)', async () => {
    for (const batch of batches('w')) await writeStorage.storage.records.upsert(batch, { sourceSiteId: 3, viaSync: false });
  });
  await writeStorage.destroy();
  await writeConnection.done();

  const applyConnection = await connect('bench_apply');
  const storage = await openPostgresSyncStorage(applyConnection.pool);
  const apply = await measure('adapter: apply pulled batches (unit of work + cursor)', async () => {
    let cursor = 0n;
    for (const batch of batches('a')) {
      cursor += BigInt(batch.length);
      await storage.run(async (s) => {
        await s.records.upsert(batch, { sourceSiteId: 1, viaSync: true });
        await s.changes.advance('pull', cursor);
      });
    }
  });
  const read = await measure('adapter: number (sequencer) and read the whole feed', () => readFeed(storage.storage.changes));
  await storage.destroy();
  await applyConnection.done();
  report(engine, raw, write, apply, read);
}

async function benchPostgres(): Promise<void> {
  const admin = new Pool({ connectionString: PG_URL, max: 1 });
  await benchPostgresLike('Postgres server', async (name) => {
    const schema = `${name}_${process.pid}`;
    await admin.query(`drop schema if exists ${schema} cascade; create schema ${schema}`);
    const pool = new Pool({ connectionString: PG_URL, options: `-c search_path=${schema}`, max: 4 });
    let ended = false;
    return {
      pool: {
        connect: () => pool.connect(),
        end: async () => {
          if (!ended) {
            ended = true;
            await pool.end();
          }
        },
      },
      query: (text, params) => pool.query(text, params as unknown[]),
      done: async () => {
        if (!ended) {
          ended = true;
          await pool.end();
        }
        await admin.query(`drop schema ${schema} cascade`);
      },
    };
  });
  await admin.end();
}

async function benchPglite(): Promise<void> {
  await benchPostgresLike('PGlite', async () => {
    const pglite = new PGlite();
    return { pool: pglitePool(pglite), query: (text, params) => pglite.query(text, params as unknown[]), done: () => pglite.close() };
  });
}

async function main(): Promise<void> {
  console.log(`sitesync storage benchmark: ${N.toLocaleString('en')} records of ~300 bytes, batches of ${BATCH}, node ${process.version}`);
  if (engines.includes('sqlite')) await benchSqlite();
  if (engines.includes('pglite')) await benchPglite();
  if (engines.includes('postgres')) await benchPostgres();
  clearInterval(sampler);
  const header = ['engine', 'path', 'records/s', 'vs raw', 'peak JS heap', 'peak RSS (process)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log([line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
