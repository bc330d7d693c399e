import { buildTopology, decideEdit, decideReceipt, orThrow, routeChange, type SyncRecord, type Topology } from '@sitesync/domain';
import { centralRecord, seedSiteInputs, seedStoreInputs, storeRecord } from '@sitesync/testkit';
import request from 'supertest';
import { siteInfoForRemote } from '@sitesync/domain';
import { HEADERS, siteInfoResponseSchema } from '../src/index';

import { adminHeaders, CENTRAL, createTestCentral, flagOmsCentral, headersOf, REMOTE1, REMOTE2, type TestCentral } from './central-test-setup';

/** What site 3 ("Remote site 2") reveals about itself when it syncs: its device, its app, its version. */
const OTHER_DEVICE = 'hw-of-remote-site-2-4f1e';
const OTHER_APP_VERSION = '9.8.7-other';

async function siteInfoOf(central: TestCentral, siteId: number, hardwareId?: string) {
  const res = await request(central.app)
    .get('/sync/v1/site')
    .set(headersOf(siteId, hardwareId !== undefined ? { hardwareId } : {}));
  expect(res.status).toBe(200);
  return { raw: JSON.stringify(res.body), info: siteInfoResponseSchema.parse(res.body) };
}

describe('GET /sync/v1/site tells a remote only what it needs', () => {
  let central: TestCentral;

  beforeEach(async () => {
    central = await createTestCentral();
    // the other remote syncs (its device, app version and sync times are recorded) and has a server URL and a code
    await request(central.app)
      .get('/sync/v1/site')
      .set({ ...headersOf(REMOTE2, { hardwareId: OTHER_DEVICE }), [HEADERS.appVersion]: OTHER_APP_VERSION })
      .expect(200);
    await request(central.app)
      .post('/sync/v1/pull')
      .set(headersOf(REMOTE2, { hardwareId: OTHER_DEVICE }))
      .send({ cursor: '0', limit: 500 })
      .expect(200);
    await request(central.app)
      .patch(`/admin/v1/sites/${REMOTE2}`)
      .set(adminHeaders)
      .send({ code: 'SECRET-CODE-R2', serverUrl: 'https://remote-2.internal.example:9443' })
      .expect(200);
  });

  it("holds no other site's name, code, server URL, app version, hardware id or sync times", async () => {
    const { raw, info } = await siteInfoOf(central, REMOTE1);
    for (const secret of ['Remote site 2', 'Sync server', 'SECRET-CODE-R2', 'remote-2.internal.example', OTHER_APP_VERSION, OTHER_DEVICE, '"SYNC"']) {
      expect(raw).not.toContain(secret);
    }
    const others = info.topology!.sites.filter((s) => s.id !== REMOTE1);
    expect(others.map((s) => s.id).sort()).toEqual([CENTRAL, REMOTE2]);
    for (const site of others) {
      expect(site).toMatchObject({ name: `site ${site.id}`, hardwareId: null, appName: null, appVersion: null, serverUrl: null, lastSyncedAt: null });
      expect(site.code).toBe(String(site.id));
    }
    expect(others.find((s) => s.id === CENTRAL)!.roles).toEqual(['central', 'primary']);
  });

  it('keeps its own site in full, without its connection fields (hardware id, login counters, app, sync times: they change on every login and sync, the topology does not)', async () => {
    await request(central.app).patch(`/admin/v1/sites/${REMOTE1}`).set(adminHeaders).send({ code: 'R1-CODE', syncIntervalMinutes: 15 }).expect(200);
    const { info } = await siteInfoOf(central, REMOTE1);
    const own = info.topology!.sites.find((s) => s.id === REMOTE1)!;
    expect(own).toMatchObject({
      name: 'Remote site 1',
      code: 'R1-CODE',
      syncIntervalMinutes: 15,
      appName: null,
      appVersion: null,
      hardwareId: null,
      failedLoginCount: 0,
      blocked: false,
      lastSyncedAt: null,
    });
  });

  it('refuses to flag a site whose stores are not all dispensaries, with the fix', async () => {
    const refused = await request(central.app)
      .patch(`/admin/v1/sites/${REMOTE2}`)
      .set(adminHeaders)
      .send({ omsCentral: true, omsCentralUrl: 'https://oms.example.org' })
      .expect(422);
    const violations = refused.body.error.data as { code: string; storeId: string; fix: string }[];
    expect(violations.map((v) => [v.code, v.storeId]).sort()).toEqual([
      ['topology.oms-central-store-not-dispensary', 'C'],
      ['topology.oms-central-store-not-dispensary', 'D'],
    ]);
    expect(violations[0]!.fix).toMatch(/--dispensary on/);
  });

  it('tells the Open mSupply central by its role and URL only', async () => {
    await flagOmsCentral(central);
    const { raw, info } = await siteInfoOf(central, REMOTE1);
    expect(info.omsCentralUrl).toBe('https://oms.example.org');
    expect(info.topology!.sites.find((s) => s.id === REMOTE2)).toMatchObject({
      roles: ['oms-central'],
      omsCentralUrl: 'https://oms.example.org',
      name: 'site 3',
    });
    expect(raw).not.toContain('Remote site 2');
    // the Open mSupply central routes its data to every site: it is told every copy of every store
    const full = await central.topology();
    const ofOms = await siteInfoOf(central, REMOTE2, OTHER_DEVICE);
    expect(ofOms.info.topology!.stores.map((s) => [s.id, s.copies])).toEqual(full.stores.map((s) => [s.id, s.copies]));
  });

  it("keeps every store, its own stores' copies, and of the others only their copies on it, the central and the primary", async () => {
    const { info } = await siteInfoOf(central, REMOTE1);
    const stores = new Map(info.topology!.stores.map((s) => [s.id, s]));
    expect([...stores.keys()].sort()).toEqual(['A', 'B', 'C', 'D', 'E', 'F']);
    // B is active on site 2: all its copies, the one on site 3 included
    expect(stores.get('B')!.copies).toEqual(expect.arrayContaining([{ siteId: REMOTE2, type: 'transfer' }]));
    // D is active on site 3 and not held on site 2: only its copy on the central
    expect(stores.get('D')!.copies).toEqual([{ siteId: CENTRAL, type: 'collector' }]);
  });

  it("gives the remote a topology its rules accept and decide by as on the central's whole topology", async () => {
    const full = await central.topology();
    const { info } = await siteInfoOf(central, REMOTE1);
    const built = buildTopology(info.topology!);
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    const reduced = built.value;
    const records: SyncRecord[] = [
      centralRecord('item', {}, 'item-1'),
      ...['A', 'B', 'C', 'D', 'E', 'F'].map((store) => storeRecord('stock_line', store, {}, `sl-${store}`)),
      { type: 'transaction', id: 'si-B-C', storeId: 'B', otherPartyStoreId: 'C', data: { type: 'SI', status: 'finalised' } },
      { type: 'transaction', id: 'ci-D-B', storeId: 'D', otherPartyStoreId: 'B', data: { type: 'CI', status: 'finalised' } },
    ];
    for (const record of records) {
      const receives = (decision: ReturnType<typeof decideReceipt>) => (decision.ok ? decision.value.receives : decision.error.code);
      expect([record.id, receives(decideReceipt(reduced, REMOTE1, record))]).toEqual([record.id, receives(decideReceipt(full, REMOTE1, record))]);
      const onRemote = routeChange(reduced, REMOTE1, record);
      const onCentral = routeChange(full, REMOTE1, record);
      expect([record.id, onRemote.ok && onRemote.value.destinations.length > 0]).toEqual([record.id, onCentral.ok && onCentral.value.destinations.length > 0]);
    }
    for (const store of full.stores) expect([store.id, reduced.syncTypeOn(store.id, REMOTE1)]).toEqual([store.id, full.syncTypeOn(store.id, REMOTE1)]);
  });

  it("never names another site after the remote's own name", async () => {
    const full = await central.topology();
    const renamed = full.updateSite(REMOTE1, { name: 'Site 3' });
    expect(renamed.ok).toBe(true);
    if (!renamed.ok) return;
    const info = siteInfoForRemote(renamed.value, REMOTE1);
    expect(buildTopology(info.topology!).ok).toBe(true);
    expect(info.topology!.sites.find((s) => s.id === REMOTE2)!.name).toBe('site 3*');
  });

  it('lets every remote decide edits, receipts and pushes as on the whole topology, also a mirrored primary', () => {
    const standard = orThrow(buildTopology({ sites: seedSiteInputs(), stores: seedStoreInputs() }));
    // mirrored sync: the primary is remote site 2, which holds a collector copy of every store
    const mirrored = orThrow(
      buildTopology({
        sites: seedSiteInputs().map((s) => ({ ...s, roles: s.id === CENTRAL ? ['central' as const] : s.id === REMOTE1 ? ['primary' as const] : [] })),
        stores: seedStoreInputs().map((store) =>
          store.activeSiteId === REMOTE1
            ? store
            : { ...store, copies: [...(store.copies ?? []).filter((c) => c.siteId !== REMOTE1), { siteId: REMOTE1, type: 'collector' as const }] },
        ),
      }),
    );
    const outcome = (topology: Topology, siteId: number, record: SyncRecord) => {
      const edit = decideEdit(topology, siteId, record);
      const receipt = decideReceipt(topology, siteId, record);
      const routing = routeChange(topology, siteId, record);
      return {
        edit: edit.ok ? 'may edit' : edit.error.code,
        receives: receipt.ok ? receipt.value.receives : receipt.error.code,
        pushable: routing.ok ? routing.value.destinations.length > 0 : routing.error.code,
      };
    };
    const stores = ['A', 'B', 'C', 'D', 'E', 'F'];
    const records: SyncRecord[] = [
      centralRecord('item', {}, 'item-1'),
      ...stores.map((store) => storeRecord('stock_line', store, {}, `sl-${store}`)),
      ...stores.flatMap((from) =>
        stores
          .filter((to) => to !== from)
          .map((to) => ({ type: 'transaction', id: `ci-${from}-${to}`, storeId: from, otherPartyStoreId: to, data: { type: 'CI', status: 'finalised' } })),
      ),
    ];
    for (const full of [standard, mirrored]) {
      for (const siteId of [REMOTE1, REMOTE2]) {
        const reduced = orThrow(buildTopology(siteInfoForRemote(full, siteId).topology!));
        for (const record of records) {
          expect([siteId, record.id, outcome(reduced, siteId, record)]).toEqual([siteId, record.id, outcome(full, siteId, record)]);
        }
      }
    }
  });
});
