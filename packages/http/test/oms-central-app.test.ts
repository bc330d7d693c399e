import type { Server } from 'node:http';
import { CentralService } from '@sitesync/domain';
import { createInMemoryStorage, ManualClock } from '@sitesync/testkit';
import request from 'supertest';
import { createOmsCentralApp, TopologyCache, type OmsCentralIdentity } from '../src/index';
import { createTestCentral, flagOmsCentral, headersOf, REMOTE1, REMOTE2, type TestCentral } from './central-test-setup';

/**
 * The Open mSupply central server's app (seed 000) in front of a real mSupply central app on a
 * port: sites are verified by the mSupply central, the routes are the central's, for its types only.
 */
describe('the Open mSupply central server app', () => {
  let central: TestCentral;
  let server: Server;
  let centralUrl: string;
  let asked: number;
  let identity: OmsCentralIdentity;
  let oms: ReturnType<typeof createOmsCentralApp>;

  beforeEach(async () => {
    central = await createTestCentral();
    // site 3 ("Remote site 2") is the Open mSupply central
    await flagOmsCentral(central);
    server = await new Promise<Server>((resolve) => {
      const listening = central.app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    const address = server.address();
    centralUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    asked = 0;
    const storage = createInMemoryStorage();
    // the topology its site learnt from the mSupply central
    await storage.storage.topology.save(await central.topology());
    const clock = new ManualClock();
    const service = new CentralService({ unitOfWork: storage, clock, topologies: new TopologyCache(storage, clock), channel: 'oms-central' });
    identity = { siteId: REMOTE2, siteName: 'Remote site 2', flagged: true, url: 'https://oms.example.org', centralUrl, lastCentralSyncAt: null };
    oms = createOmsCentralApp({
      storage,
      clock,
      central: service,
      identity: () => identity,
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      fetch: (input, init) => {
        asked++;
        return fetch(input, init);
      },
    });
  });

  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('takes an asset from the site that owns its store, routes it by the rules, and asks the mSupply central once a minute at most', async () => {
    const pushed = await request(oms)
      .post('/sync/v1/push')
      .set(headersOf(REMOTE1))
      .send({ batchId: 'b1', records: [{ type: 'asset', id: 'fridge', storeId: 'B', data: { model: 'TCW' } }] })
      .expect(200);
    expect(pushed.body).toMatchObject({ accepted: 1, refused: [] });
    const pulled = await request(oms).post('/sync/v1/pull').set(headersOf(REMOTE1)).send({ cursor: '0', limit: 100 }).expect(200);
    expect(pulled.body.records).toEqual([]); // its own record is not sent back
    expect(asked).toBe(1);
    // the Open mSupply central's own site receives every asset
    const ofOms = await request(oms).post('/sync/v1/pull').set(headersOf(REMOTE2)).send({ cursor: '0', limit: 100 }).expect(200);
    expect(ofOms.body.records.map((r: { id: string }) => r.id)).toEqual(['fridge']);
    expect(asked).toBe(2);
  });

  it('refuses what is not its data, and what the site may not edit, each with the rule', async () => {
    const pushed = await request(oms)
      .post('/sync/v1/push')
      .set(headersOf(REMOTE1))
      .send({
        batchId: 'b1',
        records: [
          { type: 'stock_line', id: 'sl', storeId: 'B', data: {} },
          { type: 'asset_catalogue_item', id: 'cat', data: {} },
          { type: 'asset', id: 'other', storeId: 'D', data: {} },
        ],
      })
      .expect(200);
    expect(pushed.body.refused.map((r: { code: string }) => r.code)).toEqual([
      'push.other-server',
      'edit.oms-data-not-oms-central',
      'edit.store-not-active-here',
    ]);
    expect(pushed.body.refused[0].message).toMatch(/not Open mSupply central data: it synchronises with the mSupply central/);
  });

  it("answers the mSupply central's refusal of the credentials, and never remembers one", async () => {
    await request(oms).get('/sync/v1/site').set(headersOf(REMOTE1)).expect(200); // binds the site to its device (hw-1)
    for (let i = 0; i < 2; i++) {
      const refused = await request(oms)
        .get('/sync/v1/site')
        .set(headersOf(REMOTE1, { hardwareId: 'another-device' }));
      expect(refused.status).toBe(401);
      expect(refused.body.error.code).toBe('site_incorrect_hardware_id');
      expect(refused.body.error.message).toMatch(/^The mSupply central refused these credentials: /);
    }
    expect(asked).toBe(3);
    expect((await request(oms).get('/sync/v1/site')).body.error.code).toBe('auth_required');
  });

  it('says so when it cannot reach the mSupply central, or is not flagged as the Open mSupply central', async () => {
    identity = { ...identity, centralUrl: 'http://127.0.0.1:1' };
    const unreachable = await request(oms).get('/sync/v1/site').set(headersOf(REMOTE1)).expect(503);
    expect(unreachable.body.error).toMatchObject({
      code: 'central_unavailable',
      message: expect.stringMatching(/cannot check this site's credentials with the mSupply central at http:\/\/127.0.0.1:1/),
    });
    identity = { ...identity, flagged: false };
    const notFlagged = await request(oms).get('/sync/v1/site').set(headersOf(REMOTE1)).expect(503);
    expect(notFlagged.body.error.message).toMatch(/sitesync-central site set --site 3 --oms-central on --oms-central-url URL/);
  });

  it('identifies itself as the central server: its page, its JSON and its health', async () => {
    const page = await request(oms).get('/').set('accept', 'text/html').expect(200);
    expect(page.text).toMatch(/<div id="central-bar" role="status">Open mSupply central server<\/div>/);
    expect((await request(oms).get('/').set('accept', 'application/json').expect(200)).body).toMatchObject({
      role: 'oms-central',
      siteId: REMOTE2,
      flagged: true,
    });
    expect((await request(oms).get('/health').expect(200)).body).toEqual({ status: 'ok', role: 'oms-central', siteId: REMOTE2, flagged: true });
  });
});
