import { centralRecord, storeRecord } from '@sitesync/testkit';
import request from 'supertest';
import { adminIssuesResponseSchema, adminSitesResponseSchema, errorBodySchema, sha256Hex } from '../src/index';
import { ADMIN_TOKEN, adminHeaders, CENTRAL, createTestCentral, headersOf, REMOTE1, REMOTE2, siteHeaders, testHasher } from './central-test-setup';

function errorOf(body: unknown): { code: string; message: string; data?: unknown } {
  return errorBodySchema.parse(body).error;
}

describe('central app: admin routes', () => {
  it('refuses a wrong or missing admin token with 401 admin_auth_failed', async () => {
    const central = await createTestCentral();
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token' },
      { authorization: `Basic ${ADMIN_TOKEN}` },
      { authorization: `Bearer ${ADMIN_TOKEN}x` },
    ]) {
      const res = await request(central.app).get('/admin/v1/sites').set(headers);
      expect(res.status).toBe(401);
      expect(errorOf(res.body).code).toBe('admin_auth_failed');
    }
  });

  it('refuses to start without an admin token', () => {
    return expect(createTestCentral({ adminToken: '' })).rejects.toThrow('adminToken');
  });

  it('lists sites without secrets, with stale and waiting', async () => {
    const central = await createTestCentral();
    await request(central.app)
      .get('/sync/v1/site')
      .set(headersOf(REMOTE1, { hardwareId: 'device-A' }));
    const res = await request(central.app).get('/admin/v1/sites').set(adminHeaders);
    expect(res.status).toBe(200);
    const { sites } = adminSitesResponseSchema.parse(res.body);
    expect(sites.map((s) => s.id)).toEqual([CENTRAL, REMOTE1, REMOTE2]);
    expect(sites.find((s) => s.id === REMOTE1)).toMatchObject({ hardwareId: 'device-A', stale: true, waiting: 0 });
    expect(sites.find((s) => s.id === CENTRAL)).toMatchObject({ stale: false });
    expect(JSON.stringify(res.body)).not.toMatch(/password|scrypt/i);
  });

  it('marks a site stale 30 days after its last complete pull', async () => {
    const central = await createTestCentral();
    await request(central.app).post('/sync/v1/pull').set(headersOf(REMOTE1)).send({ cursor: '0', limit: 10 });
    const fresh = adminSitesResponseSchema.parse((await request(central.app).get('/admin/v1/sites').set(adminHeaders)).body);
    expect(fresh.sites.find((s) => s.id === REMOTE1)).toMatchObject({ stale: false, lastSyncedAt: central.clock.now() });
    central.clock.advance(31 * 24 * 60 * 60 * 1000);
    const later = adminSitesResponseSchema.parse((await request(central.app).get('/admin/v1/sites').set(adminHeaders)).body);
    expect(later.sites.find((s) => s.id === REMOTE1)!.stale).toBe(true);
  });

  it('adds a site with the next free id, never returning its password, and the site can log in', async () => {
    const central = await createTestCentral();
    const res = await request(central.app)
      .post('/admin/v1/sites')
      .set(adminHeaders)
      .send({ name: 'Clinic 4', password: 'clinic-secret', code: 'C4', deviceType: 'mobile', syncIntervalMinutes: 5 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: 4, name: 'Clinic 4', code: 'C4', deviceType: 'mobile', syncIntervalMinutes: 5, roles: [], hardwareId: null });
    const text = JSON.stringify(res.body);
    expect(text).not.toContain('clinic-secret');
    expect(text).not.toContain(sha256Hex('clinic-secret'));
    expect(text).not.toMatch(/password|scrypt/i);

    const stored = (await central.storage.storage.topology.passwordHash(4))!;
    expect(stored).toMatch(/^scrypt\$/);
    expect(await testHasher.verify(sha256Hex('clinic-secret'), stored)).toBe(true);

    const login = await request(central.app).get('/sync/v1/site').set(siteHeaders('Clinic 4', 'clinic-secret'));
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ siteId: 4, stores: [] });
  });

  it('gives concurrently added sites distinct ids', async () => {
    const central = await createTestCentral();
    const answers = await Promise.all(
      ['North', 'South', 'East'].map((name) => request(central.app).post('/admin/v1/sites').set(adminHeaders).send({ name, password: name })),
    );
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201]);
    expect(answers.map((a) => a.body.id as number).sort()).toEqual([4, 5, 6]);
    expect((await central.topology()).sites).toHaveLength(6);
  });

  it('refuses a duplicate site name and a primary that lacks store copies with 422 topology_rule_violated', async () => {
    const central = await createTestCentral();
    const duplicate = await request(central.app).post('/admin/v1/sites').set(adminHeaders).send({ name: 'remote site 1', password: 'x' });
    expect(duplicate.status).toBe(422);
    expect(errorOf(duplicate.body).code).toBe('topology_rule_violated');
    expect(errorOf(duplicate.body).data).toEqual([expect.objectContaining({ code: 'topology.duplicate-site-name', fix: expect.any(String) })]);

    const primary = await request(central.app).post('/admin/v1/sites').set(adminHeaders).send({ name: 'CMS', password: 'x', primary: true });
    expect(primary.status).toBe(422);
    const violations = errorOf(primary.body).data as { code: string; fix: string }[];
    expect(violations.length).toBeGreaterThan(0);
    expect(violations.every((v) => v.code === 'topology.store-missing-on-primary')).toBe(true);
    expect((await central.topology()).sites).toHaveLength(3);
  });

  it('moves the primary role to a new site when the topology allows it', async () => {
    const central = await createTestCentral({}, { initialised: false });
    const { topologyOf } = await import('@sitesync/testkit');
    await central.storage.storage.topology.save(topologyOf([{ id: 1, name: 'Central', roles: ['central', 'primary'] }], []));
    const res = await request(central.app).post('/admin/v1/sites').set(adminHeaders).send({ name: 'CMS', password: 'x', primary: true });
    expect(res.status).toBe(201);
    expect(res.body.roles).toEqual(['primary']);
    const topology = await central.topology();
    expect(topology.primary.id).toBe(2);
    expect(topology.central.id).toBe(1);
    expect(topology.site(1)!.roles).toEqual(['central']);
  });

  it('changes a password: the old one stops working, the new one works', async () => {
    const central = await createTestCentral();
    const res = await request(central.app).put(`/admin/v1/sites/${REMOTE2}/password`).set(adminHeaders).send({ password: 'new password' });
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body)).not.toContain('new password');
    expect((await request(central.app).get('/sync/v1/site').set(headersOf(REMOTE2))).status).toBe(401);
    expect((await request(central.app).get('/sync/v1/site').set(siteHeaders('Remote site 2', 'new password'))).status).toBe(200);
  });

  it('answers 404 not_found for an unknown site and 400 for a malformed id', async () => {
    const central = await createTestCentral();
    for (const path of ['/admin/v1/sites/99/unblock', '/admin/v1/sites/99/reset-hardware-id']) {
      const res = await request(central.app).post(path).set(adminHeaders);
      expect(res.status).toBe(404);
      expect(errorOf(res.body).code).toBe('not_found');
    }
    const password = await request(central.app).put('/admin/v1/sites/99/password').set(adminHeaders).send({ password: 'x' });
    expect(password.status).toBe(404);
    const malformed = await request(central.app).post('/admin/v1/sites/abc/unblock').set(adminHeaders);
    expect(malformed.status).toBe(400);
    expect(errorOf(malformed.body).code).toBe('validation_failed');
  });

  it('adds a store with a collector copy on the central by default, and lists it', async () => {
    const central = await createTestCentral();
    const res = await request(central.app).post('/admin/v1/stores').set(adminHeaders).send({ code: 'G', name: 'Store G', activeSiteId: REMOTE2 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: 'G', code: 'G', activeSiteId: REMOTE2, copies: [{ siteId: CENTRAL, type: 'collector' }] });

    const transfer = await request(central.app)
      .post('/admin/v1/stores')
      .set(adminHeaders)
      .send({ id: 'store-h', code: 'H', name: 'Store H', activeSiteId: REMOTE1, centralCopy: 'transfer', isDispensary: true });
    expect(transfer.body).toMatchObject({ id: 'store-h', isDispensary: true, copies: [{ siteId: CENTRAL, type: 'transfer' }] });

    const onCentral = await request(central.app).post('/admin/v1/stores').set(adminHeaders).send({ code: 'K', name: 'Store K', activeSiteId: CENTRAL });
    expect(onCentral.body.copies).toEqual([]);

    const list = await request(central.app).get('/admin/v1/stores').set(adminHeaders);
    expect(list.body.stores.map((s: { id: string }) => s.id)).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'store-h', 'K']);

    const duplicate = await request(central.app).post('/admin/v1/stores').set(adminHeaders).send({ code: 'G', name: 'Again', activeSiteId: REMOTE2 });
    expect(duplicate.status).toBe(422);
    expect(errorOf(duplicate.body).data).toEqual([expect.objectContaining({ code: 'topology.duplicate-store-id' })]);
  });

  it('sets a copy type, and refuses one that breaks a rule with 422 and the fix', async () => {
    const central = await createTestCentral();
    const ok = await request(central.app).put(`/admin/v1/stores/D/copies/${REMOTE1}`).set(adminHeaders).send({ type: 'transfer' });
    expect(ok.status).toBe(200);
    expect(ok.body.copies).toEqual(expect.arrayContaining([{ siteId: REMOTE1, type: 'transfer' }]));

    const res = await request(central.app).put(`/admin/v1/stores/B/copies/${CENTRAL}`).set(adminHeaders).send({ type: 'none' });
    expect(res.status).toBe(422);
    const error = errorOf(res.body);
    expect(error.code).toBe('topology_rule_violated');
    expect(error.message).toContain('Fix:');
    expect(error.data).toEqual([
      expect.objectContaining({ code: 'topology.store-missing-on-central', rule: expect.any(String), fix: expect.stringContaining('collector') }),
    ]);
    expect((await central.topology()).syncTypeOn('B', CENTRAL)).toBe('collector');

    expect((await request(central.app).put(`/admin/v1/stores/Z/copies/${REMOTE1}`).set(adminHeaders).send({ type: 'collector' })).status).toBe(404);
    expect((await request(central.app).put('/admin/v1/stores/B/copies/42').set(adminHeaders).send({ type: 'collector' })).status).toBe(404);
    expect((await request(central.app).put(`/admin/v1/stores/B/copies/${CENTRAL}`).set(adminHeaders).send({ type: 'mirror' })).status).toBe(400);
  });

  it('writes records as the central, refusing with 422 record_refused what the central may not edit', async () => {
    const central = await createTestCentral();
    const res = await request(central.app)
      .post('/admin/v1/records')
      .set(adminHeaders)
      .send({ records: [centralRecord('item', {}, 'item-1'), storeRecord('stock_line', 'B', {}, 'sl-b')] });
    expect(res.status).toBe(422);
    const error = errorOf(res.body);
    expect(error.code).toBe('record_refused');
    expect(error.data).toEqual([expect.objectContaining({ code: 'edit.store-not-active-here', recordId: 'sl-b' })]);
    expect(await central.storage.storage.records.get('item', 'item-1')).toBeNull();
  });

  it('lists open issues', async () => {
    const central = await createTestCentral();
    await request(central.app)
      .post('/sync/v1/push')
      .set(headersOf(REMOTE1))
      .send({ batchId: 'b1', records: [storeRecord('stock_line', 'C', {}, 'sl-c')] });
    const res = await request(central.app).get('/admin/v1/issues').set(adminHeaders);
    expect(res.status).toBe(200);
    const { issues } = adminIssuesResponseSchema.parse(res.body);
    expect(issues).toEqual([expect.objectContaining({ key: `quarantine:${REMOTE1}:stock_line:sl-c`, occurrences: 1 })]);
    expect(issues[0]!.violation.code).toBe('edit.store-not-active-here');
    expect(issues[0]!.firstSeenAt).toEqual(central.clock.now());
  });
});

describe('central app: store moves wait for the old site', () => {
  it('refuses a move off a site that said at its last pull it had changes not pushed; accepts it once it reports none, or with force', async () => {
    const central = await createTestCentral();
    // seed topology: store B is active on Remote site 1, with a collector copy on the central
    const pull = (unpushed: number) =>
      request(central.app).post('/sync/v1/pull').set(headersOf(REMOTE1)).send({ cursor: '0', limit: 100, queueCursor: '0', unpushed });
    expect((await pull(3)).status).toBe(200);
    const refused = await request(central.app).post('/admin/v1/stores/B/move').set(adminHeaders).send({ toSiteId: REMOTE2, oldSiteCopy: 'none' });
    expect(refused.status).toBe(409);
    expect(errorOf(refused.body)).toMatchObject({ code: 'precondition_failed', data: { storeId: 'B', fromSiteId: REMOTE1, unpushed: 3 } });
    expect(errorOf(refused.body).message).toMatch(/3 changes not pushed at its last sync[^]*"force": true/);
    // nothing moved
    const stores = await request(central.app).get('/admin/v1/stores').set(adminHeaders);
    expect((stores.body as { stores: { id: string; activeSiteId: number }[] }).stores.find((s) => s.id === 'B')?.activeSiteId).toBe(REMOTE1);

    // the site pushed everything and pulled to the end: the move goes through
    let cursor = '0';
    for (;;) {
      const res = await request(central.app).post('/sync/v1/pull').set(headersOf(REMOTE1)).send({ cursor, limit: 100, queueCursor: '0', unpushed: 0 });
      cursor = (res.body as { nextCursor: string }).nextCursor;
      if ((res.body as { remaining: number }).remaining === 0) break;
    }
    await request(central.app).post('/sync/v1/pull').set(headersOf(REMOTE1)).send({ cursor, limit: 100, queueCursor: '0', unpushed: 0 });
    const moved = await request(central.app).post('/admin/v1/stores/B/move').set(adminHeaders).send({ toSiteId: REMOTE2, oldSiteCopy: 'none' });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ store: { id: 'B', activeSiteId: REMOTE2 }, fromSiteId: REMOTE1, toSiteId: REMOTE2 });

    // a move off a site with changes not pushed goes through with force
    await request(central.app).post('/sync/v1/pull').set(headersOf(REMOTE2)).send({ cursor: '0', limit: 100, queueCursor: '0', unpushed: 1 });
    const forced = await request(central.app).post('/admin/v1/stores/B/move').set(adminHeaders).send({ toSiteId: REMOTE1, force: true });
    expect(forced.status).toBe(200);
  });
});
