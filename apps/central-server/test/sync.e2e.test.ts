import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCentralServer, type RunningCentral } from '@sitesync/central-server';
import type { CentralSyncGateway, SyncRecord } from '@sitesync/domain';
import { AdminClient, HttpCentralSyncGateway, ScryptPasswordHasher, sha256Hex } from '@sitesync/http';
import { composeRemoteSite, REMOTE_TOKENS, type GatewayFactory, type RemoteComposition } from '@sitesync/remote-site';
import type { SqliteSyncStorage } from '@sitesync/sqlite';
import { Pool } from 'pg';
import { pino } from 'pino';

const PG_URL = process.env['PG_URL'];
if (process.env['CI'] && !PG_URL)
  throw new Error('CI is set but PG_URL is not: the end-to-end tests must also run with the central on the real Postgres server.');

interface Engine {
  readonly name: string;
  database(): Promise<{ databaseUrl?: string; drop(): Promise<void> }>;
}

const engines: Engine[] = [
  { name: 'embedded PGlite', database: () => Promise.resolve({ drop: () => Promise.resolve() }) },
  ...(PG_URL
    ? [
        {
          name: 'the real Postgres server',
          async database() {
            const schema = `sitesync_e2e_${process.pid}_${Date.now().toString(36)}`;
            const admin = new Pool({ connectionString: PG_URL, max: 1 });
            await admin.query(`create schema ${schema}`);
            const url = new URL(PG_URL);
            url.searchParams.set('options', `-c search_path=${schema}`);
            return {
              databaseUrl: url.toString(),
              async drop() {
                await admin.query(`drop schema ${schema} cascade`);
                await admin.end();
              },
            };
          },
        },
      ]
    : []),
];

const PASSWORDS: Record<string, string> = { 'Site 2': 'pw-two', 'Site 3': 'pw-three', 'Site 4': 'pw-four' };

describe.each(engines)('sync over HTTP with the central on $name', (engine) => {
  let dir: string;
  let central: RunningCentral;
  let admin: AdminClient;
  let dropDatabase: () => Promise<void>;
  const remotes = new Map<number, RemoteComposition>();
  const files = new Map<number, string>();

  async function openRemote(siteId: number, gatewayFor?: GatewayFactory): Promise<RemoteComposition> {
    const remote = await composeRemoteSite(files.get(siteId)!, gatewayFor ? { gatewayFor } : {});
    remotes.set(siteId, remote);
    return remote;
  }
  const site = (id: number) => remotes.get(id)!.site;
  const storageOf = (id: number) => remotes.get(id)!.container.get<SqliteSyncStorage>(REMOTE_TOKENS.Storage);
  const has = async (siteId: number, type: string, id: string) =>
    siteId === 1 ? (await central.storage.storage.records.get(type, id)) !== null : (await storageOf(siteId).storage.records.get(type, id)) !== null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sitesync-e2e-'));
    const database = await engine.database();
    dropDatabase = database.drop;
    central = await startCentralServer({
      port: 0,
      dataDir: ':memory:',
      ...(database.databaseUrl ? { databaseUrl: database.databaseUrl } : {}),
      adminToken: 'e2e-admin-token',
      logger: pino({ level: 'silent' }),
      hasher: new ScryptPasswordHasher({ cost: 1024 }),
    });
    admin = new AdminClient({ baseUrl: central.url, adminToken: central.adminToken });
    for (const name of Object.keys(PASSWORDS)) await admin.addSite({ name, password: PASSWORDS[name]! });
    // A active on 2 (collectors on 3 and the central); B active on 3; C active on 4 (transfer copy on the central); E on the central
    await admin.addStore({ code: 'A', name: 'Store A', activeSiteId: 2 });
    await admin.setCopyType('A', 3, 'collector');
    await admin.addStore({ code: 'B', name: 'Store B', activeSiteId: 3 });
    await admin.addStore({ code: 'C', name: 'Store C', activeSiteId: 4, centralCopy: 'transfer' });
    await admin.addStore({ code: 'E', name: 'Store E', activeSiteId: 1 });
    for (const [id, name] of [
      [2, 'Site 2'],
      [3, 'Site 3'],
      [4, 'Site 4'],
    ] as const) {
      files.set(id, join(dir, `site-${id}.sqlite`));
      const remote = await openRemote(id);
      await remote.site.init({ centralUrl: central.url, siteName: name, passwordSha256: sha256Hex(PASSWORDS[name]!), hardwareId: `device-${id}` });
    }
  }, 60_000);

  afterAll(async () => {
    for (const remote of remotes.values()) await remote.close();
    await central.close();
    await dropDatabase();
    rmSync(dir, { recursive: true, force: true });
  });

  const syncAll = async () => {
    for (const id of [2, 3, 4]) await site(id).sync();
  };

  it('store data reaches the collector copies and nowhere else; a transfer copy gets none', async () => {
    expect((await site(2).putRecords([{ type: 'stock_line', id: 'sl-A-1', storeId: 'A', data: { packs: 5 } }])).ok).toBe(true);
    expect((await site(4).putRecords([{ type: 'stock_line', id: 'sl-C-1', storeId: 'C', data: { packs: 7 } }])).ok).toBe(true);
    await syncAll();
    expect([await has(1, 'stock_line', 'sl-A-1'), await has(3, 'stock_line', 'sl-A-1'), await has(4, 'stock_line', 'sl-A-1')]).toEqual([true, true, false]);
    expect([await has(1, 'stock_line', 'sl-C-1'), await has(2, 'stock_line', 'sl-C-1'), await has(3, 'stock_line', 'sl-C-1')]).toEqual([false, false, false]);
  });

  it('central data entered on the primary reaches every site', async () => {
    await admin.putRecords([{ type: 'item', id: 'item-ors', data: { name: 'Oral rehydration salts' } }]);
    await syncAll();
    for (const id of [2, 3, 4]) expect(await has(id, 'item', 'item-ors')).toBe(true);
  });

  it('local data never leaves its site', async () => {
    await site(2).putRecords([{ type: 'log', id: 'log-2-1', data: { text: 'local' } }]);
    await syncAll();
    expect(await has(2, 'log', 'log-2-1')).toBe(true);
    for (const id of [1, 3, 4]) expect(await has(id, 'log', 'log-2-1')).toBe(false);
  });

  it("a site pushing another site's store data gets a per-record refusal, and the rest of the batch arrives", async () => {
    // written around the local checks, as a corrupted or tampered database would
    await storageOf(2).storage.records.upsert(
      [
        { type: 'stock_line', id: 'sl-B-forged', storeId: 'B', data: { packs: 999 } },
        { type: 'stock_line', id: 'sl-A-2', storeId: 'A', data: { packs: 1 } },
      ],
      { sourceSiteId: 2, viaSync: false },
    );
    const outcome = await site(2).sync();
    expect(outcome.refused).toBe(1);
    expect(await has(1, 'stock_line', 'sl-A-2')).toBe(true);
    expect(await has(1, 'stock_line', 'sl-B-forged')).toBe(false);
    const status = await site(2).status();
    expect(status.failed).toEqual([
      expect.objectContaining({ key: 'refused:stock_line:sl-B-forged', violation: expect.objectContaining({ code: 'edit.store-not-active-here' }) }),
    ]);
    expect((await admin.issues()).map((i) => i.key)).toContain('quarantine:2:stock_line:sl-B-forged');
  });

  it('refuses a wrong password, another device, and a blocked site until an admin acts', async () => {
    const gateway = (password: string, hardwareId: string) =>
      new HttpCentralSyncGateway({ baseUrl: central.url, siteName: 'Site 4', passwordSha256: sha256Hex(password), hardwareId });
    await expect(gateway('pw-four', 'someone-elses-laptop').siteInfo()).rejects.toMatchObject({ code: 'site_incorrect_hardware_id', status: 401 });
    await admin.resetHardwareId(4);
    await expect(gateway('pw-four', 'new-device').siteInfo()).resolves.toMatchObject({ siteId: 4 });
    for (let i = 0; i < 4; i++) await expect(gateway('wrong', 'new-device').siteInfo()).rejects.toMatchObject({ code: 'site_auth_failed', status: 401 });
    await expect(gateway('wrong', 'new-device').siteInfo()).rejects.toMatchObject({ code: 'site_blocked' });
    await expect(gateway('pw-four', 'new-device').siteInfo()).rejects.toMatchObject({ code: 'site_blocked' });
    await admin.unblockSite(4);
    await admin.resetHardwareId(4);
    await expect(site(4).sync()).resolves.toMatchObject({ refused: 0 });
  });

  it('a remote killed in the middle of a pull resumes with nothing lost or duplicated', async () => {
    const items: SyncRecord[] = Array.from({ length: 300 }, (_, i) => ({ type: 'item', id: `item-bulk-${String(i).padStart(4, '0')}`, data: { n: i } }));
    await admin.putRecords(items);
    // site 3 dies on its third pull request: the process ends, its database closes
    await remotes.get(3)!.close();
    let pulls = 0;
    const dying = await openRemote(3, (config) => {
      const real = new HttpCentralSyncGateway({
        baseUrl: config.centralUrl,
        siteName: config.siteName,
        passwordSha256: config.passwordSha256,
        hardwareId: config.hardwareId,
      });
      const gateway: CentralSyncGateway = {
        siteInfo: () => real.siteInfo(),
        push: (id, records) => real.push(id, records),
        pull: async (cursor, limit) => {
          if (++pulls === 3) throw new Error('killed');
          return real.pull(cursor, Math.min(limit, 40));
        },
      };
      return gateway;
    });
    await expect(dying.site.sync()).rejects.toThrow('killed');
    await dying.close();
    // restarted from the same file
    await openRemote(3);
    await site(3).sync();
    const held = (await site(3).listRecords('item')).filter((r) => r.id.startsWith('item-bulk-'));
    expect(held.map((r) => r.id)).toEqual(items.map((r) => r.id));
    expect((await site(3).status()).waitingToPush).toBe(0);
  });
});
