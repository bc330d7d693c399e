/**
 * npm run bench:transfers [-- --transfers 1000 --lines 20] [-- --quick]
 *
 * 1,000 stock transfers of 20 lines (`--quick`: 200 of 20) from store A (site North) to store B
 * (site South), central on the Postgres server at PG_URL, remotes in this process over loopback HTTP:
 * - end to end with manual syncs: from the last finalise in A to every responding half numbered on
 *   South (North syncs, then South syncs until all are numbered), against a raw Postgres `unnest`
 *   insert of every row that crossed (initiating and responding halves);
 * - the central's processing throughput alone (transfers/s, records written/s), on a fresh schema,
 *   against a raw Postgres `unnest` insert of the records it wrote (the responding halves, read back).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processTransfers, respondingId, type SyncRecord } from '@sitesync/domain';
import { sha256Hex, type AdminClient } from '@sitesync/http';
import { composeRemoteSite, REMOTE_TOKENS } from '@sitesync/remote-site';
import type { SqliteSyncStorage } from '@sitesync/sqlite';
import { Client } from 'pg';
import { PG_URL, withCentral, type Central } from './bench-central';
import { benchArgs } from './bench-args';

const args = benchArgs();
const QUICK = args.has('quick');
const TRANSFERS = Number(args.get('transfers') ?? (QUICK ? 200 : 1000));
const LINES = Number(args.get('lines') ?? 20);
const say = (line: string) => process.stdout.write(`${line}\n`);
const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;
const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en');
const RAW_BATCH = 2_000;

function invoice(i: number): SyncRecord[] {
  const id = `ci-${String(i).padStart(6, '0')}`;
  const lines: SyncRecord[] = Array.from({ length: LINES }, (_, k) => ({
    type: 'transaction_line',
    id: `${id}-l${k}`,
    storeId: 'A',
    otherPartyStoreId: 'B',
    data: { transactionId: id, itemId: `item-${k}`, quantity: k + 1, sellPrice: 2.5, batch: `B${k}`, expiryDate: '2027-01-31' },
  }));
  return [
    {
      type: 'transaction',
      id,
      storeId: 'A',
      otherPartyStoreId: 'B',
      data: { kind: 'customer_invoice', status: 'finalised', serialNumber: i + 1, lineCount: LINES },
    },
    ...lines,
  ];
}

/** North runs store A, South store B; each store has a transfer copy on the other's site. */
async function provision(admin: AdminClient): Promise<void> {
  await admin.addSite({ name: 'North', password: 'north-pw' });
  await admin.addSite({ name: 'South', password: 'south-pw' });
  await admin.addStore({ code: 'A', name: 'North warehouse', activeSiteId: 2 });
  await admin.addStore({ code: 'B', name: 'South hospital', activeSiteId: 3 });
  await admin.setCopyType('A', 3, 'transfer');
  await admin.setCopyType('B', 2, 'transfer');
}

async function main(): Promise<void> {
  say(
    `sitesync transfer benchmark${QUICK ? ' (--quick)' : ''}: ${TRANSFERS} stock transfers of ${LINES} lines, node ${process.version}, central on the Postgres server`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'sitesync-bench-transfers-'));
  try {
    // end to end, manual syncs
    await withCentral('transfers_e2e', async (central, admin) => {
      await provision(admin);
      const north = await composeRemoteSite(join(dir, 'north.sqlite'));
      const south = await composeRemoteSite(join(dir, 'south.sqlite'));
      await north.site.init({ centralUrl: central.url, siteName: 'North', passwordSha256: sha256Hex('north-pw'), hardwareId: 'north' });
      await south.site.init({ centralUrl: central.url, siteName: 'South', passwordSha256: sha256Hex('south-pw'), hardwareId: 'south' });
      const southStorage = south.container.get<SqliteSyncStorage>(REMOTE_TOKENS.Storage);
      for (let i = 0; i < TRANSFERS; i += 50) {
        const records = Array.from({ length: Math.min(50, TRANSFERS - i) }, (_, k) => invoice(i + k)).flat();
        const result = await north.site.putRecords(records);
        if (!result.ok) throw new Error(result.error[0]!.message);
      }
      const t0 = process.hrtime.bigint();
      const pushed = await north.site.sync();
      const pushSeconds = seconds(t0);
      let cycles = 0;
      const isNumbered = async (i: number) => {
        const r = await southStorage.storage.records.get('transaction', respondingId(`ci-${String(i).padStart(6, '0')}`, 'stock-transfer'));
        return r !== null && (r.data['serialNumber'] as number) > 0;
      };
      for (;;) {
        await south.site.sync();
        cycles++;
        let all = true;
        for (let i = 0; i < TRANSFERS && all; i++) all = await isNumbered(i);
        if (all || cycles > 20) break;
      }
      const total = seconds(t0);
      // every row that crossed: the initiating halves (store A) and the responding halves (store B), as the central holds them
      const crossed = [...(await transferRecords(central, 'A')), ...(await transferRecords(central, 'B'))];
      const raw = await rawPostgresInsert(crossed);
      say(
        `end to end (manual syncs): last finalise -> all ${TRANSFERS} supplier invoices numbered on South in ${total.toFixed(1)} s = ${rate(TRANSFERS, total)} transfers/s (North's push incl. central processing ${pushSeconds.toFixed(1)} s for ${pushed.pushed.toLocaleString('en')} records; South ${cycles} sync cycle(s))`,
      );
      say(
        `  ${crossed.length.toLocaleString('en')} rows crossed (initiating + responding halves) = ${rate(crossed.length, total)} rows/s end to end; raw Postgres unnest insert of the same rows (batches of ${RAW_BATCH.toLocaleString('en')}): ${raw.toFixed(2)} s = ${rate(crossed.length, raw)} rows/s = ${rate(TRANSFERS, raw)} transfers/s equivalent; ratio end to end/raw ${(raw / total).toFixed(3)}`,
      );
      say(
        `with the sync interval at its minimum (1 minute): add up to one interval for North's next cycle and one for South's: at most ${(120 + total).toFixed(0)} s, typically ${(60 + total).toFixed(0)} s`,
      );
      await north.close();
      await south.close();
    });

    // central processing alone
    await withCentral('transfers_central', async (central, admin) => {
      await provision(admin);
      const storage = central.storage;
      for (let i = 0; i < TRANSFERS; i += 50) {
        const records = Array.from({ length: Math.min(50, TRANSFERS - i) }, (_, k) => invoice(i + k)).flat();
        await storage.storage.records.upsert(records, { sourceSiteId: 2, viaSync: true });
      }
      const topology = (await storage.storage.topology.load())!;
      const t1 = process.hrtime.bigint();
      const report = await processTransfers({ unitOfWork: storage, clock: { now: () => new Date() } }, topology, 1);
      const processing = seconds(t1);
      // the records the processing wrote: the responding halves, of store B
      const written = await transferRecords(central, 'B');
      const raw = await rawPostgresInsert(written);
      say(
        `central processing: ${report.created.length} transfers (${written.length.toLocaleString('en')} records written) in ${processing.toFixed(2)} s = ${rate(report.created.length, processing)} transfers/s, ${rate(written.length, processing)} records written/s`,
      );
      say(
        `  raw Postgres unnest insert of the same ${written.length.toLocaleString('en')} rows (batches of ${RAW_BATCH.toLocaleString('en')}): ${raw.toFixed(2)} s = ${rate(written.length, raw)} rows/s = ${rate(written.length / (LINES + 1), raw)} transfers/s equivalent; ratio processing/raw ${(raw / processing).toFixed(3)}`,
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The stored `transaction` and `transaction_line` records of a store on the central, with their data. */
async function transferRecords(central: Central, storeId: string): Promise<SyncRecord[]> {
  const out: SyncRecord[] = [];
  for (const type of ['transaction', 'transaction_line']) {
    let afterId: string | undefined;
    for (;;) {
      const page = await central.storage.storage.records.list(type, { ...(afterId === undefined ? {} : { afterId }), limit: 5_000 });
      for (const r of page) if (r.storeId === storeId) out.push(r);
      if (page.length < 5_000) break;
      afterId = page.at(-1)!.id;
    }
  }
  return out;
}

/**
 * Seconds to insert these rows with one `pg` client into a fresh plain table shaped like
 * sync_record's record columns (primary key (type, id)) in a scratch schema, `unnest` batches of
 * RAW_BATCH rows; the schema is dropped afterwards.
 */
async function rawPostgresInsert(rows: readonly SyncRecord[]): Promise<number> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  const schema = `bench_raw_transfers_${process.pid}`;
  try {
    await client.query(
      `drop schema if exists ${schema} cascade; create schema ${schema};
       create table ${schema}.t (type text not null, id text not null, store_id text, other_party_store_id text, deleted boolean not null, data jsonb not null, primary key (type, id))`,
    );
    const start = process.hrtime.bigint();
    for (let s = 0; s < rows.length; s += RAW_BATCH) {
      const batch = rows.slice(s, s + RAW_BATCH);
      await client.query(`insert into ${schema}.t select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::jsonb[])`, [
        batch.map((r) => r.type),
        batch.map((r) => r.id),
        batch.map((r) => r.storeId ?? null),
        batch.map((r) => r.otherPartyStoreId ?? null),
        batch.map((r) => r.deleted ?? false),
        batch.map((r) => JSON.stringify(r.data)),
      ]);
    }
    return seconds(start);
  } finally {
    await client.query(`drop schema if exists ${schema} cascade`);
    await client.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
