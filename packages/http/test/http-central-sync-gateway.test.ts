import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { centralRecord, storeRecord } from '@sitesync/testkit';
import { AdminClient, HEADERS, HttpCentralSyncGateway, sha256Hex, SyncHttpError } from '../src/index';
import { ADMIN_TOKEN, CENTRAL, createTestCentral, passwordOf, REMOTE1, REMOTE2, SITE_NAMES, type TestCentral } from './central-test-setup';

interface Exchange {
  readonly method: string;
  readonly url: string;
  readonly requestHeaders: Headers;
  readonly status: number;
  readonly responseHeaders: Headers;
}

/** fetch that remembers what went over the wire. */
function recordingFetch(exchanges: Exchange[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    exchanges.push({
      method: init?.method ?? 'GET',
      url: String(input),
      requestHeaders: new Headers(init?.headers),
      status: response.status,
      responseHeaders: response.headers,
    });
    return response;
  };
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

describe('HttpCentralSyncGateway and AdminClient against the app on a real port', () => {
  let central: TestCentral;
  let server: Server;
  let baseUrl: string;
  const exchanges: Exchange[] = [];

  const gatewayFor = (siteId: number, options: { password?: string; hardwareId?: string; apiVersion?: number; timeoutMs?: number } = {}) =>
    new HttpCentralSyncGateway({
      baseUrl: `${baseUrl}/`,
      siteName: SITE_NAMES[siteId]!,
      passwordSha256: sha256Hex(options.password ?? passwordOf(siteId)),
      hardwareId: options.hardwareId ?? `device-of-${siteId}`,
      appName: 'gateway-test',
      appVersion: '9.9.9',
      ...(options.apiVersion !== undefined ? { apiVersion: options.apiVersion } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      fetch: recordingFetch(exchanges),
    });

  beforeEach(async () => {
    exchanges.length = 0;
    central = await createTestCentral();
    server = createServer(central.app);
    baseUrl = await listen(server);
  });

  afterEach(() => close(server));

  it('gets the site info, with dates parsed and the app name recorded on the central', async () => {
    const info = await gatewayFor(REMOTE1).siteInfo();
    expect(info.siteId).toBe(REMOTE1);
    expect(info.stores).toEqual(expect.arrayContaining([{ storeId: 'B', syncType: 'active' }]));
    expect(info.topology!.sites).toHaveLength(3);
    expect((await central.topology()).site(REMOTE1)).toMatchObject({ hardwareId: `device-of-${REMOTE1}`, appName: 'gateway-test', appVersion: '9.9.9' });
    expect(exchanges[0]!.requestHeaders.get(HEADERS.apiVersion)).toBe('1');
  });

  it('pushes gzip-compressed, pulls with bigint cursors and gzip responses, end to end between two sites', async () => {
    const remote1 = gatewayFor(REMOTE1);
    const remote2 = gatewayFor(REMOTE2);
    const admin = new AdminClient({ baseUrl, adminToken: ADMIN_TOKEN, fetch: recordingFetch(exchanges) });

    const items = Array.from({ length: 40 }, (_, i) => centralRecord('item', { name: `Item ${i}`, text: 'padding '.repeat(20) }, `item-${i}`));
    expect(await admin.putRecords(items)).toEqual({ written: 40 });

    const pushed = await remote2.push('r2-batch-1', [storeRecord('stock_line', 'C', { qty: 1 }, 'sl-c'), storeRecord('stock_line', 'B', {}, 'sl-b')]);
    expect(pushed).toMatchObject({
      batchId: 'r2-batch-1',
      accepted: 1,
      refused: [expect.objectContaining({ recordId: 'sl-b', code: 'edit.store-not-active-here' })],
    });
    const pushExchange = exchanges.find((e) => e.url.endsWith('/sync/v1/push'))!;
    expect(pushExchange.requestHeaders.get('content-encoding')).toBe('gzip');
    expect(pushExchange.requestHeaders.get('authorization')).toMatch(/^Basic /);

    const ids: string[] = [];
    let cursor = 0n;
    for (;;) {
      const page = await remote1.pull(cursor, 15);
      expect(typeof page.nextCursor).toBe('bigint');
      ids.push(...page.records.map((r) => r.id));
      cursor = page.nextCursor;
      if (page.remaining === 0) break;
    }
    expect(ids.sort()).toEqual(items.map((r) => r.id).sort());
    const pullExchange = exchanges.find((e) => e.url.endsWith('/sync/v1/pull'))!;
    expect(pullExchange.requestHeaders.get('accept-encoding')).toBe('gzip');
    expect(pullExchange.responseHeaders.get('content-encoding')).toBe('gzip');

    const status = await remote1.status(cursor);
    expect(status).toMatchObject({ siteId: REMOTE1, waiting: 0, quarantined: [] });
    expect(status.lastSyncedAt).toEqual(central.clock.now());
    const status2 = await remote2.status(0n);
    expect(status2.quarantined).toEqual([expect.objectContaining({ code: 'edit.store-not-active-here' })]);
  });

  it('throws SyncHttpError with the code, status and message of the error body', async () => {
    const wrong = gatewayFor(REMOTE1, { password: 'not it' });
    const error = await wrong.siteInfo().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncHttpError);
    expect(error).toMatchObject({ code: 'site_auth_failed', status: 401 });
    expect((error as Error).message).toContain('Wrong site name or password');

    await expect(gatewayFor(REMOTE1, { apiVersion: 7 }).pull(0n, 10)).rejects.toMatchObject({ code: 'api_version_incompatible', status: 409 });

    await gatewayFor(REMOTE1).siteInfo();
    await expect(gatewayFor(REMOTE1, { hardwareId: 'another-device' }).push('b', [])).rejects.toMatchObject({
      code: 'site_incorrect_hardware_id',
      status: 401,
    });
  });

  it('propagates network failures and timeouts as thrown errors', async () => {
    const silent = createServer(() => {
      // never answers
    });
    const silentUrl = await listen(silent);
    try {
      const gateway = new HttpCentralSyncGateway({ baseUrl: silentUrl, siteName: 'x', passwordSha256: sha256Hex('x'), hardwareId: 'h', timeoutMs: 100 });
      await expect(gateway.siteInfo()).rejects.toMatchObject({ name: 'TimeoutError' });
    } finally {
      await close(silent);
    }
    const nowhere = new HttpCentralSyncGateway({ baseUrl: silentUrl, siteName: 'x', passwordSha256: sha256Hex('x'), hardwareId: 'h', timeoutMs: 2000 });
    const error = await nowhere.siteInfo().catch((e: unknown) => e);
    // fetch's own TypeError (from Node's realm, so not instanceof this realm's Error)
    expect(error).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
    expect(error).not.toBeInstanceOf(SyncHttpError);
  });

  it('reports a non-sitesync error answer (a proxy page) as SyncHttpError with the status', async () => {
    const proxy = createServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad gateway</html>');
    });
    const proxyUrl = await listen(proxy);
    try {
      const gateway = new HttpCentralSyncGateway({ baseUrl: proxyUrl, siteName: 'x', passwordSha256: sha256Hex('x'), hardwareId: 'h' });
      await expect(gateway.siteInfo()).rejects.toMatchObject({ code: 'internal', status: 502, message: expect.stringContaining('Bad gateway') });
    } finally {
      await close(proxy);
    }
  });

  it('AdminClient covers the admin routes and throws SyncHttpError on refusals', async () => {
    const admin = new AdminClient({ baseUrl, adminToken: ADMIN_TOKEN });

    const added = await admin.addSite({ name: 'Clinic 4', password: 'clinic' });
    expect(added).toMatchObject({ id: 4, name: 'Clinic 4', lastSyncedAt: null });
    const store = await admin.addStore({ code: 'G', name: 'Store G', activeSiteId: 4 });
    expect(store.copies).toEqual([{ siteId: CENTRAL, type: 'collector' }]);
    expect((await admin.listStores()).map((s) => s.id)).toContain('G');

    const clinic = new HttpCentralSyncGateway({ baseUrl, siteName: 'Clinic 4', passwordSha256: sha256Hex('clinic'), hardwareId: 'tablet-1' });
    expect((await clinic.siteInfo()).stores).toEqual([{ storeId: 'G', syncType: 'active' }]);

    await admin.setPassword(4, 'clinic-2');
    await expect(clinic.siteInfo()).rejects.toMatchObject({ code: 'site_auth_failed' });
    await admin.unblockSite(4);
    await admin.resetHardwareId(4);
    const sites = await admin.listSites();
    expect(sites.find((s) => s.id === 4)).toMatchObject({ hardwareId: null, failedLoginCount: 0, stale: true, waiting: 0 });

    expect(await admin.setCopyType('G', REMOTE1, 'transfer')).toMatchObject({ copies: expect.arrayContaining([{ siteId: REMOTE1, type: 'transfer' }]) });
    const refused = await admin.setCopyType('G', CENTRAL, 'none').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SyncHttpError);
    expect(refused).toMatchObject({
      code: 'topology_rule_violated',
      status: 422,
      data: [expect.objectContaining({ code: 'topology.store-missing-on-central' })],
    });

    await expect(admin.putRecords([storeRecord('stock_line', 'G', {}, 'x')])).rejects.toMatchObject({ code: 'record_refused' });
    expect(await admin.issues()).toEqual([]);

    await expect(new AdminClient({ baseUrl, adminToken: 'wrong' }).listSites()).rejects.toMatchObject({ code: 'admin_auth_failed', status: 401 });
  });
});
