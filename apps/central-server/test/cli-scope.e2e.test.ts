import { join } from 'node:path';
import { CENTRAL_MAIN, cli, ok, REMOTE_MAIN, startCliNetwork, type CliNetwork } from './cli-process';

/**
 * Scope changes as an operator meets them, with real processes only: `sitesync-central serve` on
 * embedded PGlite, its admin commands, and two `sitesync-remote` data files. A store moves from one
 * site to the other with its data; the old site drops it and may no longer edit it; a site
 * re-initialised from an empty file gets its records back.
 */
const TOKEN = 'cli-scope-admin-token';
const CENTRAL = CENTRAL_MAIN;
const REMOTE = REMOTE_MAIN;
const run = (main: string, args: string[]) => cli(main, args, { SITESYNC_ADMIN_TOKEN: TOKEN });
const okRun = async (main: string, args: string[]): Promise<string> => ok(run(main, args));

let dir: string;
let url: string;
let net: CliNetwork;

const admin = (...args: string[]) => okRun(CENTRAL, [...args, '--url', url]);
const remote = (file: string, ...args: string[]) => okRun(REMOTE, ['--data', join(dir, file), ...args]);
const ids = async (file: string, type: string): Promise<string[]> =>
  (JSON.parse(await remote(file, 'record', 'list', '--type', type)) as { id: string }[]).map((r) => r.id).sort();

beforeAll(async () => {
  net = await startCliNetwork('cli-scope', TOKEN, async (admin) => {
    await admin('store', 'add', '--code', 'M', '--name', 'Moving store', '--active-site', '2');
    await admin('store', 'add', '--code', 'S', '--name', 'South store', '--active-site', '3');
  });
  dir = net.dir;
  url = net.url;
}, 60_000);

afterAll(() => net.stop());

const stock = (id: string, storeId: string, packs = 1) => JSON.stringify({ id, storeId, data: { itemId: 'bcg', packs } });

it('a store moved with `store move` ends with all its data on the new site; the old site drops it and may no longer edit it', async () => {
  await remote('north.sqlite', 'record', 'put', '--type', 'stock_line', '--json', `[${stock('m-1', 'M')},${stock('m-2', 'M')}]`);
  await remote('north.sqlite', 'sync');
  await remote('south.sqlite', 'sync');
  expect(await ids('south.sqlite', 'stock_line')).toEqual([]);
  const sites = JSON.parse(await admin('site', 'list', '--json')) as { id: number; waiting: number | null }[];
  expect(sites.find((s) => s.id === 2)?.waiting).toBe(0);

  const moved = JSON.parse(await admin('store', 'move', '--store', 'M', '--to-site', '3', '--old-site-copy', 'none', '--json')) as {
    store: { activeSiteId: number };
    queued: Record<string, number>;
  };
  expect(moved.store.activeSiteId).toBe(3);
  expect(moved.queued['3']).toBeGreaterThanOrEqual(2);

  await remote('south.sqlite', 'sync');
  await remote('north.sqlite', 'sync');
  expect(await ids('south.sqlite', 'stock_line')).toEqual(['m-1', 'm-2']);
  expect(await ids('north.sqlite', 'stock_line')).toEqual([]);

  const refused = await run(REMOTE, ['--data', join(dir, 'north.sqlite'), 'record', 'put', '--type', 'stock_line', '--json', stock('m-3', 'M')]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/edit\.store-not-active-here/);
  // a remote knows other sites by id only (site info privacy): the message names the site by its id
  expect(refused.stderr).toMatch(/site 3 "site 3"/);
  // the new site edits it; the old one does not see it
  await remote('south.sqlite', 'record', 'put', '--type', 'stock_line', '--json', stock('m-1', 'M', 5));
  await remote('south.sqlite', 'sync');
  await remote('north.sqlite', 'sync');
  expect(await ids('north.sqlite', 'stock_line')).toEqual([]);
}, 120_000);

it('`init --reinitialise` is refused while changes wait to be pushed, then gives the site all its records back from the central', async () => {
  await remote('south.sqlite', 'record', 'put', '--type', 'stock_line', '--json', stock('s-1', 'S'));
  const waiting = await run(REMOTE, ['--data', join(dir, 'south.sqlite'), 'init', '--reinitialise']);
  expect(waiting.code).toBe(1);
  expect(waiting.stderr).toMatch(/1 changes .* have not been pushed/);

  await remote('south.sqlite', 'sync');
  const before = { stock: await ids('south.sqlite', 'stock_line'), stores: await ids('south.sqlite', 'store') };
  expect(before.stock).toEqual(['m-1', 'm-2', 's-1']);
  const out = await remote('south.sqlite', 'init', '--reinitialise');
  expect(out).toMatch(/previous data file is kept as .*before-reinitialise/);
  expect(await ids('south.sqlite', 'stock_line')).toEqual([]);
  await remote('south.sqlite', 'sync');
  expect({ stock: await ids('south.sqlite', 'stock_line'), stores: await ids('south.sqlite', 'store') }).toEqual(before);
  const packs = (JSON.parse(await remote('south.sqlite', 'record', 'list', '--type', 'stock_line')) as { id: string; data: { packs: number } }[]).find(
    (r) => r.id === 'm-1',
  );
  expect(packs?.data.packs).toBe(5);
}, 120_000);
