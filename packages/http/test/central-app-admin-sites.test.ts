import request from 'supertest';
import { errorBodySchema } from '../src/index';
import { adminHeaders, CENTRAL, createTestCentral, REMOTE1, REMOTE2, siteHeaders } from './central-test-setup';

const errorOf = (body: unknown) => errorBodySchema.parse(body).error;

/** Seed 003 "Sites": every field but the id is editable; a site is deleted only without stores, never the central's own. */
describe('central app: editing and deleting sites', () => {
  it('changes code, name, type, interval, request size and server URL; the renamed site logs in under its new name only', async () => {
    const central = await createTestCentral();
    await request(central.app).post('/admin/v1/sites').set(adminHeaders).send({ name: 'Clinic 4', password: 'clinic-secret' }).expect(201);
    const res = await request(central.app)
      .patch('/admin/v1/sites/4')
      .set(adminHeaders)
      .send({ code: 'CL4', name: 'Clinic Four', deviceType: 'mobile', syncIntervalMinutes: 30, requestSize: 1000, serverUrl: 'https://clinic4.example.org' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: 4,
      code: 'CL4',
      name: 'Clinic Four',
      deviceType: 'mobile',
      syncIntervalMinutes: 30,
      requestSize: 1000,
      serverUrl: 'https://clinic4.example.org',
    });
    expect((await central.topology()).site(4)).toMatchObject({ name: 'Clinic Four', requestSize: 1000 });
    expect((await request(central.app).get('/sync/v1/site').set(siteHeaders('Clinic 4', 'clinic-secret'))).status).toBe(401);
    expect((await request(central.app).get('/sync/v1/site').set(siteHeaders('Clinic Four', 'clinic-secret'))).status).toBe(200);
  });

  it('flags one site as the Open mSupply central with its URL; a second one, or one without a URL, is refused with the rule', async () => {
    const central = await createTestCentral();
    const noUrl = await request(central.app).patch(`/admin/v1/sites/${REMOTE1}`).set(adminHeaders).send({ omsCentral: true });
    expect(noUrl.status).toBe(422);
    expect(JSON.stringify(errorOf(noUrl.body).data)).toContain('topology.oms-central-url-missing');

    // every store on the Open mSupply central server runs in dispensary mode (B and F are active on site 2)
    const stores = await request(central.app)
      .patch(`/admin/v1/sites/${REMOTE1}`)
      .set(adminHeaders)
      .send({ omsCentral: true, omsCentralUrl: 'https://oms.example.org:8000' });
    expect(stores.status).toBe(422);
    expect(JSON.stringify(errorOf(stores.body).data)).toContain('topology.oms-central-store-not-dispensary');
    for (const store of ['B', 'F']) await request(central.app).patch(`/admin/v1/stores/${store}`).set(adminHeaders).send({ isDispensary: true }).expect(200);
    const flagged = await request(central.app)
      .patch(`/admin/v1/sites/${REMOTE1}`)
      .set(adminHeaders)
      .send({ omsCentral: true, omsCentralUrl: 'https://oms.example.org:8000' });
    expect(flagged.status).toBe(200);
    expect(flagged.body).toMatchObject({ roles: ['oms-central'], omsCentralUrl: 'https://oms.example.org:8000' });

    const second = await request(central.app)
      .patch(`/admin/v1/sites/${REMOTE2}`)
      .set(adminHeaders)
      .send({ omsCentral: true, omsCentralUrl: 'https://other.example.org' });
    expect(second.status).toBe(422);
    expect(errorOf(second.body).code).toBe('topology_rule_violated');
    expect(JSON.stringify(errorOf(second.body).data)).toContain('topology.several-oms-centrals');

    const off = await request(central.app).patch(`/admin/v1/sites/${REMOTE1}`).set(adminHeaders).send({ omsCentral: false });
    expect(off.body).toMatchObject({ roles: [], omsCentralUrl: null });
    // a URL alone on a site not flagged would tell remotes nothing: refused, naming the field and the fix
    const urlOnly = await request(central.app).patch(`/admin/v1/sites/${REMOTE2}`).set(adminHeaders).send({ omsCentralUrl: 'https://oms.example.org' });
    expect(urlOnly.status).toBe(400);
    expect(errorOf(urlOnly.body).message).toMatch(/send "omsCentral": true with it/);
    expect((await central.topology()).site(REMOTE2)).toMatchObject({ omsCentralUrl: null });
  });

  it('refuses what is not a site field, bad URLs and sizes with 400 naming the field; changes nothing', async () => {
    const central = await createTestCentral();
    for (const [body, field] of [
      [{ id: 9 }, ''],
      [{ hardwareId: 'x' }, ''],
      [{ serverUrl: 'ftp://x' }, 'serverUrl'],
      [{ requestSize: 5 }, 'requestSize'],
      [{ syncIntervalMinutes: 0 }, 'syncIntervalMinutes'],
      [{ name: '' }, 'name'],
    ] as const) {
      const res = await request(central.app).patch(`/admin/v1/sites/${REMOTE1}`).set(adminHeaders).send(body);
      expect(res.status).toBe(400);
      expect(errorOf(res.body).code).toBe('validation_failed');
      if (field) expect(JSON.stringify(errorOf(res.body).data)).toContain(field);
    }
    expect((await central.topology()).site(REMOTE1)).toMatchObject({ name: 'Remote site 1', requestSize: 500 });
  });

  it('deletes a site without stores, never one with stores or the central itself, and never gives its id again', async () => {
    const central = await createTestCentral();
    const withStores = await request(central.app).delete(`/admin/v1/sites/${REMOTE1}`).set(adminHeaders);
    expect(withStores.status).toBe(422);
    expect(JSON.stringify(errorOf(withStores.body).data)).toContain('topology.site-has-stores');
    const itself = await request(central.app).delete(`/admin/v1/sites/${CENTRAL}`).set(adminHeaders);
    expect(itself.status).toBe(422);

    await request(central.app).post('/admin/v1/sites').set(adminHeaders).send({ name: 'Clinic 4', password: 'clinic-secret' }).expect(201);
    const deleted = await request(central.app).delete('/admin/v1/sites/4').set(adminHeaders);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ deleted: { id: 4, name: 'Clinic 4' } });
    expect((await central.topology()).site(4)).toBeUndefined();
    expect((await request(central.app).get('/sync/v1/site').set(siteHeaders('Clinic 4', 'clinic-secret'))).status).toBe(401);
    expect((await request(central.app).delete('/admin/v1/sites/4').set(adminHeaders)).status).toBe(404);

    const next = await request(central.app).post('/admin/v1/sites').set(adminHeaders).send({ name: 'Clinic 5', password: 'clinic-secret' });
    expect(next.body).toMatchObject({ id: 5 });
  });
});
