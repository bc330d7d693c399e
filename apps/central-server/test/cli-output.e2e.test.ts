import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdminClient } from '@sitesync/http';
import { useCentralProcess } from './cli-process';

/**
 * What `sitesync-central` prints (issue 13): tables and key-value blocks by default, the API's JSON
 * with `--json`, and progress on stderr only (never on stdout), with `--progress` when stderr is not
 * a terminal (as here).
 */
const TOKEN = 'cli-output-token';
const ITEMS = 1200;
const fixture = useCentralProcess('cli-output', TOKEN, async ({ admin, passwordFile, url }) => {
  await admin('site', 'add', '--name', 'North', '--password-file', passwordFile);
  await admin('store', 'add', '--code', 'A', '--name', 'North warehouse', '--active-site', '2');
  const client = new AdminClient({ baseUrl: url, adminToken: TOKEN });
  const items = Array.from({ length: ITEMS }, (_, i) => ({ type: 'item', id: `item-${i}`, data: { name: `Item ${i}` } }));
  for (let i = 0; i < items.length; i += 500) await client.putRecords(items.slice(i, i + 500));
});
const { admin, adminRun } = fixture;

it('lists as aligned tables, a never-synced site marked STALE; --json prints the API answer', async () => {
  const sites = await admin('site', 'list');
  expect(sites).toMatch(/^ID +NAME +CODE +TYPE +ROLES +APP +LAST CONNECTED +LAST SYNCED +WAITING +STATE$/m);
  expect(sites).toMatch(/^1 +central +CENTRAL +desktop +central, primary +- +never +never +- +-$/m);
  expect(sites).toMatch(/^2 +North +2 +desktop +- +- +never +never +\d+ +STALE$/m);
  const header = sites.split('\n')[0]!;
  for (const line of sites.split('\n').slice(1, 3)) expect(line.indexOf('desktop')).toBe(header.indexOf('TYPE'));
  expect((JSON.parse(await admin('site', 'list', '--json')) as { id: number; stale: boolean }[]).map((s) => [s.id, s.stale])).toEqual([
    [1, false],
    [2, true],
  ]);

  expect(await admin('store', 'list')).toMatch(/^A +A +North warehouse +site 2 +1 collector +transactions$/m);
  const report = await admin('report');
  expect(report).toMatch(/^2 sites \(1 stale\), 1 store \(1 stale\)$/m);
  expect(report).toMatch(/^2 +North +never +never +\d+ +STALE$/m);
  expect(report).toMatch(/^A +A +North warehouse +2 North +never +STALE$/m);
  expect(await admin('issues')).toBe('no open issues\n');
  expect(JSON.parse(await admin('issues', '--json'))).toEqual([]);
  expect(await admin('token', 'list')).toMatch(/^startup +admin +/m);
  expect(await admin('whoami')).toBe('role:      admin\ntoken id:  startup\n');
  expect(JSON.parse(await admin('whoami', '--json'))).toEqual({ role: 'admin', tokenId: 'startup' });
});

it('prints one thing as a key-value block', async () => {
  const moved = await admin('store', 'set', '--store', 'A', '--name', 'North depot');
  expect(moved).toMatch(/^store: +A North depot$/m);
  expect(moved).toMatch(/^copies: +1 collector$/m);
  const issued = await admin('token', 'issue', '--role', 'viewer', '--label', 'auditor');
  expect(issued).toMatch(/^secret: +\S{20,}$/m);
  expect(issued).toContain('shown only now');
});

it('site export: progress on stderr with --progress (records written, then the checked total), the summary alone on stdout', async () => {
  const out = join(fixture.dir, 'north.ndjson');
  const quiet = await adminRun('site', 'export', '--site', '2', '--out', out);
  expect(quiet.code).toBe(0);
  expect(quiet.stderr).toBe(''); // stderr is not a terminal: no progress unless asked
  expect(quiet.stdout).toMatch(new RegExp(`^records: +${ITEMS}$`, 'm'));

  const shown = await adminRun('site', 'export', '--site', '2', '--out', out, '--progress', '--json');
  expect(shown.code).toBe(0);
  expect(JSON.parse(shown.stdout)).toMatchObject({ siteId: 2, siteName: 'North', records: ITEMS, file: out });
  expect(shown.stderr).toMatch(new RegExp(`^site export: ${ITEMS} records written and checked \\(count and checksum\\), [\\d.]+ MB$`, 'm'));
  expect(readFileSync(out, 'utf8').trimEnd().split('\n')).toHaveLength(ITEMS + 2);
});
