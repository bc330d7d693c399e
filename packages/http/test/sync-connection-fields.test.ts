import request from 'supertest';
import { HEADERS } from '../src/index';
import { createTestCentral, headersOf, REMOTE1 } from './central-test-setup';

describe("a site's connection fields written by different requests", () => {
  it('a login that changes the site (its app version) writes only what it decided: a sync time written meanwhile is kept', async () => {
    const central = await createTestCentral();
    const repository = central.storage.storage.topology;
    await request(central.app).get('/sync/v1/site').set(headersOf(REMOTE1)).expect(200);
    const synced = new Date('2026-12-01T10:00:00.000Z');
    // another request (another process) writes the site's last sync just after this login read the site
    const read = repository.site.bind(repository);
    const spy = jest.spyOn(repository, 'site').mockImplementationOnce(async (id) => {
      const site = await read(id);
      await repository.updateSite(id, { lastSyncedAt: synced });
      return site;
    });
    await request(central.app)
      .get('/sync/v1/site')
      .set({ ...headersOf(REMOTE1), [HEADERS.appVersion]: '2.0.0' })
      .expect(200);
    spy.mockRestore();
    expect(await repository.site(REMOTE1)).toMatchObject({ appVersion: '2.0.0', lastSyncedAt: synced });
  });
});
