import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SyncRecord } from '@sitesync/domain';
import { sha256Hex } from '@sitesync/http';
import { composeRemoteSite } from '@sitesync/remote-site';
import { Cluster, type Engine } from './cluster';

export const CENTRAL = 1;
export const NORTH = 2;
export const SOUTH = 3;

/**
 * The cluster of the transfer end-to-end tests: North (site 2) runs store A, South (site 3) runs
 * store B, each store with a transfer copy on the other's site; `extra` adds more before the
 * remotes open (stores, copies, a mobile site through `addMobile`).
 */
export async function startTransferCluster(
  engine: Engine,
  extra: (t: { c: Cluster; addMobile: (name: string) => Promise<number> }) => Promise<void> = async () => {},
) {
  const c = await Cluster.start(engine);
  const dir = mkdtempSync(join(tmpdir(), 'sitesync-e2e-mobile-'));
  const mobiles: { id: number; name: string }[] = [];
  await c.addRemote('North');
  await c.addRemote('South');
  await c.admin.addStore({ code: 'A', name: 'North warehouse', activeSiteId: NORTH });
  await c.admin.addStore({ code: 'B', name: 'South hospital', activeSiteId: SOUTH });
  await c.admin.setCopyType('A', SOUTH, 'transfer');
  await c.admin.setCopyType('B', NORTH, 'transfer');
  // Cluster.addRemote has no device type: a mobile site is created and bound here, and kept in c.remotes
  const addMobile = async (name: string) => {
    const site = await c.admin.addSite({ name, password: `${name}-password`, deviceType: 'mobile' });
    mobiles.push({ id: site.id, name });
    return site.id;
  };
  await extra({ c, addMobile });
  await c.open(NORTH);
  await c.open(SOUTH);
  for (const { id, name } of mobiles) {
    const remote = await composeRemoteSite(join(dir, `site-${id}.sqlite`));
    c.remotes.set(id, remote);
    await remote.site.init({ centralUrl: c.central.url, siteName: name, passwordSha256: sha256Hex(`${name}-password`), hardwareId: `device-${id}` });
  }

  const storage = (siteId: number) => (siteId === CENTRAL ? c.central.storage.storage : c.storageOf(siteId).storage);
  const get = (siteId: number, type: string, id: string) => storage(siteId).records.get(type, id);
  const helpers = {
    c,
    get,
    /** the record, which must exist */
    must: async (siteId: number, type: string, id: string): Promise<SyncRecord> => {
      const record = await get(siteId, type, id);
      if (!record) throw new Error(`${type} ${id} is not on site ${siteId}`);
      return record;
    },
    /** lines naming a header, tombstones included */
    linesOf: (siteId: number, type: string, field: string, id: string) => storage(siteId).records.findByField(type, field, id),
    liveLines: async (siteId: number, type: string, field: string, id: string) =>
      (await storage(siteId).records.findByField(type, field, id)).filter((l) => l.deleted !== true),
    put: async (siteId: number, records: SyncRecord[]) => {
      const result = await c.site(siteId).putRecords(records);
      if (!result.ok) throw new Error(result.error.map((v) => `${v.code}: ${v.message}`).join(' '));
    },
    tryPut: (siteId: number, records: SyncRecord[]) => c.site(siteId).putRecords(records),
    sync: async (...sites: number[]) => {
      for (const site of sites) await c.site(site).sync();
    },
    /** North pushes, South pulls and answers, North gets the answer. */
    roundTrip: async () => {
      for (const site of [NORTH, SOUTH, NORTH]) await c.site(site).sync();
    },
    stop: async () => {
      await c.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return helpers;
}

export type TransferCluster = Awaited<ReturnType<typeof startTransferCluster>>;

/** The record with `data` changed. */
export const edit = (record: SyncRecord, data: Record<string, unknown>): SyncRecord => ({ ...record, data: { ...record.data, ...data } });

/** The tombstone of a line (it names its header) or of a header (`data: {}`). */
export const tombstone = (record: SyncRecord, headerField?: string): SyncRecord => ({
  type: record.type,
  id: record.id,
  storeId: record.storeId ?? null,
  otherPartyStoreId: record.otherPartyStoreId ?? null,
  deleted: true,
  data: headerField ? { [headerField]: record.data[headerField] } : {},
});
