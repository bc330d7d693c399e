import { MAX_QUARANTINED_PER_SITE } from '@sitesync/domain';
import request from 'supertest';
import { adminHeaders, createTestCentral, headersOf, REMOTE1 } from './central-test-setup';

describe('central app: refusals kept per site are bounded, and read a page at a time', () => {
  it(`keeps the ${MAX_QUARANTINED_PER_SITE} most recent refusals of a site, counts the dropped ones, and pages through the issues`, async () => {
    const central = await createTestCentral();
    // store B is active on another site: every one of these is refused
    const forged = (batch: number) =>
      Array.from({ length: 300 }, (_, i) => ({ type: 'stock_line', id: `forged-${batch}-${String(i).padStart(3, '0')}`, storeId: 'C', data: {} }));
    for (let batch = 0; batch < 4; batch++) {
      central.clock.advance(1_000);
      const answer = await request(central.app)
        .post('/sync/v1/push')
        .set(headersOf(REMOTE1))
        .send({ batchId: `forged:${batch}`, records: forged(batch) });
      expect(answer.status).toBe(200);
      expect(answer.body.refused).toHaveLength(300);
    }
    const kept = await central.storage.storage.issues.open({ prefix: `quarantine:${REMOTE1}:` });
    expect(kept).toHaveLength(MAX_QUARANTINED_PER_SITE);
    expect(kept.some((i) => i.key.includes('forged-3-'))).toBe(true); // the most recent stay
    const [dropped] = await central.storage.storage.issues.open({ prefix: `quarantine-dropped:${REMOTE1}` });
    expect(dropped).toMatchObject({ occurrences: 4 * 300 - MAX_QUARANTINED_PER_SITE, violation: { code: 'push.quarantine-full' } });

    const keys: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const res = await request(central.app)
        .get('/admin/v1/issues')
        .query({ limit: 400, ...(after !== null ? { after } : {}) })
        .set(adminHeaders);
      expect(res.status).toBe(200);
      expect(res.body.issues.length).toBeLessThanOrEqual(400);
      keys.push(...(res.body.issues as { key: string }[]).map((i) => i.key));
      after = res.body.next as string | null;
      if (after === null) break;
    }
    expect(keys).toHaveLength(MAX_QUARANTINED_PER_SITE + 1);
    expect(new Set(keys).size).toBe(keys.length);
    const site = await request(central.app).get('/admin/v1/issues').query({ prefix: `quarantine-dropped:` }).set(adminHeaders);
    expect(site.body).toMatchObject({ issues: [{ key: `quarantine-dropped:${REMOTE1}` }], next: null });
    const bad = await request(central.app).get('/admin/v1/issues').query({ limit: 5000 }).set(adminHeaders);
    expect(bad.status).toBe(400);
  });
});
