import { gzipSync } from 'node:zlib';
import { CentralService, type SyncRecord } from '@sitesync/domain';
import { centralRecord, createInMemoryStorage, storeRecord } from '@sitesync/testkit';
import request from 'supertest';
import { MAX_FAILED_LOGINS } from '@sitesync/domain';
import { errorBodySchema, pullResponseSchema, pushResponseSchema, statusResponseSchema } from '../src/index';
import {
  adminHeaders,
  CENTRAL,
  createTestCentral,
  headersOf,
  passwordOf,
  REMOTE1,
  REMOTE2,
  siteHeaders,
  SITE_NAMES,
  testHasher,
  type TestCentral,
} from './central-test-setup';

function errorOf(body: unknown): { code: string; message: string; data?: unknown } {
  return errorBodySchema.parse(body).error;
}

async function push(central: TestCentral, siteId: number, batchId: string, records: readonly SyncRecord[]) {
  return request(central.app).post('/sync/v1/push').set(headersOf(siteId)).send({ batchId, records });
}

async function pullAll(central: TestCentral, siteId: number, limit: number, from = '0') {
  const records: SyncRecord[] = [];
  const remainings: number[] = [];
  let cursor = from;
  for (let page = 0; page < 100; page += 1) {
    const res = await request(central.app).post('/sync/v1/pull').set(headersOf(siteId)).send({ cursor, limit });
    expect(res.status).toBe(200);
    const body = pullResponseSchema.parse(res.body);
    records.push(...body.records);
    remainings.push(body.remaining);
    cursor = body.nextCursor;
    if (body.remaining === 0) break;
  }
  return { records, remainings, cursor };
}

describe('central app: health and errors', () => {
  it('answers /health without auth', async () => {
    const central = await createTestCentral();
    const res = await request(central.app).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('answers unknown routes with a JSON not_found error', async () => {
    const central = await createTestCentral();
    const res = await request(central.app).get('/nowhere');
    expect(res.status).toBe(404);
    expect(errorOf(res.body).code).toBe('not_found');
  });

  it('answers 503 not_initialised on sync and admin routes before a topology exists', async () => {
    const central = await createTestCentral({}, { initialised: false });
    const sync = await request(central.app).get('/sync/v1/site').set(siteHeaders('Remote site 1', 'x'));
    expect(sync.status).toBe(503);
    expect(errorOf(sync.body).code).toBe('not_initialised');
    const admin = await request(central.app).post('/admin/v1/sites').set(adminHeaders).send({ name: 'New', password: 'pw' });
    expect(admin.status).toBe(503);
    expect(errorOf(admin.body).code).toBe('not_initialised');
  });

  it('turns an unexpected error into 500 internal with a correlation id, logged', async () => {
    const inner = createInMemoryStorage();
    const central = await createTestCentral({ storage: { storage: inner.storage, run: () => Promise.reject(new Error('disk on fire')) } });
    // the topology lives in the storage the app was given
    const seeded = await createTestCentral();
    await inner.storage.topology.save(await seeded.topology());
    await inner.storage.topology.setPasswordHash(REMOTE1, (await seeded.storage.storage.topology.passwordHash(REMOTE1))!);
    const res = await request(central.app).post('/sync/v1/push').set(headersOf(REMOTE1)).send({ batchId: 'b', records: [] });
    expect(res.status).toBe(500);
    const error = errorOf(res.body);
    expect(error.code).toBe('internal');
    expect(error.message).not.toContain('disk on fire');
    const { correlationId } = error.data as { correlationId: string };
    expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(central.logger.error).toHaveBeenCalledWith(expect.objectContaining({ correlationId, err: expect.any(Error) }), expect.any(String));
  });
});

describe('central app: site authentication', () => {
  it('refuses a request without credentials with 401 auth_required', async () => {
    const central = await createTestCentral();
    const res = await request(central.app).get('/sync/v1/site');
    expect(res.status).toBe(401);
    expect(errorOf(res.body).code).toBe('auth_required');
    expect(res.headers['www-authenticate']).toContain('Basic');
  });

  it('answers a wrong password and an unknown site name alike, and counts failures', async () => {
    const central = await createTestCentral();
    const wrong = await request(central.app).get('/sync/v1/site').set(siteHeaders('Remote site 1', 'not the password'));
    const unknown = await request(central.app).get('/sync/v1/site').set(siteHeaders('No such site', 'whatever'));
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(errorOf(wrong.body)).toEqual(errorOf(unknown.body));
    expect(errorOf(wrong.body).code).toBe('site_auth_failed');
    expect((await central.topology()).site(REMOTE1)!.failedLoginCount).toBe(1);

    // a success resets the counter
    const ok = await request(central.app).get('/sync/v1/site').set(headersOf(REMOTE1));
    expect(ok.status).toBe(200);
    expect((await central.topology()).site(REMOTE1)!.failedLoginCount).toBe(0);
  });

  it('blocks the site on the 5th failure in a row (answered like the others), refuses even the right password until an admin unblocks it', async () => {
    const central = await createTestCentral();
    const bad = siteHeaders('Remote site 1', 'nope');
    for (let i = 1; i < MAX_FAILED_LOGINS; i += 1) {
      const res = await request(central.app).get('/sync/v1/site').set(bad);
      expect(res.status).toBe(401);
      expect(errorOf(res.body).code).toBe('site_auth_failed');
    }
    // The attempt that blocks the site answers like any wrong password: only the right password learns the site is blocked.
    const fifth = await request(central.app).get('/sync/v1/site').set(bad);
    expect(fifth.status).toBe(401);
    expect(errorOf(fifth.body).code).toBe('site_auth_failed');
    expect((await central.topology()).site(REMOTE1)).toMatchObject({ blocked: true });
    const wrongAgain = await request(central.app).get('/sync/v1/site').set(bad);
    expect(errorOf(wrongAgain.body).code).toBe('site_auth_failed');

    const right = await request(central.app).get('/sync/v1/site').set(headersOf(REMOTE1));
    expect(right.status).toBe(403);
    expect(errorOf(right.body).code).toBe('site_blocked');
    expect(errorOf(right.body).message).toContain('administrator must unblock');

    const unblock = await request(central.app).post(`/admin/v1/sites/${REMOTE1}/unblock`).set(adminHeaders);
    expect(unblock.status).toBe(200);
    expect(unblock.body).toMatchObject({ id: REMOTE1, blocked: false, failedLoginCount: 0 });
    const after = await request(central.app).get('/sync/v1/site').set(headersOf(REMOTE1));
    expect(after.status).toBe(200);
  });

  it('counts concurrent failed logins without losing one (topology changes are serialized)', async () => {
    const central = await createTestCentral();
    const bad = siteHeaders('Remote site 1', 'nope');
    const answers = await Promise.all(Array.from({ length: MAX_FAILED_LOGINS }, () => request(central.app).get('/sync/v1/site').set(bad)));
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401, 401]);
    expect((await central.topology()).site(REMOTE1)).toMatchObject({ failedLoginCount: MAX_FAILED_LOGINS, blocked: true });
  });

  it('checks a password with scrypt once, then remembers the success until the password changes', async () => {
    const central = await createTestCentral();
    const verify = jest.spyOn(testHasher, 'verify');
    try {
      for (let i = 0; i < 3; i += 1) expect((await request(central.app).get('/sync/v1/site').set(headersOf(REMOTE2))).status).toBe(200);
      expect(verify).toHaveBeenCalledTimes(1);
      await request(central.app).put(`/admin/v1/sites/${REMOTE2}/password`).set(adminHeaders).send({ password: 'changed' });
      expect((await request(central.app).get('/sync/v1/site').set(headersOf(REMOTE2))).status).toBe(401);
      expect(verify).toHaveBeenCalledTimes(2);
    } finally {
      verify.mockRestore();
    }
  });

  it('binds the hardware id on the first success and refuses another device until the id is reset', async () => {
    const central = await createTestCentral();
    const first = await request(central.app)
      .get('/sync/v1/site')
      .set(headersOf(REMOTE1, { hardwareId: 'device-A' }));
    expect(first.status).toBe(200);
    const bound = (await central.topology()).site(REMOTE1)!;
    expect(bound).toMatchObject({ hardwareId: 'device-A', appName: 'test-app', appVersion: '1.2.3' });

    const other = await request(central.app)
      .get('/sync/v1/site')
      .set(headersOf(REMOTE1, { hardwareId: 'device-B' }));
    expect(other.status).toBe(401);
    expect(errorOf(other.body).code).toBe('site_incorrect_hardware_id');
    expect(errorOf(other.body).message).toContain('reset');

    const reset = await request(central.app).post(`/admin/v1/sites/${REMOTE1}/reset-hardware-id`).set(adminHeaders);
    expect(reset.status).toBe(200);
    expect(reset.body.hardwareId).toBeNull();
    const now = await request(central.app)
      .get('/sync/v1/site')
      .set(headersOf(REMOTE1, { hardwareId: 'device-B' }));
    expect(now.status).toBe(200);
    expect((await central.topology()).site(REMOTE1)!.hardwareId).toBe('device-B');
    const old = await request(central.app)
      .get('/sync/v1/site')
      .set(headersOf(REMOTE1, { hardwareId: 'device-A' }));
    expect(errorOf(old.body).code).toBe('site_incorrect_hardware_id');
  });

  it('refuses a missing or unsupported API version with 409, saying what to upgrade, without counting a failure', async () => {
    const central = await createTestCentral({ apiVersions: { min: 1, max: 2 } });
    const missing = await request(central.app)
      .get('/sync/v1/site')
      .set(siteHeaders('Remote site 1', passwordOf(REMOTE1), { apiVersion: null }));
    expect(missing.status).toBe(409);
    expect(errorOf(missing.body).code).toBe('api_version_incompatible');

    const newer = await request(central.app)
      .get('/sync/v1/site')
      .set(siteHeaders('Remote site 1', 'wrong', { apiVersion: '3' }));
    expect(newer.status).toBe(409);
    expect(errorOf(newer.body).message).toContain('versions 1 to 2');
    expect(errorOf(newer.body).message).toContain('upgrade the central');
    expect(errorOf(newer.body).data).toEqual({ min: 1, max: 2, received: 3 });

    const older = await request(central.app)
      .get('/sync/v1/site')
      .set(siteHeaders('Remote site 1', passwordOf(REMOTE1), { apiVersion: '0' }));
    expect(older.status).toBe(409);
    expect(errorOf(older.body).message).toContain("Upgrade the site's app");
    expect((await central.topology()).site(REMOTE1)!.failedLoginCount).toBe(0);

    const supported = await request(central.app)
      .get('/sync/v1/site')
      .set(siteHeaders('Remote site 1', passwordOf(REMOTE1), { apiVersion: '2' }));
    expect(supported.status).toBe(200);
  });
});

describe('central app: sync routes', () => {
  it('GET /sync/v1/site answers the site info with its stores and the topology without secrets', async () => {
    const central = await createTestCentral();
    const res = await request(central.app)
      .get('/sync/v1/site')
      .set(headersOf(REMOTE1, { hardwareId: 'device-A' }));
    expect(res.status).toBe(200);
    expect(res.body.siteId).toBe(REMOTE1);
    expect(res.body.stores).toEqual(
      expect.arrayContaining([
        { storeId: 'A', syncType: 'collector' },
        { storeId: 'B', syncType: 'active' },
        { storeId: 'C', syncType: 'transfer' },
        { storeId: 'F', syncType: 'active' },
      ]),
    );
    expect(JSON.stringify(res.body)).not.toContain('device-A');
    expect(JSON.stringify(res.body)).not.toContain('scrypt');
  });

  it('stores a push, refusing per record a record of a store active elsewhere while the rest is stored', async () => {
    const central = await createTestCentral();
    const processed = jest.spyOn(CentralService.prototype, 'process');
    // a transaction of its own store (a document the processors act on, so they run) and a stock line of another site's store
    const mine = storeRecord('transaction', 'B', { quantity: 5 }, 'tx-b-1');
    const theirs = storeRecord('stock_line', 'C', { quantity: 7 }, 'sl-c-1');
    const res = await push(central, REMOTE1, 'batch-1', [mine, theirs]);
    expect(res.status).toBe(200);
    const body = pushResponseSchema.parse(res.body);
    expect(body.accepted).toBe(1);
    expect(body.replayed).toBeUndefined();
    expect(body.refused).toHaveLength(1);
    expect(body.refused[0]).toMatchObject({ recordType: 'stock_line', recordId: 'sl-c-1', code: 'edit.store-not-active-here' });
    expect(body.refused[0]!.fix).toEqual(expect.any(String));
    expect(await central.storage.storage.records.get('transaction', 'tx-b-1')).toMatchObject({ data: { quantity: 5 } });
    expect(await central.storage.storage.records.get('stock_line', 'sl-c-1')).toBeNull();
    expect(processed).toHaveBeenCalledTimes(1);
    expect(processed).toHaveBeenCalledWith('push');
    processed.mockRestore();

    // the refusal is kept in quarantine, visible in the site's status
    const status = await request(central.app).get('/sync/v1/status?cursor=0').set(headersOf(REMOTE1));
    expect(status.status).toBe(200);
    const parsed = statusResponseSchema.parse(status.body);
    expect(parsed.quarantined).toEqual([
      expect.objectContaining({ key: `quarantine:${REMOTE1}:stock_line:sl-c-1`, code: 'edit.store-not-active-here', occurrences: 1 }),
    ]);
    expect(parsed.quarantined[0]!.lastSeenAt).toBeInstanceOf(Date);
  });

  it('answers a replayed batch id with replayed:true and writes nothing new', async () => {
    const central = await createTestCentral();
    const records = [storeRecord('transaction', 'B', {}, 'tx-r-1'), storeRecord('transaction_line', 'B', { transactionId: 'tx-r-1' }, 'tl-r-2')];
    const processed = jest.spyOn(CentralService.prototype, 'process');
    expect((await push(central, REMOTE1, 'batch-r', records)).body).toMatchObject({ accepted: 2, refused: [] });
    const head = await central.storage.storage.changes.head();
    const again = await push(central, REMOTE1, 'batch-r', records);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ batchId: 'batch-r', replayed: true, accepted: 2 });
    expect(await central.storage.storage.changes.head()).toBe(head);
    expect(processed).toHaveBeenCalledTimes(1);
    processed.mockRestore();
  });

  it('does not run the processors when nothing was accepted or nothing they act on was, and logs their failure without failing the push', async () => {
    const central = await createTestCentral();
    const processed = jest.spyOn(CentralService.prototype, 'process');
    await push(central, REMOTE1, 'batch-empty', []);
    await push(central, REMOTE1, 'batch-stock', [storeRecord('stock_line', 'B', {}, 'sl-not-a-transfer')]);
    expect(processed).not.toHaveBeenCalled();
    processed.mockRestore();

    // the push's own unit of work succeeds, every one of the processing after it fails
    const run = central.storage.run.bind(central.storage);
    let runs = 0;
    const failing = jest
      .spyOn(central.storage, 'run')
      .mockImplementation((work) => (++runs === 1 ? run(work) : Promise.reject(new Error('transfer processing broke'))));
    const res = await push(central, REMOTE1, 'batch-x', [storeRecord('transaction', 'B', {}, 'tx-x')]);
    failing.mockRestore();
    expect(runs).toBeGreaterThan(1);
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(1);
    expect(await central.storage.storage.records.get('transaction', 'tx-x')).not.toBeNull();
    expect(central.logger.error).toHaveBeenCalledWith(
      expect.objectContaining({ err: expect.objectContaining({ message: 'transfer processing broke' }) }),
      expect.any(String),
    );
  });

  it('refuses local data pushed by a remote (push.local-data)', async () => {
    const central = await createTestCentral();
    const res = await push(central, REMOTE1, 'batch-local', [centralRecord('log', { text: 'x' }, 'log-1')]);
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(0);
    expect(res.body.refused).toEqual([expect.objectContaining({ recordType: 'log', recordId: 'log-1', code: 'push.local-data' })]);
  });

  it('pages pulls with string cursors: everything exactly once, remaining counting down to 0, then lastSyncedAt', async () => {
    const central = await createTestCentral();
    const items = Array.from({ length: 23 }, (_, i) => centralRecord('item', { name: `Item ${i}` }, `item-${String(i).padStart(2, '0')}`));
    const written = await request(central.app).post('/admin/v1/records').set(adminHeaders).send({ records: items });
    expect(written.status).toBe(200);
    expect(written.body).toEqual({ written: 23 });
    // a store B record pushed by remote 1 does not come back to it
    await push(central, REMOTE1, 'batch-own', [storeRecord('stock_line', 'B', {}, 'sl-own')]);

    central.clock.advance(60_000);
    const { records, remainings, cursor } = await pullAll(central, REMOTE1, 5);
    expect(records.map((r) => r.id).sort()).toEqual(items.map((r) => r.id));
    expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
    expect(remainings).toEqual([18, 13, 8, 3, 0]);
    expect(typeof cursor).toBe('string');
    expect((await central.topology()).site(REMOTE1)!.lastSyncedAt).toEqual(central.clock.now());

    // nothing more after the last cursor; status agrees
    const again = await request(central.app).post('/sync/v1/pull').set(headersOf(REMOTE1)).send({ cursor, limit: 100 });
    expect(again.body).toEqual({ records: [], nextCursor: cursor, remaining: 0 });
    const status = await request(central.app).get(`/sync/v1/status?cursor=${cursor}`).set(headersOf(REMOTE1));
    expect(status.body).toMatchObject({ siteId: REMOTE1, waiting: 0, quarantined: [] });
    const fromStart = await request(central.app).get('/sync/v1/status?cursor=0').set(headersOf(REMOTE1));
    expect(fromStart.body.waiting).toBe(23);
  });

  it('routes store data pushed by one remote to the central and not to a site without a copy', async () => {
    const central = await createTestCentral();
    await push(central, REMOTE2, 'batch-d', [storeRecord('stock_line', 'D', {}, 'sl-d')]);
    expect((await pullAll(central, REMOTE1, 100)).records).toEqual([]);
  });

  it('accepts a gzip-compressed request body', async () => {
    const central = await createTestCentral();
    const body = { batchId: 'batch-gz', records: [storeRecord('stock_line', 'B', { note: 'x'.repeat(5000) }, 'sl-gz')] };
    const compressed = gzipSync(Buffer.from(JSON.stringify(body)));
    const res = await request(central.app)
      .post('/sync/v1/push')
      .set(headersOf(REMOTE1))
      .set('content-type', 'application/json')
      .set('content-encoding', 'gzip')
      .serialize((raw: unknown) => raw as string) // send the bytes as they are
      .send(compressed);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ batchId: 'batch-gz', accepted: 1 });
  });

  it('refuses a corrupt gzip body with 400 validation_failed', async () => {
    const central = await createTestCentral();
    const res = await request(central.app)
      .post('/sync/v1/push')
      .set(headersOf(REMOTE1))
      .set('content-type', 'application/json')
      .set('content-encoding', 'gzip')
      .serialize((raw: unknown) => raw as string)
      .send(Buffer.from('this is not gzip'));
    expect(res.status).toBe(400);
    expect(errorOf(res.body).code).toBe('validation_failed');
    expect(central.logger.error).not.toHaveBeenCalled();
  });

  it('compresses large responses when the client accepts gzip', async () => {
    const central = await createTestCentral();
    const items = Array.from({ length: 50 }, (_, i) => centralRecord('item', { name: `Item ${i}`, text: 'lorem ipsum '.repeat(10) }, `gz-${i}`));
    await request(central.app).post('/admin/v1/records').set(adminHeaders).send({ records: items });
    const res = await request(central.app).post('/sync/v1/pull').set(headersOf(REMOTE1)).set('accept-encoding', 'gzip').send({ cursor: '0', limit: 100 });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.body.records).toHaveLength(50);
  });

  it('refuses a body over the limit (decompressed size) with 413 payload_too_large', async () => {
    const central = await createTestCentral({ bodyLimit: '2kb' });
    const big = { batchId: 'batch-big', records: [storeRecord('stock_line', 'B', { note: 'x'.repeat(10_000) }, 'sl-big')] };
    const plain = await request(central.app).post('/sync/v1/push').set(headersOf(REMOTE1)).send(big);
    expect(plain.status).toBe(413);
    expect(errorOf(plain.body).code).toBe('payload_too_large');

    const compressed = gzipSync(Buffer.from(JSON.stringify(big)));
    expect(compressed.length).toBeLessThan(2048);
    const zipped = await request(central.app)
      .post('/sync/v1/push')
      .set(headersOf(REMOTE1))
      .set('content-type', 'application/json')
      .set('content-encoding', 'gzip')
      .serialize((raw: unknown) => raw as string) // send the bytes as they are
      .send(compressed);
    expect(zipped.status).toBe(413);
    expect(errorOf(zipped.body).code).toBe('payload_too_large');
  });

  it('refuses an invalid body with 400 validation_failed naming the field path', async () => {
    const central = await createTestCentral();
    const records = [storeRecord('stock_line', 'B', {}, 'ok-1'), storeRecord('stock_line', 'B', {}, 'ok-2'), { ...storeRecord('stock_line', 'B'), type: '' }];
    const res = await request(central.app).post('/sync/v1/push').set(headersOf(REMOTE1)).send({ batchId: 'b', records });
    expect(res.status).toBe(400);
    const error = errorOf(res.body);
    expect(error.code).toBe('validation_failed');
    expect(error.message).toContain('records.2.type');
    expect(error.data).toEqual([expect.objectContaining({ path: 'records.2.type' })]);

    const cursor = await request(central.app).post('/sync/v1/pull').set(headersOf(REMOTE1)).send({ cursor: 12, limit: 0 });
    expect(cursor.status).toBe(400);
    expect((errorOf(cursor.body).data as { path: string }[]).map((p) => p.path)).toEqual(['cursor', 'limit']);

    const notJson = await request(central.app).post('/sync/v1/push').set(headersOf(REMOTE1)).set('content-type', 'application/json').send('{"batchId": ');
    expect(notJson.status).toBe(400);
    expect(errorOf(notJson.body).code).toBe('validation_failed');

    const badQuery = await request(central.app).get('/sync/v1/status?cursor=-1').set(headersOf(REMOTE1));
    expect(badQuery.status).toBe(400);
    expect(errorOf(badQuery.body).message).toContain('cursor');
  });

  it('checks credentials before reading the body', async () => {
    const central = await createTestCentral({ bodyLimit: '1kb' });
    const res = await request(central.app)
      .post('/sync/v1/push')
      .send({ batchId: 'b', records: [storeRecord('stock_line', 'B', { note: 'x'.repeat(5000) })] });
    expect(res.status).toBe(401);
    expect(errorOf(res.body).code).toBe('auth_required');
  });

  it('serves central data written through the admin API to every remote', async () => {
    const central = await createTestCentral();
    await request(central.app)
      .post('/admin/v1/records')
      .set(adminHeaders)
      .send({ records: [centralRecord('item', { name: 'Amoxicillin' }, 'item-amox')] });
    for (const siteId of [REMOTE1, REMOTE2]) {
      const { records } = await pullAll(central, siteId, 10);
      expect(records).toEqual([expect.objectContaining({ type: 'item', id: 'item-amox', data: { name: 'Amoxicillin' } })]);
    }
    expect(SITE_NAMES[CENTRAL]).toBe('Sync server');
  });
});
