/**
 * npm run bench:sync [-- --initial 200000 --push 100000 --sites 200] [-- --only a,b,c] [-- --quick]
 *
 * (a) initial sync of a fresh remote (a child process, so its own peak RSS is measured) from a
 *     central holding N records routed to it, against a raw better-sqlite3 insert of the same rows;
 * (b) a push of M records from one remote, against a raw Postgres `unnest` insert of the same rows;
 * (c) S simulated sites (in-memory storage, real HTTP) syncing 5 new records each at the same time:
 *     p50/p99 cycle time.
 * The central runs in this process on the Postgres server at PG_URL (default
 * postgres://postgres@127.0.0.1:5432/test, a fresh schema), over loopback HTTP.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runSyncCycle, type SyncRecord } from '@sitesync/domain';
import { HttpCentralSyncGateway, sha256Hex } from '@sitesync/http';
import { composeRemoteSite, REMOTE_TOKENS } from '@sitesync/remote-site';
import type { SqliteSyncStorage } from '@sitesync/sqlite';
import { createInMemoryStorage, ManualClock } from '@sitesync/testkit';
import Database from 'better-sqlite3';
import { Pool } from 'pg';
import { PG_URL, record, withCentral } from './bench-central';
import { benchArgs } from './bench-args';

const run = promisify(execFile);
const args = benchArgs();
/** `--quick`: sizes that run in well under a minute, for checking by hand */
const QUICK = args.has('quick');
const INITIAL = Number(args.get('initial') ?? (QUICK ? 30_000 : 200_000));
const PUSH = Number(args.get('push') ?? (QUICK ? 20_000 : 100_000));
const SITES = Number(args.get('sites') ?? (QUICK ? 50 : 200));
/** `--only a,b`: the phases to run (a initial sync, b push, c many sites) */
const ONLY = new Set((args.get('only') ?? 'a,b,c').split(','));
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en');

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sitesync-bench-sync-'));
  say(`sitesync sync benchmark, node ${process.version}, central on the Postgres server over loopback HTTP`);
  try {
    if (ONLY.has('a') || ONLY.has('b'))
      await withCentral('sync_ab', async (central, admin) => {
        await admin.addSite({ name: 'bench-remote', password: 'bench-pw' });
        await admin.addStore({ code: 'R', name: 'Remote store', activeSiteId: 2 });

        // (a) initial sync: N central-data records routed to every site (with `--only b`, a small one that only initialises the remote)
        const initial = ONLY.has('a') ? INITIAL : 1_000;
        for (let start = 0; start < initial; start += 5000) {
          const batch: SyncRecord[] = [];
          for (let i = start; i < Math.min(initial, start + 5000); i++) batch.push(record('item', `item-${String(i).padStart(8, '0')}`, null));
          await central.storage.storage.records.upsert(batch, { sourceSiteId: 1, viaSync: false });
        }
        // number them before timing (the Postgres sequencer numbers at most 100,000 records per pass)
        for (let last = -1n, head = 0n; head !== last;) [last, head] = [head, await central.storage.storage.changes.head()];
        const child = await run(
          process.execPath,
          [join(__dirname, 'remote-child.js'), join(dir, 'a.sqlite'), central.url, 'bench-remote', 'bench-pw', 'init'],
          {
            maxBuffer: 1 << 20,
          },
        );
        const a = JSON.parse(child.stdout.trim().split('\n').pop()!) as { pulled: number; seconds: number; peakRss: number };
        const rawA = rawSqliteInsert(join(dir, 'raw-a.sqlite'), initial);
        if (ONLY.has('a'))
          say(
            `(a) initial sync of ${a.pulled.toLocaleString('en')} records: ${a.seconds.toFixed(1)} s = ${rate(a.pulled, a.seconds)} records/s end to end; raw SQLite insert of the same rows ${rate(initial, rawA)} records/s; ratio ${(rawA / a.seconds).toFixed(2)}; remote peak RSS ${mb(a.peakRss)}`,
          );

        if (!ONLY.has('b')) return;
        // (b) push of M records of the remote's store
        const remote = await composeRemoteSite(join(dir, 'a.sqlite'));
        const storage = remote.container.get<SqliteSyncStorage>(REMOTE_TOKENS.Storage);
        for (let start = 0; start < PUSH; start += 5000) {
          const batch: SyncRecord[] = [];
          for (let i = start; i < Math.min(PUSH, start + 5000); i++) batch.push(record('stock_line', `sl-${String(i).padStart(8, '0')}`, 'R'));
          await storage.storage.records.upsert(batch, { sourceSiteId: 2, viaSync: false });
        }
        const startB = process.hrtime.bigint();
        const b = await remote.site.sync();
        const secondsB = Number(process.hrtime.bigint() - startB) / 1e9;
        await remote.close();
        const rawB = await rawPostgresInsert(PUSH);
        say(
          `(b) push of ${b.pushed.toLocaleString('en')} records: ${secondsB.toFixed(1)} s = ${rate(b.pushed, secondsB)} records/s end to end; raw Postgres unnest insert ${rate(PUSH, rawB)} records/s; ratio ${(rawB / secondsB).toFixed(2)}`,
        );
      });

    // (c) S sites syncing small changes at the same time
    if (ONLY.has('c'))
      await withCentral('sync_c', async (central, admin) => {
        const sites: number[] = [];
        for (let i = 0; i < SITES; i++) {
          const site = await admin.addSite({ name: `small-${i}`, password: `pw-${i}` });
          await admin.addStore({ code: `S${i}`, name: `Small store ${i}`, activeSiteId: site.id });
          sites.push(site.id);
        }
        const clients = sites.map((siteId, i) => ({
          siteId,
          storage: createInMemoryStorage(),
          gateway: new HttpCentralSyncGateway({ baseUrl: central.url, siteName: `small-${i}`, passwordSha256: sha256Hex(`pw-${i}`), hardwareId: `sim-${i}` }),
        }));
        const clock = new ManualClock();
        const ids = { next: () => randomUUID() };
        // a first cycle each (binds the device, pulls the topology) before measuring
        for (const c of clients) await runSyncCycle({ unitOfWork: c.storage, gateway: c.gateway, clock, ids }, c.siteId, { requestSize: 500 });
        const durations: number[] = [];
        const startC = process.hrtime.bigint();
        await Promise.all(
          clients.map(async (c, i) => {
            const records = Array.from({ length: 5 }, (_, k) => record('stock_line', `small-${i}-${k}`, `S${i}`));
            await c.storage.storage.records.upsert(records, { sourceSiteId: c.siteId, viaSync: false });
            const t = process.hrtime.bigint();
            await runSyncCycle({ unitOfWork: c.storage, gateway: c.gateway, clock, ids }, c.siteId, { requestSize: 500 });
            durations.push(Number(process.hrtime.bigint() - t) / 1e6);
          }),
        );
        const wall = Number(process.hrtime.bigint() - startC) / 1e9;
        durations.sort((x, y) => x - y);
        const pct = (p: number) => durations[Math.min(durations.length - 1, Math.floor((p / 100) * durations.length))]!.toFixed(0);
        say(
          `(c) ${SITES} sites syncing 5 records each at once: cycle p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${durations.at(-1)!.toFixed(0)} ms; all done in ${wall.toFixed(1)} s`,
        );
      });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function rawSqliteInsert(file: string, n: number): number {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('create table t (type text not null, id text not null, data text not null, primary key (type, id)) without rowid');
  const insert = db.prepare('insert into t (type, id, data) values (?, ?, ?)');
  const start = process.hrtime.bigint();
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const r = record('item', `item-${String(i).padStart(8, '0')}`, null);
      insert.run(r.type, r.id, JSON.stringify(r.data));
    }
  })();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  db.close();
  return seconds;
}

async function rawPostgresInsert(n: number): Promise<number> {
  const pool = new Pool({ connectionString: PG_URL, max: 1 });
  const table = `bench_raw_push_${process.pid}`;
  await pool.query(
    `drop table if exists ${table}; create table ${table} (type text not null, id text not null, store_id text, data jsonb not null, primary key (type, id))`,
  );
  const start = process.hrtime.bigint();
  for (let s = 0; s < n; s += 5000) {
    const batch = Array.from({ length: Math.min(5000, n - s) }, (_, k) => record('stock_line', `sl-${String(s + k).padStart(8, '0')}`, 'R'));
    await pool.query(`insert into ${table} select * from unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])`, [
      batch.map((r) => r.type),
      batch.map((r) => r.id),
      batch.map((r) => r.storeId ?? null),
      batch.map((r) => JSON.stringify(r.data)),
    ]);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await pool.query(`drop table ${table}`);
  await pool.end();
  return seconds;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
