import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { startCentralServer } from '@sitesync/central-server';
import { decideReceipt, describeSite, type SyncRecord, type Topology } from '@sitesync/domain';
import { AdminClient, sha256Hex } from '@sitesync/http';
import { composeRemoteSite, type RemoteComposition } from '@sitesync/remote-site';
import { pino } from 'pino';

const SHOWN_TYPES = ['item', 'store', 'stock_line', 'log'] as const;

/**
 * The main job on embedded defaults: a central (embedded PGlite) and two remote sites (SQLite files)
 * over real HTTP on loopback, with seed 002's stores D, E and F. Data is entered on each site, the
 * remotes sync, and every site's holdings are printed with the rule that put each record there.
 */
export async function runLiveDemo(write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sitesync-demo-'));
  const logger = pino({ level: 'silent' });
  const central = await startCentralServer({ port: 0, dataDir: ':memory:', adminToken: randomUUID(), siteName: 'Sync server', logger });
  const remotes: RemoteComposition[] = [];
  try {
    write(`central server listening on ${central.url} (embedded PGlite)`);
    const admin = new AdminClient({ baseUrl: central.url, adminToken: central.adminToken });
    await admin.addSite({ name: 'Remote site 1', password: 'remote-1-secret', code: 'R1' });
    await admin.addSite({ name: 'Remote site 2', password: 'remote-2-secret', code: 'R2' });
    await admin.addStore({ code: 'E', name: 'Store E', activeSiteId: 1 });
    await admin.addStore({ code: 'F', name: 'Store F', activeSiteId: 2, centralCopy: 'transfer' });
    await admin.addStore({ code: 'D', name: 'Store D', activeSiteId: 3, centralCopy: 'collector' });
    write(
      'provisioned: site 2 "Remote site 1" runs store F (transfer copy on the central), site 3 "Remote site 2" runs store D (collector copy on the central), store E is local to the central',
    );

    for (const [name, password] of [
      ['Remote site 1', 'remote-1-secret'],
      ['Remote site 2', 'remote-2-secret'],
    ] as const) {
      const remote = await composeRemoteSite(join(dir, `${name.replace(/ /g, '-')}.sqlite`));
      await remote.site.init({ centralUrl: central.url, siteName: name, passwordSha256: sha256Hex(password), hardwareId: randomUUID() });
      remotes.push(remote);
    }
    const [remote1, remote2] = remotes as [RemoteComposition, RemoteComposition];

    // Central data and store E's data, entered on the central (the primary).
    await admin.putRecords([
      { type: 'item', id: 'item-bcg', data: { name: 'BCG vaccine, 20 doses' } },
      { type: 'stock_line', id: 'stock-E-1', storeId: 'E', data: { itemId: 'item-bcg', packs: 40 } },
    ]);
    await remote1.site.sync();
    await remote2.site.sync();
    const entered = async (remote: RemoteComposition, records: SyncRecord[]) => {
      const result = await remote.site.putRecords(records);
      if (!result.ok) throw new Error(result.error.map((v) => v.message).join(' '));
    };
    await entered(remote1, [
      { type: 'stock_line', id: 'stock-F-1', storeId: 'F', data: { itemId: 'item-bcg', packs: 12 } },
      { type: 'log', id: 'log-R1-1', data: { text: 'user logged in' } },
    ]);
    await entered(remote2, [{ type: 'stock_line', id: 'stock-D-1', storeId: 'D', data: { itemId: 'item-bcg', packs: 25 } }]);
    const refused = await remote1.site.putRecords([{ type: 'stock_line', id: 'stock-D-2', storeId: 'D', data: { packs: 1 } }]);
    if (!refused.ok) write(`remote site 1 tries to edit store D's stock: refused (${refused.error[0]!.code}): ${refused.error[0]!.message}`);

    for (const remote of remotes) {
      const outcome = await remote.site.sync();
      write(`sync of ${(await remote.site.config())!.siteName}: pushed ${outcome.pushed}, pulled ${outcome.pulled}`);
    }

    // the whole topology is the central's: a remote knows other sites by id only
    const topology = (await central.storage.storage.topology.load())!;
    write('');
    write('What each site holds now, and the rule that put it there:');
    await show(write, topology, 1, async (type) => listCentral(central.storage, type));
    await show(write, topology, 2, (type) => remote1.site.listRecords(type));
    await show(write, topology, 3, (type) => remote2.site.listRecords(type));
  } finally {
    for (const remote of remotes) await remote.close();
    await central.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function listCentral(storage: Awaited<ReturnType<typeof startCentralServer>>['storage'], type: string): Promise<SyncRecord[]> {
  return [...(await storage.storage.records.list(type, { limit: 1000 }))];
}

async function show(write: (line: string) => void, topology: Topology, siteId: number, list: (type: string) => Promise<SyncRecord[]>): Promise<void> {
  write(`  ${describeSite(topology.site(siteId)!)}:`);
  for (const type of SHOWN_TYPES) {
    for (const record of await list(type)) {
      const decision = decideReceipt(topology, siteId, record);
      const why = decision.ok ? `[${decision.value.rule}] ${decision.value.reason}` : decision.error.message;
      write(`    ${record.type} ${record.id}${record.storeId ? ` (store ${record.storeId})` : ''}: ${why}`);
    }
  }
}
