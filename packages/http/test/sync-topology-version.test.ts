import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { runSyncCycle, type SiteInfo } from '@sitesync/domain';
import { createInMemoryStorage, ManualClock } from '@sitesync/testkit';
import request from 'supertest';
import { HttpCentralSyncGateway, sha256Hex, siteInfoResponseSchema } from '../src/index';
import { adminHeaders, createTestCentral, headersOf, passwordOf, REMOTE1, REMOTE2, SITE_NAMES, type TestCentral } from './central-test-setup';

async function siteInfoOf(central: TestCentral, siteId: number, topologyVersion?: string) {
  const query = topologyVersion === undefined ? '' : `?topologyVersion=${encodeURIComponent(topologyVersion)}`;
  const res = await request(central.app).get(`/sync/v1/site${query}`).set(headersOf(siteId));
  expect(res.status).toBe(200);
  return siteInfoResponseSchema.parse(res.body);
}

describe('GET /sync/v1/site sends the topology only when it changed', () => {
  let central: TestCentral;

  beforeEach(async () => {
    central = await createTestCentral();
  });

  it('gives a version with the topology; the same version sent back leaves the topology out and keeps the rest', async () => {
    const first = await siteInfoOf(central, REMOTE1);
    expect(first.topology).toBeDefined();
    expect(first.topologyVersion).toMatch(/^[A-Za-z0-9_-]{22}$/);

    const again = await siteInfoOf(central, REMOTE1, first.topologyVersion);
    expect(again.topology).toBeUndefined();
    expect(again).toEqual({ ...first, topology: undefined, topologyVersion: first.topologyVersion, syncedBefore: again.syncedBefore });
    expect(again.stores).toEqual(first.stores);

    // an unknown version (another central, a restored database, a made-up one) gets the whole topology
    expect((await siteInfoOf(central, REMOTE1, 'not-a-version')).topology).toEqual(first.topology);
  });

  it('keeps the version while only logins and syncs happen, and moves it when the admin changes what the site is told', async () => {
    const before = await siteInfoOf(central, REMOTE1);
    // the other site logs in from its device and syncs: its connection fields change, the topology does not
    await request(central.app).get('/sync/v1/site').set(headersOf(REMOTE2)).expect(200);
    await request(central.app).post('/sync/v1/pull').set(headersOf(REMOTE2)).send({ cursor: '0', limit: 500 }).expect(200);
    await request(central.app).post('/sync/v1/pull').set(headersOf(REMOTE1)).send({ cursor: '0', limit: 500 }).expect(200);
    expect((await siteInfoOf(central, REMOTE1, before.topologyVersion)).topology).toBeUndefined();

    // the site's own sync interval changes: it is part of what it is told
    await request(central.app).patch(`/admin/v1/sites/${REMOTE1}`).set(adminHeaders).send({ syncIntervalMinutes: 30 }).expect(200);
    const after = await siteInfoOf(central, REMOTE1, before.topologyVersion);
    expect(after.topologyVersion).not.toBe(before.topologyVersion);
    expect(after.topology!.sites.find((s) => s.id === REMOTE1)!.syncIntervalMinutes).toBe(30);
    expect((await siteInfoOf(central, REMOTE1, after.topologyVersion)).topology).toBeUndefined();
  });
});

describe('a remote over HTTP holds the topology it was sent and gets it again only when it changed', () => {
  let central: TestCentral;
  let server: Server;
  let baseUrl: string;

  beforeEach(async () => {
    central = await createTestCentral();
    server = createServer(central.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('syncs with the topology it holds, and applies a new one (a store given a copy on it) in the cycle after the change', async () => {
    const answers: SiteInfo[] = [];
    const gateway = new HttpCentralSyncGateway({
      baseUrl,
      siteName: SITE_NAMES[REMOTE1]!,
      passwordSha256: sha256Hex(passwordOf(REMOTE1)),
      hardwareId: 'device-of-remote-1',
    });
    const recording = Object.assign(Object.create(gateway) as HttpCentralSyncGateway, {
      siteInfo: async (options?: { readonly topologyVersion?: string }) => {
        const info = await gateway.siteInfo(options);
        answers.push(info);
        return info;
      },
    });
    const site = createInMemoryStorage();
    const cycle = () =>
      runSyncCycle({ unitOfWork: site, gateway: recording, clock: new ManualClock(), ids: { next: () => randomUUID() } }, REMOTE1, { requestSize: 500 });

    await cycle();
    await cycle();
    expect(answers.map((a) => a.topology !== undefined)).toEqual([true, false]);
    const held = (await site.storage.topology.load())!;

    // store E (of the other remote) gets a collector copy on this site
    const before = held.syncTypeOn('E', REMOTE1);
    await request(central.app).put(`/admin/v1/stores/E/copies/${REMOTE1}`).set(adminHeaders).send({ type: 'collector' }).expect(200);
    await cycle();
    expect(answers.map((a) => a.topology !== undefined)).toEqual([true, false, true]);
    expect(before).not.toBe('collector');
    expect((await site.storage.topology.load())!.syncTypeOn('E', REMOTE1)).toBe('collector');
    await cycle();
    expect(answers[3]!.topology).toBeUndefined();
    expect((await site.storage.topology.load())!.syncTypeOn('E', REMOTE1)).toBe('collector');
  });
});
