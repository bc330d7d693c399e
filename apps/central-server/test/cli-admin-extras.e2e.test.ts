import { CENTRAL_MAIN, cli, ok, pushAsSite, useCentralProcess } from './cli-process';

/**
 * The issue log, the report and the tokens as an operator uses them (issue 13): the built
 * `sitesync-central` against a central process. North (site 2) pushes a stock line of South's store
 * B: refused, kept, then retried after the admin moves B to North.
 */
const TOKEN = 'cli-admin-extras-token';
const KEY = 'quarantine:2:stock_line:sl-b1';
const central = useCentralProcess('cli-extras', TOKEN, async ({ admin, passwordFile, url }) => {
  for (const site of ['North', 'South']) await admin('site', 'add', '--name', site, '--password-file', passwordFile);
  await admin('store', 'add', '--code', 'A', '--name', 'North warehouse', '--active-site', '2');
  await admin('store', 'add', '--code', 'B', '--name', 'South hospital', '--active-site', '3');
  const pushed = await pushAsSite(url, 'North', 'north-1', [{ type: 'stock_line', id: 'sl-b1', storeId: 'B', data: { itemId: 'amox' } }]);
  expect(pushed.body.refused).toHaveLength(1);
});
const run = (token: string, ...args: string[]) => cli(CENTRAL_MAIN, [...args, '--url', central.url], { SITESYNC_ADMIN_TOKEN: token });
const { admin } = central;

it('filters, acknowledges and retries an issue: exit 3 while still refused, 0 once resolved', async () => {
  const listed = JSON.parse(await admin('issues', '--code', 'edit.store-not-active-here', '--json')) as { key: string; retryable: boolean }[];
  expect(listed).toEqual([expect.objectContaining({ key: KEY, retryable: true })]);
  expect(JSON.parse(await admin('issues', '--acknowledged', 'yes', '--json'))).toEqual([]);
  expect(JSON.parse(await admin('issue', 'acknowledge', '--key', KEY, '--json'))).toMatchObject({ key: KEY, acknowledgedBy: 'startup' });

  const still = await run(TOKEN, 'issue', 'retry', '--key', KEY, '--json');
  expect(still.code).toBe(3);
  expect(JSON.parse(still.stdout)).toMatchObject({ outcome: 'still-refused', violation: { code: 'edit.store-not-active-here' } });

  await admin('store', 'move', '--store', 'B', '--to-site', '2', '--force');
  expect(JSON.parse(await admin('issue', 'retry', '--key', KEY, '--json'))).toEqual({ key: KEY, outcome: 'resolved' });
  const gone = await run(TOKEN, 'issue', 'retry', '--key', KEY);
  expect(gone.code).toBe(1);
  expect(gone.stderr).toContain('no open issue');
});

it('prints the sync report, and a view-only token reads it but is refused a change with the reason', async () => {
  const report = JSON.parse(await admin('report', '--json')) as { sites: { siteId: number; stale: boolean }[]; staleAfterDays: number };
  expect(report.staleAfterDays).toBe(30);
  expect(report.sites.find((s) => s.siteId === 3)).toMatchObject({ stale: true });

  const viewer = JSON.parse(await admin('token', 'issue', '--role', 'viewer', '--label', 'district', '--json')) as { id: string; token: string };
  expect(JSON.parse(await ok(run(viewer.token, 'report', '--json'))).sites).toHaveLength(3);
  const refused = await run(viewer.token, 'site', 'unblock', '--site', '2');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('view-only');

  const rotated = JSON.parse(await admin('token', 'rotate', '--id', viewer.id, '--json')) as { token: string };
  expect((await run(viewer.token, 'report')).code).toBe(1);
  expect((await run(rotated.token, 'report')).code).toBe(0);
  await admin('token', 'revoke', '--id', viewer.id);
  expect((JSON.parse(await admin('token', 'list', '--json')) as { id: string }[]).map((t) => t.id)).toEqual(['startup']);
});
