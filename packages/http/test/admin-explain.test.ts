import type { SyncRecord } from '@sitesync/domain';
import request from 'supertest';
import { errorBodySchema, explainIssueResponseSchema, explainRecordResponseSchema, issuedTokenSchema, pushResponseSchema } from '../src/index';
import { adminHeaders, CENTRAL, createTestCentral, headersOf, REMOTE1, REMOTE2, type TestCentral } from './central-test-setup';

const errorOf = (body: unknown) => errorBodySchema.parse(body).error;

async function push(central: TestCentral, siteId: number, batchId: string, records: readonly SyncRecord[]) {
  const res = await request(central.app).post('/sync/v1/push').set(headersOf(siteId)).send({ batchId, records });
  expect(res.status).toBe(200);
  return pushResponseSchema.parse(res.body);
}

async function writeOnCentral(central: TestCentral, records: readonly SyncRecord[]) {
  await request(central.app).post('/admin/v1/records').set(adminHeaders).send({ records }).expect(200);
}

async function explain(central: TestCentral, type: string, id: string, headers: Record<string, string> = adminHeaders) {
  const res = await request(central.app)
    .get(`/admin/v1/records/${encodeURIComponent(type)}/${encodeURIComponent(id)}/explain`)
    .set(headers);
  expect(res.status).toBe(200);
  return explainRecordResponseSchema.parse(res.body);
}

/** Per site id: [receives, rule, mayEdit, editRule]. */
const decisions = (explained: { sites: readonly { siteId: number; receives: boolean; rule: string; mayEdit: boolean; editRule: string }[] }) =>
  Object.fromEntries(explained.sites.map((s) => [s.siteId, [s.receives, s.rule, s.mayEdit, s.editRule]]));

describe('GET /admin/v1/records/:type/:id/explain', () => {
  it("a store's transaction: received by the store's site and the central, edited only by the store's site", async () => {
    const central = await createTestCentral();
    const tx: SyncRecord = { type: 'transaction', id: 'tx-d1', storeId: 'D', data: { kind: 'customer_invoice', status: 'new' } };
    expect(await push(central, REMOTE2, 'b-1', [tx])).toMatchObject({ accepted: 1, refused: [] });

    const explained = await explain(central, 'transaction', 'tx-d1');
    expect(explained.record).toMatchObject({ type: 'transaction', id: 'tx-d1', storeId: 'D', otherPartyStoreId: null, category: 'store', deleted: false });
    expect(decisions(explained)).toEqual({
      [CENTRAL]: [true, 'store-to-collector', false, 'edit.store-not-active-here'],
      [REMOTE1]: [false, 'store-withheld', false, 'edit.store-not-active-here'],
      [REMOTE2]: [true, 'store-to-active-site', true, 'store-on-active-site'],
    });
    const remote1 = explained.sites.find((s) => s.siteId === REMOTE1)!;
    expect(remote1).toMatchObject({ siteName: 'Remote site 1', reason: expect.stringMatching(/goes only to sites holding a collector copy/) });
    expect(remote1.editFix).toMatch(/Make this change on site 3 "Remote site 2"/);
    expect(explained.problems).toEqual([]);
  });

  it('a central-data item: received by every site, edited only on the central (the primary)', async () => {
    const central = await createTestCentral();
    await writeOnCentral(central, [{ type: 'item', id: 'amox', data: { name: 'Amoxicillin' } }]);
    expect(decisions(await explain(central, 'item', 'amox'))).toEqual({
      [CENTRAL]: [true, 'central-to-all', true, 'central-on-primary'],
      [REMOTE1]: [true, 'central-to-all', false, 'edit.central-data-not-primary'],
      [REMOTE2]: [true, 'central-to-all', false, 'edit.central-data-not-primary'],
    });
  });

  it('a record of a store with a collector copy on another site: that site receives it and may not edit it', async () => {
    const central = await createTestCentral();
    await writeOnCentral(central, [{ type: 'stock_line', id: 'sl-a1', storeId: 'A', data: { itemId: 'amox' } }]);
    const explained = await explain(central, 'stock_line', 'sl-a1');
    expect(decisions(explained)).toEqual({
      [CENTRAL]: [true, 'store-to-active-site', true, 'store-on-active-site'],
      [REMOTE1]: [true, 'store-to-collector', false, 'edit.store-not-active-here'],
      [REMOTE2]: [false, 'store-withheld', false, 'edit.store-not-active-here'],
    });
    expect(explained.sites.find((s) => s.siteId === REMOTE1)!.reason).toMatch(/store A "Store A", which has a collector copy here/);
  });

  it('patient data: routed by the visibility records the central holds, as a pull routes it', async () => {
    const central = await createTestCentral();
    await request(central.app)
      .post('/admin/v1/stores')
      .set(adminHeaders)
      .send({ code: 'G', name: 'Dispensary G', activeSiteId: REMOTE2, isDispensary: true })
      .expect(201);
    const patient: SyncRecord = { type: 'patient', id: 'pat-1', patientId: 'p1', homeStoreId: 'G', data: { name: 'One' } };
    expect(await push(central, REMOTE2, 'b-p', [patient])).toMatchObject({ accepted: 1 });
    const before = (await explain(central, 'patient', 'pat-1')).sites.find((s) => s.siteId === REMOTE1);
    expect(before).toMatchObject({ receives: false, rule: 'patient-withheld' });

    // made visible in store B (active on remote site 1): now it goes there
    await writeOnCentral(central, [{ type: 'name_store_join', id: 'nsj-p1-B', storeId: 'B', patientId: 'p1', data: {} }]);
    const after = await explain(central, 'patient', 'pat-1');
    expect(after.sites.find((s) => s.siteId === REMOTE1)).toMatchObject({ receives: true, rule: 'patient-to-visible-stores' });
    expect(after.sites.find((s) => s.siteId === REMOTE2)).toMatchObject({ receives: true, mayEdit: true, editRule: 'patient-on-home-site' });
    const pulled = await request(central.app).post('/sync/v1/pull').set(headersOf(REMOTE1)).send({ cursor: '0', limit: 100 }).expect(200);
    expect((pulled.body as { records: SyncRecord[] }).records.map((r) => r.id)).toContain('pat-1');
  });

  it('404 not_found, with what to check, for a record the central does not hold or a type not in the catalogue', async () => {
    const central = await createTestCentral();
    const missing = await request(central.app).get('/admin/v1/records/transaction/nope/explain').set(adminHeaders);
    expect(missing.status).toBe(404);
    expect(errorOf(missing.body)).toMatchObject({ code: 'not_found', data: { type: 'transaction', id: 'nope' } });
    expect(errorOf(missing.body).message).toMatch(/The central holds no transaction with id "nope"/);
    const unknown = await request(central.app).get('/admin/v1/records/widget/w-1/explain').set(adminHeaders);
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown.body).message).toMatch(/"widget" is not a record type of the catalogue/);
  });

  it('needs an admin token, and a view-only token may read it', async () => {
    const central = await createTestCentral();
    await writeOnCentral(central, [{ type: 'item', id: 'amox', data: {} }]);
    expect((await request(central.app).get('/admin/v1/records/item/amox/explain')).status).toBe(401);
    const viewer = issuedTokenSchema.parse(
      (await request(central.app).post('/admin/v1/tokens').set(adminHeaders).send({ role: 'viewer', label: 'support' }).expect(201)).body,
    );
    const bearer = { authorization: `Bearer ${viewer.token}` };
    expect((await explain(central, 'item', 'amox', bearer)).sites).toHaveLength(3);
    await push(central, REMOTE1, 'b-v', [{ type: 'log', id: 'log-1', data: {} }]);
    expect((await request(central.app).get('/admin/v1/issues/explain').query({ key: 'quarantine:2:log:log-1' }).set(bearer)).status).toBe(200);
  });
});

describe('GET /admin/v1/issues/explain?key=', () => {
  it('a refused push: the site, the rule (id, code and text), the message, the fix, and who may send it', async () => {
    const central = await createTestCentral();
    const line: SyncRecord = { type: 'stock_line', id: 'sl-d9', storeId: 'D', data: { itemId: 'amox' } };
    expect((await push(central, REMOTE1, 'b-q', [line])).refused).toEqual([expect.objectContaining({ code: 'edit.store-not-active-here' })]);

    const res = await request(central.app).get('/admin/v1/issues/explain').query({ key: 'quarantine:2:stock_line:sl-d9' }).set(adminHeaders);
    expect(res.status).toBe(200);
    const explained = explainIssueResponseSchema.parse(res.body);
    expect(explained).toMatchObject({
      key: 'quarantine:2:stock_line:sl-d9',
      kind: 'quarantine',
      occurrences: 1,
      violation: { code: 'edit.store-not-active-here' },
    });
    const q = explained.quarantine!;
    expect(q).toMatchObject({
      siteId: REMOTE1,
      siteName: 'Remote site 1',
      recordType: 'stock_line',
      recordId: 'sl-d9',
      rule: 'store-on-active-site',
      code: 'edit.store-not-active-here',
      editorSite: { siteId: REMOTE2, siteName: 'Remote site 2' },
    });
    expect(q.ruleText).toMatch(/only the site where the store is active \(site 3 "Remote site 2"\) may edit it/);
    expect(q.message).toMatch(/site 2 "Remote site 1" may not edit/);
    expect(q.fix).toMatch(/Make this change on site 3 "Remote site 2"/);
    expect(q.needed.length).toBeGreaterThan(0);
    // the issue log keeps the refused record: its routing is explained for every site and the check run again now
    expect(q.subject!.sites.filter((s) => s.mayEdit).map((s) => s.siteId)).toEqual([REMOTE2]);
    expect(q.now).toMatchObject({ refused: true, code: 'edit.store-not-active-here' });
    expect(q.needed).toContain('Only site 3 "Remote site 2" may send stock_line sl-d9 (store-on-active-site).');

    // store D moved to remote site 1: the same record would now be kept
    await request(central.app).post('/admin/v1/stores/D/move').set(adminHeaders).send({ toSiteId: REMOTE1, oldSiteCopy: 'none', force: true }).expect(200);
    const moved = explainIssueResponseSchema.parse(
      (await request(central.app).get('/admin/v1/issues/explain').query({ key: 'quarantine:2:stock_line:sl-d9' }).set(adminHeaders).expect(200)).body,
    );
    expect(moved.quarantine!.now).toEqual({ refused: false });
    expect(moved.quarantine!.needed[0]).toMatch(/would keep stock_line sl-d9 from site 2 "Remote site 1" now/);
  });

  it('a record the central does not keep (store F has only a transfer copy there): the routing rule that leaves it out', async () => {
    const central = await createTestCentral();
    await push(central, REMOTE1, 'b-f', [{ type: 'stock_line', id: 'sl-f1', storeId: 'F', data: {} }]);
    const q = explainIssueResponseSchema.parse(
      (await request(central.app).get('/admin/v1/issues/explain').query({ key: 'quarantine:2:stock_line:sl-f1' }).set(adminHeaders).expect(200)).body,
    ).quarantine!;
    expect(q).toMatchObject({ rule: 'push.not-kept-on-central', editorSite: null, now: { refused: true, code: 'push.not-kept-on-central' } });
    expect(q.fix).toMatch(/give the store a collector copy on site 1 "Sync server"/);
    expect(q.subject!.sites.find((s) => s.siteId === CENTRAL)).toMatchObject({ receives: false, rule: 'store-withheld' });
  });

  it('404 for a key that is no open issue, 400 without a key', async () => {
    const central = await createTestCentral();
    const res = await request(central.app).get('/admin/v1/issues/explain').query({ key: 'quarantine:2:stock_line:none' }).set(adminHeaders);
    expect(res.status).toBe(404);
    expect(errorOf(res.body)).toMatchObject({ code: 'not_found', data: { key: 'quarantine:2:stock_line:none' } });
    expect(errorOf(res.body).message).toMatch(/no open issue with key/);
    const none = await request(central.app).get('/admin/v1/issues/explain').set(adminHeaders);
    expect(none.status).toBe(400);
    expect(errorOf(none.body)).toMatchObject({ code: 'validation_failed', message: expect.stringMatching(/key/) });
  });

  it('any other issue: its violation, and no quarantine part', async () => {
    const central = await createTestCentral();
    const violation = { code: 'transfer.store-has-no-copy', rule: 'both stores of a transfer exist on both sites', message: 'no copy', fix: 'give one' };
    await central.storage.storage.issues.report('transfer:transaction:ci-1', violation, new Date('2025-01-01T00:00:00Z'));
    const res = await request(central.app).get('/admin/v1/issues/explain').query({ key: 'transfer:transaction:ci-1' }).set(adminHeaders);
    expect(explainIssueResponseSchema.parse(res.body)).toMatchObject({ kind: 'transfer', violation, quarantine: null });
  });
});
