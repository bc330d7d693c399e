import request from 'supertest';
import { createTestCentral, headersOf, REMOTE1, REMOTE2, siteHeaders, testHasher } from './central-test-setup';

const from = (address: string) => ({ 'x-forwarded-for': address });
const errorOf = (body: unknown) => (body as { error: { code: string; message: string } }).error;

/** Attacks on site logins without the site's credentials: nobody can lock a site out or make the central hash without bound. */
describe('central app: logins cannot be turned against a site', () => {
  const limits = { perSource: 30, perName: 10, windowSeconds: 60 };

  it("bad logins for a site's name from other devices never block it; over the per-name limit they are refused unchecked, and the site's own device still syncs", async () => {
    const central = await createTestCentral({ trustProxy: true, loginLimits: limits });
    expect(
      (
        await request(central.app)
          .get('/sync/v1/site')
          .set(headersOf(REMOTE1, { hardwareId: 'tablet-1' }))
          .set(from('10.0.0.2'))
      ).status,
    ).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      const attacker = siteHeaders('Remote site 1', `guess-${i}`, { hardwareId: `attacker-${i}` });
      statuses.push(
        (
          await request(central.app)
            .get('/sync/v1/site')
            .set(attacker)
            .set(from(`10.9.${i}.1`))
        ).status,
      );
    }
    expect(statuses.slice(0, limits.perName)).toEqual(Array(limits.perName).fill(401));
    expect(new Set(statuses.slice(limits.perName))).toEqual(new Set([429]));
    expect((await central.topology()).site(REMOTE1)).toMatchObject({ blocked: false, failedLoginCount: 0 });
    const own = await request(central.app)
      .get('/sync/v1/site')
      .set(headersOf(REMOTE1, { hardwareId: 'tablet-1' }))
      .set(from('10.0.0.2'));
    expect(own.status).toBe(200);
  });

  it('a flood of bad logins from one address is cut off after the per-source limit: the password hash runs at most that often', async () => {
    const central = await createTestCentral({ trustProxy: true, loginLimits: limits });
    const verify = jest.spyOn(testHasher, 'verify');
    try {
      let limited = 0;
      for (let i = 0; i < 60; i++) {
        const answer = await request(central.app)
          .get('/sync/v1/site')
          .set(siteHeaders(`no-such-site-${i}`, 'x'))
          .set(from('10.6.6.6'));
        if (answer.status === 429) {
          limited++;
          expect(errorOf(answer.body)).toMatchObject({ code: 'rate_limited', message: expect.stringContaining('Too many failed logins') });
          expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
        }
      }
      expect(limited).toBe(60 - limits.perSource);
      expect(verify.mock.calls.length).toBeLessThanOrEqual(limits.perSource + 1); // (+1: the dummy hash made once)
      // another address is not affected
      expect((await request(central.app).get('/sync/v1/site').set(headersOf(REMOTE1)).set(from('10.0.0.3'))).status).toBe(200);
    } finally {
      verify.mockRestore();
    }
  });

  it('answers an unknown site name and a known one with a wrong password alike, also when the site is blocked', async () => {
    const central = await createTestCentral({ trustProxy: true });
    const unknown = await request(central.app).get('/sync/v1/site').set(siteHeaders('Nobody', 'x')).set(from('10.1.0.1'));
    const known = await request(central.app).get('/sync/v1/site').set(siteHeaders('Remote site 1', 'x')).set(from('10.1.0.2'));
    expect([unknown.status, errorOf(unknown.body)]).toEqual([known.status, errorOf(known.body)]);
    for (let i = 0; i < 5; i++) await request(central.app).get('/sync/v1/site').set(siteHeaders('Remote site 1', 'x')).set(from('10.1.0.3'));
    expect((await central.topology()).site(REMOTE1)).toMatchObject({ blocked: true });
    const blockedWrong = await request(central.app).get('/sync/v1/site').set(siteHeaders('Remote site 1', 'x')).set(from('10.1.0.4'));
    expect([blockedWrong.status, errorOf(blockedWrong.body)]).toEqual([known.status, errorOf(known.body)]);
  });
});

describe('central app: one site cannot take all of the central', () => {
  it('serves at most maxConcurrentPerSite requests of one site at once; the others are refused 429, other sites are served', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const central = await createTestCentral({ maxConcurrentPerSite: 2 });
    const slowPull = central.storage.storage.changes.read.bind(central.storage.storage.changes);
    jest.spyOn(central.storage.storage.changes, 'read').mockImplementation(async (after, limit) => {
      await gate;
      return slowPull(after, limit);
    });
    const pull = () => request(central.app).post('/sync/v1/pull').set(headersOf(REMOTE1)).send({ cursor: '0', limit: 10 });
    const first = [pull(), pull()].map((r) => r.then((x) => x));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const third = await pull();
    expect(third.status).toBe(429);
    expect(errorOf(third.body)).toMatchObject({ code: 'rate_limited', message: expect.stringContaining('requests in progress') });
    expect((await request(central.app).get('/sync/v1/site').set(headersOf(REMOTE2))).status).toBe(200);
    release();
    expect((await Promise.all(first)).map((r) => r.status)).toEqual([200, 200]);
    expect((await pull()).status).toBe(200);
  });
});

describe('central app: concurrent bad logins', () => {
  it('cannot all pass the per-source limit on the same count: the password hash runs at most the limit', async () => {
    const central = await createTestCentral({ trustProxy: true, loginLimits: { perSource: 30, perName: 10, windowSeconds: 60 } });
    const verify = jest.spyOn(testHasher, 'verify');
    try {
      const answers = await Promise.all(
        Array.from({ length: 120 }, (_, i) =>
          request(central.app)
            .get('/sync/v1/site')
            .set(siteHeaders(`made-up-${i}`, 'x'))
            .set(from('10.7.7.7')),
        ),
      );
      expect(answers.filter((a) => a.status === 401)).toHaveLength(30);
      expect(answers.filter((a) => a.status === 429)).toHaveLength(90);
      expect(verify.mock.calls.length).toBeLessThanOrEqual(31);
    } finally {
      verify.mockRestore();
    }
  });
});
