import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pushAsSite, REMOTE_MAIN, startCliNetwork, type CliNetwork } from './cli-process';

/**
 * The Open mSupply central server end to end (seeds 000/001), with real processes only: the mSupply
 * central (`sitesync-central serve`), site OMS flagged as the Open mSupply central and running
 * `sitesync-remote run --serve`, and two remotes (North, South) using `sitesync-remote sync`.
 */
const TOKEN = 'cli-oms-central-admin-token';
let net: CliNetwork;

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });

/** `sitesync-remote run --serve` on the OMS site's data file, until stopped. */
async function serveOms(port: number): Promise<{ readonly banner: string; stop(): Promise<void> }> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  delete env['NODE_OPTIONS'];
  const child: ChildProcess = spawn(process.execPath, [REMOTE_MAIN, '--data', join(net.dir, 'oms.sqlite'), 'run', '--serve', '--port', String(port)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let out = '';
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const banner = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (/remote sites are told|sync requests are answered 503/.test(out)) resolve(out);
    });
    void exited.then(() => reject(new Error(`run --serve exited: ${err}`)));
  });
  // its first cycle runs at start: wait until its server answers
  for (let i = 0; i < 100; i++) {
    if ((await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    banner,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

const ids = async (file: string, type: string): Promise<string[]> =>
  (JSON.parse(await net.remote(file, 'record', 'list', '--type', type)) as { id: string }[]).map((r) => r.id).sort();
const dataOf = async (file: string, type: string, id: string): Promise<unknown> =>
  (JSON.parse(await net.remote(file, 'record', 'list', '--type', type)) as { id: string; data: unknown }[]).find((r) => r.id === id)?.data;
const status = async (file: string) =>
  JSON.parse(await net.remote(file, 'status')) as {
    role?: string;
    waitingToPush: number;
    omsCentral: { url: string; error: string | null; fix: string | null; lastSyncedAt: string | null } | null;
  };

let port: number;
let oms: Awaited<ReturnType<typeof serveOms>> | null = null;

beforeAll(async () => {
  // every site's device, so that a test can also speak the sync API as South (pushAsSite)
  process.env['SITESYNC_HARDWARE_ID'] = 'South-hw';
  net = await startCliNetwork('cli-oms', TOKEN, async (admin) => {
    // South's store, with a collector copy on North: South's assets go to North (and to the Open mSupply central)
    await admin('store', 'add', '--code', 'S', '--name', 'South store', '--active-site', '3');
    await admin('store', 'copy', '--store', 'S', '--site', '2', '--type', 'collector');
    await admin('store', 'add', '--code', 'N', '--name', 'North store', '--active-site', '2');
  });
  await net.admin('site', 'add', '--name', 'OMS', '--password-file', join(net.dir, 'password'));
  await net.admin('store', 'add', '--code', 'O', '--name', 'OMS dummy store', '--active-site', '4', '--dispensary');
  port = await freePort();
  await net.admin('site', 'set', '--site', '4', '--oms-central', 'on', '--oms-central-url', `http://127.0.0.1:${port}`);
  await net.remote('oms.sqlite', 'init', '--central-url', net.url, '--site-name', 'OMS', '--password-file', join(net.dir, 'password'));
  oms = await serveOms(port);
}, 120_000);

afterAll(async () => {
  delete process.env['SITESYNC_HARDWARE_ID'];
  await oms?.stop();
  await net.stop();
});

it('the Open mSupply central says what it is: its banner, its status and its page', async () => {
  expect(oms!.banner).toMatch(/^Open mSupply central server — site 4 "OMS"/);
  expect(oms!.banner).toContain(`remote sites are told: http://127.0.0.1:${port}`);
  expect((await status('oms.sqlite')).role).toBe('Open mSupply central server');
  const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  expect(page).toMatch(/<div id="central-bar"[^>]*>Open mSupply central server<\/div>/);
  const json = (await (await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: 'application/json' } })).json()) as Record<string, unknown>;
  expect(json).toMatchObject({ role: 'oms-central', siteId: 4, flagged: true });
}, 60_000);

it('an asset created on South reaches the Open mSupply central and North (which collects South’s store), never the mSupply central', async () => {
  await net.remote('south.sqlite', 'record', 'put', '--type', 'asset', '--json', JSON.stringify({ id: 'fridge-1', storeId: 'S', data: { model: 'TCW 40' } }));
  const synced = await net.remote('south.sqlite', 'sync');
  expect(synced).toMatch(new RegExp(`Open mSupply central server \\(http://127.0.0.1:${port}\\): pushed 1`));
  await net.remote('oms.sqlite', 'sync');
  await net.remote('north.sqlite', 'sync');
  expect(await ids('oms.sqlite', 'asset')).toEqual(['fridge-1']);
  expect(await ids('north.sqlite', 'asset')).toEqual(['fridge-1']);
  // the mSupply central holds none of it, and refuses it when a site sends it there
  const explained = await net.adminRun('explain', '--type', 'asset', '--id', 'fridge-1');
  expect(explained.code).not.toBe(0);
  expect(explained.stderr).toMatch(/holds no asset with id "fridge-1"/);
  const pushed = await pushAsSite(net.url, 'South', 'south-direct-1', [{ type: 'asset', id: 'fridge-2', storeId: 'S', data: { model: 'x' } }]);
  expect(pushed.status).toBe(200);
  expect(pushed.body.refused.map((r) => r.code)).toEqual(['push.other-server']);
}, 120_000);

it('the Open mSupply central checks credentials with the mSupply central, and refuses what a site may not send it, as an attacker would send it', async () => {
  const omsUrl = `http://127.0.0.1:${port}`;
  const anonymous = await fetch(`${omsUrl}/sync/v1/site`);
  expect(anonymous.status).toBe(401);
  const wrong = await fetch(`${omsUrl}/sync/v1/site`, {
    headers: { authorization: `Basic ${Buffer.from('South:0000').toString('base64')}`, 'x-sitesync-hardware-id': 'South-hw', 'x-sitesync-api-version': '1' },
  });
  expect(wrong.status).toBe(401);
  expect(((await wrong.json()) as { error: { code: string; message: string } }).error).toMatchObject({
    code: 'site_auth_failed',
    message: expect.stringMatching(/^The mSupply central refused these credentials:/),
  });
  // South forges the catalogue, North's store's asset and a stock line, straight to the Open mSupply central's API
  const forged = await pushAsSite(omsUrl, 'South', 'south-forged-1', [
    { type: 'asset_catalogue_item', id: 'cat-forged', data: { code: 'forged' } },
    { type: 'asset', id: 'north-fridge', storeId: 'N', data: { model: 'forged' } },
    { type: 'stock_line', id: 'sl-forged', storeId: 'S', data: { packs: 1 } },
  ]);
  expect(forged.status).toBe(200);
  expect(forged.body.accepted).toBe(0);
  expect(forged.body.refused.map((r) => r.code)).toEqual(['edit.oms-data-not-oms-central', 'edit.store-not-active-here', 'push.other-server']);
  await net.remote('north.sqlite', 'sync');
  expect(await ids('north.sqlite', 'asset_catalogue_item')).not.toContain('cat-forged');
  expect(await ids('north.sqlite', 'asset')).not.toContain('north-fridge');
}, 120_000);

it('the asset catalogue edited on the Open mSupply central reaches both remotes; edited on a remote or on the mSupply central it is refused with the message', async () => {
  await net.remote('oms.sqlite', 'record', 'put', '--type', 'asset_catalogue_item', '--json', JSON.stringify({ id: 'cat-fridge', data: { code: 'E003/040' } }));
  await net.remote('oms.sqlite', 'sync');
  await net.remote('north.sqlite', 'sync');
  await net.remote('south.sqlite', 'sync');
  expect(await ids('north.sqlite', 'asset_catalogue_item')).toEqual(['cat-fridge']);
  expect(await ids('south.sqlite', 'asset_catalogue_item')).toEqual(['cat-fridge']);

  const onRemote = await net.remoteRun(
    'south.sqlite',
    'record',
    'put',
    '--type',
    'asset_catalogue_item',
    '--json',
    JSON.stringify({ id: 'cat-fridge', data: { code: 'mine' } }),
  );
  expect(onRemote.code).toBe(2);
  expect(onRemote.stderr).toMatch(/edit\.oms-data-not-oms-central/);
  expect(onRemote.stderr).toMatch(/Asset Catalogue is configured only on the Open mSupply central server \(site 4/);

  const onCentral = await fetch(`${net.url}/admin/v1/records`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ records: [{ type: 'asset_catalogue_item', id: 'cat-fridge', data: { code: 'central' } }] }),
  });
  expect(onCentral.status).toBe(422);
  expect(((await onCentral.json()) as { error: { message: string } }).error.message).toMatch(/configured only on the Open mSupply central server \(site 4/);
  expect(await dataOf('south.sqlite', 'asset_catalogue_item', 'cat-fridge')).toEqual({ code: 'E003/040' });
}, 120_000);

it('the Open mSupply central down: the main sync goes on and reports it with the fix; its data waits and goes once it is back', async () => {
  await oms!.stop();
  await net.remote('south.sqlite', 'record', 'put', '--type', 'stock_line', '--json', JSON.stringify({ id: 'sl-1', storeId: 'S', data: { packs: 3 } }));
  await net.remote('south.sqlite', 'record', 'put', '--type', 'asset', '--json', JSON.stringify({ id: 'fridge-3', storeId: 'S', data: { model: 'TCW 3000' } }));
  const synced = await net.remoteRun('south.sqlite', 'sync');
  expect(synced.code).toBe(0);
  expect(synced.stdout).toMatch(/^pushed 1, /);
  expect(synced.stdout).toMatch(/Open mSupply central server: not synced: .*ECONNREFUSED/);
  const down = await status('south.sqlite');
  expect(down.waitingToPush).toBe(1);
  expect(down.omsCentral?.error).toMatch(/could not be synced with/);
  expect(down.omsCentral?.fix).toMatch(/sitesync-remote run --serve/);
  await net.remote('north.sqlite', 'sync');
  expect(await ids('north.sqlite', 'stock_line')).toEqual(['sl-1']);
  expect(await ids('north.sqlite', 'asset')).toEqual(['fridge-1']);

  oms = await serveOms(port);
  await net.remote('south.sqlite', 'sync');
  expect((await status('south.sqlite')).waitingToPush).toBe(0);
  await net.remote('north.sqlite', 'sync');
  expect(await ids('north.sqlite', 'asset')).toEqual(['fridge-1', 'fridge-3']);
}, 120_000);

it('a URL changed on the mSupply central is followed by both remotes at their next cycle', async () => {
  await oms!.stop();
  const moved = await freePort();
  await net.admin('site', 'set', '--site', '4', '--oms-central-url', `http://127.0.0.1:${moved}`);
  port = moved;
  oms = await serveOms(moved);
  await net.remote(
    'south.sqlite',
    'record',
    'put',
    '--type',
    'asset',
    '--json',
    JSON.stringify({ id: 'fridge-1', storeId: 'S', data: { model: 'TCW 40', status: 'repaired' } }),
  );
  for (const file of ['south.sqlite', 'north.sqlite']) {
    const out = await net.remote(file, 'sync');
    expect(out).toContain(`Open mSupply central server (http://127.0.0.1:${moved})`);
    const now = await status(file);
    expect(now.omsCentral).toMatchObject({ url: `http://127.0.0.1:${moved}`, error: null });
  }
  expect(await dataOf('north.sqlite', 'asset', 'fridge-1')).toEqual({ model: 'TCW 40', status: 'repaired' });
}, 120_000);

it('a URL that leads to another server: nothing is sent there, the sync goes on, the records wait for the right URL', async () => {
  const right = `http://127.0.0.1:${port}`;
  // an operator's slip: the mSupply central's own address
  await net.admin('site', 'set', '--site', '4', '--oms-central-url', net.url);
  await net.remote('south.sqlite', 'record', 'put', '--type', 'asset', '--json', JSON.stringify({ id: 'fridge-4', storeId: 'S', data: { model: 'TCW 4' } }));
  const synced = await net.remoteRun('south.sqlite', 'sync');
  expect(synced.code).toBe(0);
  expect(synced.stdout).toMatch(/Open mSupply central server: not synced: .*it is not an Open mSupply central server .*Nothing was sent to it/);
  const wrong = await status('south.sqlite');
  expect(wrong.waitingToPush).toBe(1);
  expect(wrong.omsCentral?.fix).toMatch(/sitesync-central site set --site 4 --oms-central-url URL/);

  await net.admin('site', 'set', '--site', '4', '--oms-central-url', right);
  expect(await net.remote('south.sqlite', 'sync')).toMatch(/Open mSupply central server \(http:\/\/127\.0\.0\.1:\d+\): pushed 1, pulled \d+, refused 0/);
  expect((await status('south.sqlite')).waitingToPush).toBe(0);
}, 120_000);

it('a store just given to a site: its assets are taken by the Open mSupply central at once (it asks the mSupply central for the topology first)', async () => {
  await net.admin('store', 'add', '--code', 'T', '--name', 'New health post', '--active-site', '2');
  // North learns it has T in its cycle and enters an asset for it; the Open mSupply central has not synced since
  await net.remote('north.sqlite', 'sync');
  await net.remote('north.sqlite', 'record', 'put', '--type', 'asset', '--json', JSON.stringify({ id: 'post-fridge', storeId: 'T', data: { model: 'SDD' } }));
  expect(await net.remote('north.sqlite', 'sync')).toMatch(/Open mSupply central server \(http:\/\/127\.0\.0\.1:\d+\): pushed 1, pulled \d+, refused 0/);
  await net.remote('oms.sqlite', 'sync');
  expect(await ids('oms.sqlite', 'asset')).toContain('post-fridge');
}, 120_000);
