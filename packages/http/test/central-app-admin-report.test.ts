import request from 'supertest';
import { adminSitesResponseSchema, syncReportSchema } from '../src/index';
import { adminHeaders, createTestCentral, headersOf, REMOTE1, REMOTE2 } from './central-test-setup';

const DAY = 86_400_000;

describe('central app: last connected, last synced and the sync report', () => {
  it('a site that connects but never catches up shows its last connection, stays stale, and counts what waits for it', async () => {
    const central = await createTestCentral();
    // something waits for REMOTE1: a record of its store B written on the central
    await request(central.app)
      .post('/admin/v1/records')
      .set(adminHeaders)
      .send({ records: [{ type: 'item', id: 'item-1', data: { name: 'BCG' } }] })
      .expect(200);
    const connected = central.clock.now();
    await request(central.app).get('/sync/v1/site').set(headersOf(REMOTE1)).expect(200);

    const sites = adminSitesResponseSchema.parse((await request(central.app).get('/admin/v1/sites').set(adminHeaders).expect(200)).body).sites;
    const r1 = sites.find((s) => s.id === REMOTE1)!;
    expect(r1).toMatchObject({ lastConnectedAt: connected, lastSyncedAt: null, stale: true });
    expect(r1.waiting).toBeGreaterThan(0);

    // it pulls everything: caught up, no longer stale
    await request(central.app).post('/sync/v1/pull').set(headersOf(REMOTE1)).send({ cursor: '0', limit: 1000 }).expect(200);
    central.clock.advance(31 * DAY);
    const report = syncReportSchema.parse((await request(central.app).get('/admin/v1/report').set(adminHeaders).expect(200)).body);
    expect(report.staleAfterDays).toBe(30);
    // 31 days later both remotes are over a month: stale, and so are their stores
    expect(report.sites.find((s) => s.siteId === REMOTE1)).toMatchObject({ lastSyncedAt: connected, stale: true });
    expect(report.sites.find((s) => s.siteId === REMOTE2)).toMatchObject({ lastConnectedAt: null, lastSyncedAt: null, stale: true });
    expect(report.stores.find((s) => s.storeId === 'B')).toMatchObject({ siteId: REMOTE1, stale: true });
    expect(report.stores.find((s) => s.storeId === 'A')).toMatchObject({ stale: false });

    const viewer = (await request(central.app).post('/admin/v1/tokens').set(adminHeaders).send({ role: 'viewer', label: 'v' })).body as { token: string };
    expect(
      (
        await request(central.app)
          .get('/admin/v1/report')
          .set({ authorization: `Bearer ${viewer.token}` })
      ).status,
    ).toBe(200);
  });
});
