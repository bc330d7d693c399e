import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { centralRecord } from '@sitesync/testkit';
import request from 'supertest';
import { HttpCentralSyncGateway, sha256Hex, SyncHttpError } from '../src/index';
import { adminHeaders, createTestCentral, passwordOf, REMOTE1, SITE_NAMES, type TestCentral } from './central-test-setup';

/**
 * What `sitesync-remote` relies on from the sync API for its device binding, `update` and `status`:
 * the refusal codes after a rename, a new password or another device, and the count of what waits
 * for the site after the cursor it sends.
 */
describe('the sync API for the remote’s credentials, device and status', () => {
  let central: TestCentral;
  let server: Server;
  let baseUrl: string;

  const gateway = (options: { name?: string; password?: string; hardwareId?: string } = {}) =>
    new HttpCentralSyncGateway({
      baseUrl,
      siteName: options.name ?? SITE_NAMES[REMOTE1]!,
      passwordSha256: sha256Hex(options.password ?? passwordOf(REMOTE1)),
      hardwareId: options.hardwareId ?? 'machine-a',
    });

  const refusalOf = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a refusal');
      },
      (error: unknown) => {
        if (!(error instanceof SyncHttpError)) throw error;
        return { code: error.code, status: error.status };
      },
    );

  beforeEach(async () => {
    central = await createTestCentral();
    server = createServer(central.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('refuses a second device until the hardware id is reset, then binds the next one', async () => {
    await gateway({ hardwareId: 'machine-a' }).siteInfo();
    expect(await refusalOf(gateway({ hardwareId: 'machine-b' }).siteInfo())).toEqual({ code: 'site_incorrect_hardware_id', status: 401 });
    expect(await refusalOf(gateway({ hardwareId: 'machine-b' }).status(0n))).toEqual({ code: 'site_incorrect_hardware_id', status: 401 });
    await request(central.app).post(`/admin/v1/sites/${REMOTE1}/reset-hardware-id`).set(adminHeaders).expect(200);
    await gateway({ hardwareId: 'machine-b' }).siteInfo();
    expect(await refusalOf(gateway({ hardwareId: 'machine-a' }).siteInfo())).toEqual({ code: 'site_incorrect_hardware_id', status: 401 });
  });

  it('after a rename or a new password, the old credentials get site_auth_failed and the new ones work (what `update` checks)', async () => {
    await gateway().siteInfo();
    await request(central.app).patch(`/admin/v1/sites/${REMOTE1}`).set(adminHeaders).send({ name: 'Remote site 1 renamed' }).expect(200);
    expect(await refusalOf(gateway().siteInfo())).toEqual({ code: 'site_auth_failed', status: 401 });
    expect((await gateway({ name: 'Remote site 1 renamed' }).siteInfo()).siteId).toBe(REMOTE1);

    await request(central.app).put(`/admin/v1/sites/${REMOTE1}/password`).set(adminHeaders).send({ password: 'a new password' }).expect(200);
    expect(await refusalOf(gateway({ name: 'Remote site 1 renamed' }).siteInfo())).toEqual({ code: 'site_auth_failed', status: 401 });
    expect((await gateway({ name: 'Remote site 1 renamed', password: 'a new password' }).siteInfo()).siteId).toBe(REMOTE1);
  });

  it('counts what waits for the site after the cursor it sends (`status` incoming)', async () => {
    const before = await gateway().status(0n);
    await request(central.app)
      .post('/admin/v1/records')
      .set(adminHeaders)
      .send({ records: [centralRecord('item', {}, 'item-w1'), centralRecord('item', {}, 'item-w2')] })
      .expect(200);
    expect((await gateway().status(0n)).waiting).toBe(before.waiting + 2);
    const pulled = await gateway().pull(0n, 5000);
    expect(pulled.remaining).toBe(0);
    expect((await gateway().status(pulled.nextCursor)).waiting).toBe(0);
  });
});
