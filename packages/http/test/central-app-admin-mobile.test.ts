import request from 'supertest';
import { errorBodySchema } from '../src/index';
import { adminHeaders, createTestCentral, REMOTE1, type TestCentral } from './central-test-setup';

/**
 * A mobile site holds exactly one store (topology.mobile-site-several-stores): the admin API refuses
 * a second store made active on it, and a store moved onto it, with the rule's message and fix, and
 * changes nothing (no store, no copy, nothing queued to any site).
 */
const RULE = 'topology.mobile-site-several-stores';
const MOBILE = 4;

/** Seed 002's topology plus a mobile site 4 "Mobile clinic" with its one store MOB. */
async function centralWithMobileSite(): Promise<TestCentral> {
  const central = await createTestCentral();
  await request(central.app)
    .post('/admin/v1/sites')
    .set(adminHeaders)
    .send({ name: 'Mobile clinic', password: 'mobile-secret', deviceType: 'mobile' })
    .expect(201);
  await request(central.app).post('/admin/v1/stores').set(adminHeaders).send({ code: 'MOB', name: 'Mobile clinic store', activeSiteId: MOBILE }).expect(201);
  return central;
}

/** What the admin API shows of the topology and of what waits for each site. */
async function snapshot(central: TestCentral): Promise<unknown> {
  const stores = (await request(central.app).get('/admin/v1/stores').set(adminHeaders).expect(200)).body as unknown;
  const sites = (await request(central.app).get('/admin/v1/sites').set(adminHeaders).expect(200)).body as unknown;
  return { stores, sites };
}

function expectRefusedByTheRule(res: request.Response): void {
  expect(res.status).toBe(422);
  const error = errorBodySchema.parse(res.body).error;
  expect(error.message).toMatch(/Mobile site 4 "Mobile clinic" would hold 2 stores/);
  expect(error.message).toMatch(/Keep one store on the mobile site/);
  expect(JSON.stringify(error.data)).toContain(RULE);
}

describe('central app: a mobile site holds one store', () => {
  it('refuses a second store made active on a mobile site, and adds nothing', async () => {
    const central = await centralWithMobileSite();
    const before = await snapshot(central);
    const res = await request(central.app).post('/admin/v1/stores').set(adminHeaders).send({ code: 'MOB2', name: 'Second store', activeSiteId: MOBILE });
    expectRefusedByTheRule(res);
    expect(await snapshot(central)).toEqual(before);
    expect((await central.topology()).stores.some((s) => s.id === 'MOB2')).toBe(false);
  });

  it('refuses moving a store onto a mobile site that already has one, and moves nothing', async () => {
    const central = await centralWithMobileSite();
    const store = (await central.topology()).stores.find((s) => s.activeSiteId === REMOTE1)!;
    const before = await snapshot(central);
    const res = await request(central.app)
      .post(`/admin/v1/stores/${store.id}/move`)
      .set(adminHeaders)
      .send({ toSiteId: MOBILE, oldSiteCopy: 'none', force: true });
    expectRefusedByTheRule(res);
    expect(await snapshot(central)).toEqual(before);
    expect((await central.topology()).stores.find((s) => s.id === store.id)!.activeSiteId).toBe(REMOTE1);
  });

  it('still lets the mobile site have its one store moved away and another moved on', async () => {
    const central = await centralWithMobileSite();
    await request(central.app).post('/admin/v1/stores/MOB/move').set(adminHeaders).send({ toSiteId: REMOTE1, oldSiteCopy: 'none' }).expect(200);
    await request(central.app).post('/admin/v1/stores').set(adminHeaders).send({ code: 'MOB2', name: 'Second store', activeSiteId: MOBILE }).expect(201);
  });
});
