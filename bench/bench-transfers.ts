/**
 * npm run bench:transfers [-- --transfers 1000 --lines 20]
 *
 * 1,000 stock transfers of 20 lines from store A (site North) to store B (site South), central on
 * the Postgres server at PG_URL, remotes in this process over loopback HTTP:
 * - end to end with manual syncs: from the last finalise in A to every responding half numbered on
 *   South (North syncs, then South syncs until all are numbered);
 * - the central's processing throughput alone (transfers/s), on a fresh schema.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processTransfers, respondingId, type SyncRecord } from '@sitesync/domain';
import { sha256Hex, type AdminClient } from '@sitesync/http';
import { composeRemoteSite, REMOTE_TOKENS } from '@sitesync/remote-site';
import type { SqliteSyncStorage } from '@sitesync/sqlite';
import { withCentral } from './bench-central';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const TRANSFERS = Number(args.get('transfers') ?? 1000);
const LINES = Number(args.get('lines') ?? 20);
const say = (line: string) => process.stdout.write(`${line}\n`);
const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;

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
  say(`sitesync transfer benchmark: ${TRANSFERS} stock transfers of ${LINES} lines, node ${process.version}, central on the Postgres server`);
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
      say(
        `end to end (manual syncs): last finalise -> all ${TRANSFERS} supplier invoices numbered on South in ${total.toFixed(1)} s (North's push incl. central processing ${pushSeconds.toFixed(1)} s for ${pushed.pushed.toLocaleString('en')} records; South ${cycles} sync cycle(s))`,
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
      say(
        `central processing: ${report.created.length} transfers (${(report.created.length * (LINES + 1)).toLocaleString('en')} records written) in ${processing.toFixed(1)} s = ${(report.created.length / processing).toFixed(0)} transfers/s`,
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
