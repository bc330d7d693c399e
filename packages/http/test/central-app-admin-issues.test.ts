import { customerInvoice, recordsOf, storeRecord } from '@sitesync/testkit';
import request from 'supertest';
import { adminIssuesResponseSchema, errorBodySchema, issueRetryResponseSchema, syncIssueSchema } from '../src/index';
import { adminHeaders, createTestCentral, headersOf, REMOTE1, type TestCentral } from './central-test-setup';

const errorOf = (body: unknown) => errorBodySchema.parse(body).error;

async function issuesOf(central: TestCentral, query = '') {
  return adminIssuesResponseSchema.parse((await request(central.app).get(`/admin/v1/issues${query}`).set(adminHeaders).expect(200)).body).issues;
}

/** A push of REMOTE1 with a stock line of store D, active on REMOTE2: refused and kept with the record. */
async function refusedPush(central: TestCentral) {
  const record = storeRecord('stock_line', 'D', { quantity: 7 }, 'sl-d-1');
  const res = await request(central.app)
    .post('/sync/v1/push')
    .set(headersOf(REMOTE1))
    .send({ batchId: 'b-1', records: [record] });
  expect(res.body).toMatchObject({ accepted: 0, refused: [{ recordId: 'sl-d-1', code: 'edit.store-not-active-here' }] });
  return { record, key: `quarantine:${REMOTE1}:stock_line:sl-d-1` };
}

describe('central app: the issue log (filter, acknowledge, retry)', () => {
  it('lists a refused record with its site, identity and retryability; filters by code and acknowledgement', async () => {
    const central = await createTestCentral();
    const { key } = await refusedPush(central);
    const [issue] = await issuesOf(central);
    expect(issue).toMatchObject({
      key,
      siteId: REMOTE1,
      retryable: true,
      acknowledgedAt: null,
      record: { type: 'stock_line', id: 'sl-d-1', storeId: 'D', deleted: false },
      violation: { code: 'edit.store-not-active-here' },
    });
    expect(await issuesOf(central, '?code=edit.store-not-active-here')).toHaveLength(1);
    expect(await issuesOf(central, '?code=push.local-data')).toHaveLength(0);
    expect(await issuesOf(central, '?acknowledged=true')).toHaveLength(0);

    const acknowledged = syncIssueSchema.parse(
      (await request(central.app).post('/admin/v1/issues/acknowledge').set(adminHeaders).send({ key }).expect(200)).body,
    );
    expect(acknowledged).toMatchObject({ key, acknowledgedBy: 'startup' });
    expect(acknowledged.acknowledgedAt).toEqual(central.clock.now());
    expect((await issuesOf(central, '?acknowledged=true')).map((i) => i.key)).toEqual([key]);
    expect(await issuesOf(central, '?acknowledged=false')).toHaveLength(0);

    const wrong = await request(central.app).get('/admin/v1/issues?acknowledged=maybe').set(adminHeaders);
    expect(wrong.status).toBe(400);
    expect(JSON.stringify(errorOf(wrong.body).data)).toContain('acknowledged');
  });

  it('retries a refused record: still refused while the cause stands (reason given, nothing stored), stored as the site sent it once the cause is fixed', async () => {
    const central = await createTestCentral();
    const { record, key } = await refusedPush(central);

    const still = issueRetryResponseSchema.parse((await request(central.app).post('/admin/v1/issues/retry').set(adminHeaders).send({ key }).expect(200)).body);
    expect(still).toMatchObject({ key, outcome: 'still-refused', violation: { code: 'edit.store-not-active-here' } });
    expect(await central.storage.storage.records.get('stock_line', 'sl-d-1')).toBeNull();
    expect((await issuesOf(central))[0]).toMatchObject({ key, occurrences: 1 });

    // the admin moves store D to the site that sent the record
    await request(central.app).post('/admin/v1/stores/D/move').set(adminHeaders).send({ toSiteId: REMOTE1, force: true }).expect(200);
    const done = issueRetryResponseSchema.parse((await request(central.app).post('/admin/v1/issues/retry').set(adminHeaders).send({ key }).expect(200)).body);
    expect(done).toEqual({ key, outcome: 'resolved' });
    expect(await central.storage.storage.records.get('stock_line', 'sl-d-1')).toMatchObject({ storeId: 'D', data: record.data });
    expect(await issuesOf(central)).toHaveLength(0);

    const gone = await request(central.app).post('/admin/v1/issues/retry').set(adminHeaders).send({ key });
    expect(gone.status).toBe(404);
    expect(errorOf(gone.body).message).toContain('no open issue');
  });

  it('retries a transfer the central could not complete by running the processing again: still open while the copy is missing', async () => {
    const central = await createTestCentral();
    const invoice = customerInvoice({ id: 'ci-B-D-1', from: 'B', to: 'D' });
    await request(central.app)
      .post('/sync/v1/push')
      .set(headersOf(REMOTE1))
      .send({ batchId: 'b-1', records: recordsOf(invoice) })
      .expect(200);
    const [issue] = await issuesOf(central, '?prefix=transaction:');
    expect(issue).toMatchObject({ key: 'transaction:ci-B-D-1', retryable: true, siteId: null, violation: { code: 'transfer.store-has-no-copy' } });
    const retried = issueRetryResponseSchema.parse(
      (await request(central.app).post('/admin/v1/issues/retry').set(adminHeaders).send({ key: issue!.key }).expect(200)).body,
    );
    expect(retried).toMatchObject({ outcome: 'still-open', violation: { code: 'transfer.store-has-no-copy' } });
  });

  it('refuses a view-only token on acknowledge and retry, and an empty key with the field named', async () => {
    const central = await createTestCentral();
    const { key } = await refusedPush(central);
    const viewer = (await request(central.app).post('/admin/v1/tokens').set(adminHeaders).send({ role: 'viewer', label: 'v' })).body as { token: string };
    for (const path of ['/admin/v1/issues/acknowledge', '/admin/v1/issues/retry']) {
      const res = await request(central.app)
        .post(path)
        .set({ authorization: `Bearer ${viewer.token}` })
        .send({ key });
      expect(res.status).toBe(403);
      expect(errorOf(res.body).code).toBe('forbidden');
    }
    expect((await issuesOf(central))[0]).toMatchObject({ acknowledgedAt: null });
    const empty = await request(central.app).post('/admin/v1/issues/retry').set(adminHeaders).send({ key: '' });
    expect(empty.status).toBe(400);
    expect(JSON.stringify(errorOf(empty.body).data)).toContain('key');
  });
});
