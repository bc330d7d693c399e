import { explainIssueResponseSchema, explainRecordResponseSchema } from '@sitesync/http';
import { pushAsSite, useCentralProcess } from './cli-process';

/**
 * `sitesync-central explain` as an operator runs it (issue 13): the built binary against a central
 * process on embedded PGlite. North (site 2) runs store A, which South (site 3) collects; North
 * pushes a transaction of A and a stock line of South's store B (refused).
 */
const { admin, adminRun } = useCentralProcess('cli-explain', 'cli-explain-admin-token', async ({ admin, passwordFile, url }) => {
  for (const site of ['North', 'South']) await admin('site', 'add', '--name', site, '--password-file', passwordFile);
  await admin('store', 'add', '--code', 'A', '--name', 'North warehouse', '--active-site', '2');
  await admin('store', 'add', '--code', 'B', '--name', 'South hospital', '--active-site', '3');
  await admin('store', 'copy', '--store', 'A', '--site', '3', '--type', 'collector');
  const pushed = await pushAsSite(url, 'North', 'north-1', [
    { type: 'transaction', id: 'tx-a1', storeId: 'A', data: { kind: 'customer_invoice', status: 'new' } },
    { type: 'stock_line', id: 'sl-b1', storeId: 'B', data: { itemId: 'amox' } },
  ]);
  expect(pushed.status).toBe(200);
  expect(pushed.body).toMatchObject({ accepted: 1, refused: [{ code: 'edit.store-not-active-here' }] });
});

it('prints one line per site: receives and may edit, each with its rule', async () => {
  const out = await admin('explain', '--type', 'transaction', '--id', 'tx-a1');
  expect(out).toMatch(/^transaction tx-a1: .*store data; storeId A$/m);
  expect(out).toMatch(/^SITE\s+RECEIVES\s+RULE\s+MAY EDIT\s+RULE$/m);
  expect(out).toMatch(/^1 central\s+yes\s+store-to-collector\s+no\s+edit\.store-not-active-here$/m);
  expect(out).toMatch(/^2 North\s+yes\s+store-to-active-site\s+yes\s+store-on-active-site$/m);
  expect(out).toMatch(/^3 South\s+yes\s+store-to-collector\s+no\s+edit\.store-not-active-here$/m);
});

it('--json prints the API answer, with the reason of each decision', async () => {
  const answer = explainRecordResponseSchema.parse(JSON.parse(await admin('explain', '--type', 'transaction', '--id', 'tx-a1', '--json')));
  expect(answer.sites.map((s) => [s.siteId, s.receives, s.mayEdit])).toEqual([
    [1, true, false],
    [2, true, true],
    [3, true, false],
  ]);
  expect(answer.sites[2]!.reason).toMatch(/store A "North warehouse", which has a collector copy here/);
});

it('explains a refused push: the rule, the fix and who may send it', async () => {
  const out = await admin('explain', '--issue', 'quarantine:2:stock_line:sl-b1');
  expect(out).toMatch(/^refused from site 2 North: stock_line sl-b1$/m);
  expect(out).toMatch(/^rule: store-on-active-site \(edit\.store-not-active-here\): .*only the site where the store is active \(site 3 "South"\)/m);
  expect(out).toMatch(/^fix: Make this change on site 3 "South"/m);
  expect(out).toMatch(/^now: still refused \(edit\.store-not-active-here\)$/m);
  const answer = explainIssueResponseSchema.parse(JSON.parse(await admin('explain', '--issue', 'quarantine:2:stock_line:sl-b1', '--json')));
  expect(answer.quarantine).toMatchObject({ siteId: 2, editorSite: { siteId: 3, siteName: 'South' } });
});

it('exits 1 with a clear message for a record the central does not hold, and for missing options', async () => {
  const missing = await adminRun('explain', '--type', 'transaction', '--id', 'nope');
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/The central holds no transaction with id "nope"/);
  const noId = await adminRun('explain', '--type', 'transaction');
  expect(noId.code).toBe(1);
  expect(noId.stderr).toMatch(/give --type and --id/);
});
