import type { SyncRecord } from '@sitesync/domain';
import { HttpCentralSyncGateway, sha256Hex } from '@sitesync/http';
import { Cluster, dyingGateway, ENGINES } from './cluster';

describe.each(ENGINES)('sync over HTTP with the central on $name', (engine) => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start(engine);
    for (const name of ['Site 2', 'Site 3', 'Site 4']) await c.addRemote(name);
    // A active on 2 (collectors on 3 and the central); B active on 3; C active on 4 (transfer copy on the central); E on the central
    await c.admin.addStore({ code: 'A', name: 'Store A', activeSiteId: 2 });
    await c.admin.setCopyType('A', 3, 'collector');
    await c.admin.addStore({ code: 'B', name: 'Store B', activeSiteId: 3 });
    await c.admin.addStore({ code: 'C', name: 'Store C', activeSiteId: 4, centralCopy: 'transfer' });
    await c.admin.addStore({ code: 'E', name: 'Store E', activeSiteId: 1 });
    for (const id of [2, 3, 4]) await c.open(id);
  }, 60_000);

  afterAll(() => c.stop());

  const syncAll = async () => {
    for (const id of [2, 3, 4]) await c.site(id).sync();
  };

  it('store data reaches the collector copies and nowhere else; a transfer copy gets none', async () => {
    expect((await c.site(2).putRecords([{ type: 'stock_line', id: 'sl-A-1', storeId: 'A', data: { packs: 5 } }])).ok).toBe(true);
    expect((await c.site(4).putRecords([{ type: 'stock_line', id: 'sl-C-1', storeId: 'C', data: { packs: 7 } }])).ok).toBe(true);
    await syncAll();
    expect([await c.has(1, 'stock_line', 'sl-A-1'), await c.has(3, 'stock_line', 'sl-A-1'), await c.has(4, 'stock_line', 'sl-A-1')]).toEqual([
      true,
      true,
      false,
    ]);
    expect([await c.has(1, 'stock_line', 'sl-C-1'), await c.has(2, 'stock_line', 'sl-C-1'), await c.has(3, 'stock_line', 'sl-C-1')]).toEqual([
      false,
      false,
      false,
    ]);
    expect((await c.site(4).status()).waitingToPush).toBe(0); // store C's data goes nowhere: nothing waits
  });

  it('central data entered on the primary reaches every site', async () => {
    await c.admin.putRecords([{ type: 'item', id: 'item-ors', data: { name: 'Oral rehydration salts' } }]);
    await syncAll();
    for (const id of [2, 3, 4]) expect(await c.has(id, 'item', 'item-ors')).toBe(true);
  });

  it('local data never leaves its site', async () => {
    await c.site(2).putRecords([{ type: 'log', id: 'log-2-1', data: { text: 'local' } }]);
    await syncAll();
    expect(await c.has(2, 'log', 'log-2-1')).toBe(true);
    for (const id of [1, 3, 4]) expect(await c.has(id, 'log', 'log-2-1')).toBe(false);
  });

  it("a site pushing another site's store data gets a per-record refusal, and the rest of the batch arrives", async () => {
    // written around the local checks, as a corrupted or tampered database would
    await c.storageOf(2).storage.records.upsert(
      [
        { type: 'stock_line', id: 'sl-B-forged', storeId: 'B', data: { packs: 999 } },
        { type: 'stock_line', id: 'sl-A-2', storeId: 'A', data: { packs: 1 } },
      ],
      { sourceSiteId: 2, viaSync: false },
    );
    const outcome = await c.site(2).sync();
    expect(outcome.refused).toBe(1);
    expect(await c.has(1, 'stock_line', 'sl-A-2')).toBe(true);
    expect(await c.has(1, 'stock_line', 'sl-B-forged')).toBe(false);
    const status = await c.site(2).status();
    expect(status.failed).toEqual([
      expect.objectContaining({ key: 'refused:stock_line:sl-B-forged', violation: expect.objectContaining({ code: 'edit.store-not-active-here' }) }),
    ]);
    expect((await c.admin.issues()).map((i) => i.key)).toContain('quarantine:2:stock_line:sl-B-forged');
  });

  it('refuses a wrong password, another device, and a blocked site until an admin acts', async () => {
    const gateway = (password: string, hardwareId: string) =>
      new HttpCentralSyncGateway({ baseUrl: c.central.url, siteName: 'Site 4', passwordSha256: sha256Hex(password), hardwareId });
    await expect(gateway('Site 4-password', 'someone-elses-laptop').siteInfo()).rejects.toMatchObject({ code: 'site_incorrect_hardware_id', status: 401 });
    await c.admin.resetHardwareId(4);
    await expect(gateway('Site 4-password', 'new-device').siteInfo()).resolves.toMatchObject({ siteId: 4 });
    for (let i = 0; i < 4; i++) await expect(gateway('wrong', 'new-device').siteInfo()).rejects.toMatchObject({ code: 'site_auth_failed', status: 401 });
    await expect(gateway('wrong', 'new-device').siteInfo()).rejects.toMatchObject({ code: 'site_auth_failed' }); // blocks it, unsaid
    await expect(gateway('Site 4-password', 'new-device').siteInfo()).rejects.toMatchObject({ code: 'site_blocked' });
    await c.admin.unblockSite(4);
    await c.admin.resetHardwareId(4);
    await expect(c.site(4).sync()).resolves.toMatchObject({ refused: 0 });
  });

  it('a remote killed in the middle of a pull resumes with nothing lost or duplicated', async () => {
    const items: SyncRecord[] = Array.from({ length: 300 }, (_, i) => ({ type: 'item', id: `item-bulk-${String(i).padStart(4, '0')}`, data: { n: i } }));
    await c.admin.putRecords(items);
    await c.kill(3);
    let pulls = 0;
    const dying = await c.open(
      3,
      dyingGateway(async (real, cursor, limit, options) => {
        if (++pulls === 3) throw new Error('killed');
        return real.pull(cursor, Math.min(limit, 40), options);
      }),
    );
    await expect(dying.sync()).rejects.toThrow('killed');
    await c.kill(3);
    await c.open(3); // restarted from the same file
    await c.site(3).sync();
    const held = (await c.site(3).listRecords('item')).filter((r) => r.id.startsWith('item-bulk-'));
    expect(held.map((r) => r.id)).toEqual(items.map((r) => r.id));
    expect((await c.site(3).status()).waitingToPush).toBe(0);
  });
});
