import { isPushConflict, type SyncRecord } from '@sitesync/domain';
import { HttpCentralSyncGateway, sha256Hex } from '@sitesync/http';
import { Cluster, ENGINES } from './cluster';

let store = 'A';
const stock = (id: string, packs = 1): SyncRecord => ({ type: 'stock_line', id, storeId: store, data: { itemId: 'bcg', packs } });

/**
 * A site's data file is replaced: a new device from an empty file, a re-initialised site, a
 * restored backup. Whatever happened to the file, every record entered reaches the central.
 */
describe.each(ENGINES)('batch identity with the central on $name', (engine) => {
  let c: Cluster;
  let site: number;
  let siteName: string;
  let n = 0;

  beforeAll(async () => {
    c = await Cluster.start(engine);
  }, 60_000);

  afterAll(() => c.stop());

  // Each test has a site and a store of its own.
  beforeEach(async () => {
    n++;
    siteName = `District ${n}`;
    store = `A${n}`;
    site = await c.addRemote(siteName);
    await c.admin.addStore({ code: store, name: `Store ${store}`, activeSiteId: site });
    await c.open(site);
  });

  const enter = async (...records: SyncRecord[]) => expect((await c.site(site).putRecords(records)).ok).toBe(true);
  const onCentral = async (id: string) => c.central.storage.storage.records.get('stock_line', id);

  it('a new device from an empty file, after the admin resets the hardware id: its records reach the central', async () => {
    await enter(stock('old-device-1'));
    await c.site(site).sync();

    await c.replaceFile(site, null);
    await c.admin.resetHardwareId(site);
    await c.open(site, undefined, 'replacement-device');
    // The new file's first batch covers the same cursor range as the old file's first batch.
    await enter(stock('new-device-1'));
    expect((await c.site(site).sync()).pushed).toBe(1);

    expect(await onCentral('new-device-1')).toEqual(stock('new-device-1'));
    expect(await onCentral('old-device-1')).toEqual(stock('old-device-1'));
    expect((await c.site(site).status()).failed).toEqual([]);
  });

  it('a site re-initialised from an empty file on the same device: its records reach the central', async () => {
    await enter(stock('before-1'), stock('before-2'));
    await c.site(site).sync();

    await c.replaceFile(site, null);
    await c.open(site);
    await enter(stock('after-1'), stock('after-2'));
    expect((await c.site(site).sync()).pushed).toBe(2);

    for (const id of ['before-1', 'before-2', 'after-1', 'after-2']) expect(await onCentral(id)).not.toBeNull();
  });

  it('a restored backup re-uses batch ids for other records: the central refuses the id, the site renews its namespace, nothing is lost', async () => {
    await enter(stock('backed-up-1'));
    await c.site(site).sync();
    const backup = await c.backup(site, 'monday');
    await enter(stock('lost-with-the-disk-1'));
    await c.site(site).sync();

    await c.replaceFile(site, backup);
    await c.open(site);
    await enter(stock('after-restore-1'));
    const outcome = await c.site(site).sync();

    expect(outcome).toMatchObject({ pushed: 1, namespaceRenewals: 1 });
    for (const id of ['backed-up-1', 'lost-with-the-disk-1', 'after-restore-1']) expect(await onCentral(id)).not.toBeNull();
    // Later cycles use the new namespace: no more conflicts.
    await enter(stock('after-restore-2'));
    expect(await c.site(site).sync()).toMatchObject({ pushed: 1, namespaceRenewals: 0 });
    expect(await onCentral('after-restore-2')).not.toBeNull();
  });

  it('over HTTP: a replay gets exactly the first answer, a reused id with other records gets 409 batch_conflict and writes nothing', async () => {
    const gateway = new HttpCentralSyncGateway({
      baseUrl: c.central.url,
      siteName,
      passwordSha256: sha256Hex(`${siteName}-password`),
      hardwareId: `device-${site}`,
    });
    const batch = [stock('r-1'), { ...stock('r-2'), storeId: 'NOPE' }];
    const first = await gateway.push('by-hand:1', batch);
    expect(first).toMatchObject({ accepted: 1, refused: [expect.objectContaining({ recordId: 'r-2' })] });
    expect(await gateway.push('by-hand:1', batch)).toEqual({ ...first, replayed: true });

    const head = await c.central.storage.storage.changes.head();
    const conflict = await gateway.push('by-hand:1', [stock('r-3')]);
    expect(isPushConflict(conflict) && conflict.conflict.message).toMatch(/was received before with other records/);
    expect(await onCentral('r-3')).toBeNull();
    expect(await c.central.storage.storage.changes.head()).toBe(head);
  });

  it("one site's batch ids are its own: another site cannot make a site's push look like a replay", async () => {
    const other = await c.addRemote(`Other ${n}`);
    const otherGateway = new HttpCentralSyncGateway({
      baseUrl: c.central.url,
      siteName: `Other ${n}`,
      passwordSha256: sha256Hex(`Other ${n}-password`),
      hardwareId: `device-${other}`,
    });
    const namespace = await c.storageOf(site).storage.settings.get('sync.push-namespace');
    // the id the district's next batch will have, if the other site could guess it
    await otherGateway.push(`${String(namespace)}:0-1`, []);
    await otherGateway.push('null:0-1', []);
    await enter(stock('mine-1'));
    expect((await c.site(site).sync()).pushed).toBe(1);
    expect(await onCentral('mine-1')).not.toBeNull();
  });
});
