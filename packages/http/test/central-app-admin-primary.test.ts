import type { SyncRecord } from '@sitesync/domain';
import { centralRecord, storeRecord } from '@sitesync/testkit';
import request from 'supertest';
import { errorBodySchema } from '../src/index';
import { adminHeaders, CENTRAL, createTestCentral, headersOf, REMOTE1, REMOTE2, type TestCentral } from './central-test-setup';

const errorOf = (body: unknown) => errorBodySchema.parse(body).error;

async function push(central: TestCentral, siteId: number, batchId: string, records: readonly SyncRecord[]) {
  return request(central.app).post('/sync/v1/push').set(headersOf(siteId)).send({ batchId, records });
}

async function storeFlags(central: TestCentral): Promise<Record<string, boolean>> {
  const res = await request(central.app).get('/admin/v1/stores').set(adminHeaders).expect(200);
  return Object.fromEntries((res.body as { stores: { id: string; centralisedProcurement: boolean }[] }).stores.map((s) => [s.id, s.centralisedProcurement]));
}

/**
 * Seed 002 "Centralised procurement": a preference switched on on the primary that propagates to
 * every satellite, which may override it for its own stores. Seed topology: site 1 central and
 * primary; stores A, E active on 1; B, F on 2; C, D on 3.
 */
describe('central app: centralised procurement as the primary preference', () => {
  it('switched on on the primary, it applies to the stores of every satellite; purchase orders are then entered on the primary only', async () => {
    const central = await createTestCentral();
    const on = await request(central.app).patch(`/admin/v1/sites/${CENTRAL}`).set(adminHeaders).send({ centralisedProcurement: true });
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ id: CENTRAL, centralisedProcurement: true });
    expect(await storeFlags(central)).toEqual({ A: true, B: true, C: true, D: true, E: true, F: true });

    const fromSatellite = await push(central, REMOTE1, 'po-1', [storeRecord('purchase_order', 'B', { total: 5 }, 'po-b-1')]);
    expect(fromSatellite.body).toMatchObject({
      accepted: 0,
      refused: [expect.objectContaining({ recordId: 'po-b-1', code: 'edit.central-store-data-not-primary' })],
    });
    const onPrimary = await request(central.app)
      .post('/admin/v1/records')
      .set(adminHeaders)
      .send({ records: [storeRecord('purchase_order', 'B', { total: 5 }, 'po-b-2')] });
    expect(onPrimary.status).toBe(200);
    expect(await central.storage.storage.records.get('purchase_order', 'po-b-2')).toMatchObject({ storeId: 'B' });
    expect(await central.storage.storage.records.get('purchase_order', 'po-b-1')).toBeNull();
  });

  it('a satellite overrides it for the stores active there (local procurement); null follows the primary again', async () => {
    const central = await createTestCentral();
    await request(central.app).patch(`/admin/v1/sites/${CENTRAL}`).set(adminHeaders).send({ centralisedProcurement: true }).expect(200);
    const local = await request(central.app).patch(`/admin/v1/sites/${REMOTE2}`).set(adminHeaders).send({ centralisedProcurement: false });
    expect(local.body).toMatchObject({ id: REMOTE2, centralisedProcurement: false });
    expect(await storeFlags(central)).toMatchObject({ B: true, F: true, C: false, D: false });

    // site 3 now enters its own stores' purchase orders, and the primary no longer may: one owner at a time
    expect((await push(central, REMOTE2, 'po-d', [storeRecord('purchase_order', 'D', { total: 1 }, 'po-d-1')])).body).toMatchObject({
      accepted: 1,
      refused: [],
    });
    const primaryEdit = await request(central.app)
      .post('/admin/v1/records')
      .set(adminHeaders)
      .send({ records: [storeRecord('purchase_order', 'D', { total: 2 }, 'po-d-1')] });
    expect(primaryEdit.status).toBe(422);
    expect(JSON.stringify(errorOf(primaryEdit.body).data)).toContain('edit.store-not-active-here');
    expect(await central.storage.storage.records.get('purchase_order', 'po-d-1')).toMatchObject({ data: { total: 1 } });

    await request(central.app).patch(`/admin/v1/sites/${REMOTE2}`).set(adminHeaders).send({ centralisedProcurement: null }).expect(200);
    expect(await storeFlags(central)).toMatchObject({ C: true, D: true });
  });

  it('is not fixed at store creation: a new store and a moved store take the preference of their site', async () => {
    const central = await createTestCentral();
    await request(central.app).patch(`/admin/v1/sites/${CENTRAL}`).set(adminHeaders).send({ centralisedProcurement: true }).expect(200);
    await request(central.app).patch(`/admin/v1/sites/${REMOTE2}`).set(adminHeaders).send({ centralisedProcurement: false }).expect(200);
    const added = await request(central.app).post('/admin/v1/stores').set(adminHeaders).send({ code: 'N', name: 'New clinic', activeSiteId: REMOTE1 });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ id: 'N', centralisedProcurement: true });
    const moved = await request(central.app).post('/admin/v1/stores/N/move').set(adminHeaders).send({ toSiteId: REMOTE2 });
    expect(moved.status).toBe(200);
    expect(moved.body.store).toMatchObject({ id: 'N', activeSiteId: REMOTE2, centralisedProcurement: false });
  });

  it('refuses it as a store setting, naming the site preference and how to set it, and changes nothing', async () => {
    const central = await createTestCentral();
    const add = await request(central.app)
      .post('/admin/v1/stores')
      .set(adminHeaders)
      .send({ code: 'N', name: 'New clinic', activeSiteId: REMOTE1, centralisedProcurement: true });
    expect(add.status).toBe(400);
    expect(errorOf(add.body)).toMatchObject({ code: 'validation_failed' });
    expect(errorOf(add.body).message).toContain(`PATCH /admin/v1/sites/${CENTRAL} {"centralisedProcurement": true}`);
    const patch = await request(central.app).patch('/admin/v1/stores/D').set(adminHeaders).send({ centralisedProcurement: true });
    expect(patch.status).toBe(400);
    expect(errorOf(patch.body).message).toContain('not a store setting');
    expect((await central.topology()).store('N')).toBeUndefined();
    expect((await central.topology()).store('D')).toMatchObject({ centralisedProcurement: false });
  });
});

/** Seed 002 "Mirrored sync": the primary role moves to an existing site that holds every store. */
describe('central app: moving the primary role', () => {
  it('is refused while the new primary lacks a copy of a store, with the rule and the fix', async () => {
    const central = await createTestCentral();
    const res = await request(central.app).post(`/admin/v1/sites/${REMOTE1}/make-primary`).set(adminHeaders).send({});
    expect(res.status).toBe(422);
    expect(errorOf(res.body).code).toBe('topology_rule_violated');
    expect(JSON.stringify(errorOf(res.body).data)).toContain('topology.store-missing-on-primary');
    expect((await central.topology()).primary.id).toBe(CENTRAL);
  });

  it('moves the role with the network preference; central data is then edited on the new primary only', async () => {
    const central = await createTestCentral();
    await request(central.app).patch(`/admin/v1/sites/${CENTRAL}`).set(adminHeaders).send({ centralisedProcurement: true }).expect(200);
    for (const store of ['D', 'E'])
      await request(central.app).put(`/admin/v1/stores/${store}/copies/${REMOTE1}`).set(adminHeaders).send({ type: 'collector' }).expect(200);
    // an item written now waits for site 2: the new primary must hold it before it edits central data
    await request(central.app)
      .post('/admin/v1/records')
      .set(adminHeaders)
      .send({ records: [centralRecord('item', { name: 'Amoxicillin' }, 'item-1')] })
      .expect(200);
    const early = await request(central.app).post(`/admin/v1/sites/${REMOTE1}/make-primary`).set(adminHeaders).send({});
    expect(early.status).toBe(409);
    expect(errorOf(early.body)).toMatchObject({ code: 'precondition_failed' });
    expect(errorOf(early.body).message).toMatch(/records still wait for site 2 .* "force": true/);

    const moved = await request(central.app).post(`/admin/v1/sites/${REMOTE1}/make-primary`).set(adminHeaders).send({ force: true });
    expect(moved.status).toBe(200);
    expect(moved.body.from).toMatchObject({ id: CENTRAL, roles: ['central'], centralisedProcurement: null });
    expect(moved.body.to).toMatchObject({ id: REMOTE1, roles: ['primary'], centralisedProcurement: true });
    expect(await storeFlags(central)).toMatchObject({ A: true, C: true });

    const onCentral = await request(central.app)
      .post('/admin/v1/records')
      .set(adminHeaders)
      .send({ records: [centralRecord('item', { name: 'changed on the central' }, 'item-1')] });
    expect(onCentral.status).toBe(422);
    expect(JSON.stringify(errorOf(onCentral.body).data)).toContain('edit.central-data-not-primary');
    expect((await push(central, REMOTE1, 'item-2', [centralRecord('item', { name: 'Paracetamol' }, 'item-2')])).body).toMatchObject({
      accepted: 1,
      refused: [],
    });
    expect((await push(central, REMOTE2, 'item-3', [centralRecord('item', { name: 'x' }, 'item-3')])).body).toMatchObject({ accepted: 0 });
  });

  it('is refused while the old (remote) primary had changes not pushed at its last sync, unless forced', async () => {
    const central = await createTestCentral();
    for (const store of ['D', 'E'])
      await request(central.app).put(`/admin/v1/stores/${store}/copies/${REMOTE1}`).set(adminHeaders).send({ type: 'collector' }).expect(200);
    await request(central.app).post(`/admin/v1/sites/${REMOTE1}/make-primary`).set(adminHeaders).send({ force: true }).expect(200);
    // site 2, the primary now, reports 3 changes it has not pushed yet when it pulls
    await request(central.app).post('/sync/v1/pull').set(headersOf(REMOTE1)).send({ cursor: '0', limit: 100, unpushed: 3 }).expect(200);
    const back = await request(central.app).post(`/admin/v1/sites/${CENTRAL}/make-primary`).set(adminHeaders).send({});
    expect(back.status).toBe(409);
    expect(errorOf(back.body).message).toMatch(/site 2 "Remote site 1", the primary now, had 3 changes not pushed/);
    expect((await central.topology()).primary.id).toBe(REMOTE1);
    await request(central.app).post(`/admin/v1/sites/${CENTRAL}/make-primary`).set(adminHeaders).send({ force: true }).expect(200);
    expect((await central.topology()).primary.id).toBe(CENTRAL);
  });
});

/** Seed 002 "Mirrored sync": stores are created on the primary, reach the central, and get their site assigned there. */
describe('central app: stores created on a mirrored primary', () => {
  async function mirrored(): Promise<TestCentral> {
    const central = await createTestCentral();
    for (const store of ['D', 'E'])
      await request(central.app).put(`/admin/v1/stores/${store}/copies/${REMOTE1}`).set(adminHeaders).send({ type: 'collector' }).expect(200);
    await request(central.app).post(`/admin/v1/sites/${REMOTE1}/make-primary`).set(adminHeaders).send({ force: true }).expect(200);
    return central;
  }

  it('a store record pushed by the primary for a new store adds the store, active on the primary; an admin then assigns its site', async () => {
    const central = await mirrored();
    const pushed = await push(central, REMOTE1, 'new-store', [
      storeRecord('store', 'N', { code: 'N-01', name: 'North clinic' }, 'N'),
      storeRecord('store_preference', 'N', { pickingOrder: 'fefo' }, 'N-prefs'),
    ]);
    expect(pushed.body).toMatchObject({ accepted: 2, refused: [] });
    expect((await central.topology()).store('N')).toMatchObject({
      code: 'N-01',
      name: 'North clinic',
      activeSiteId: REMOTE1,
      copies: [{ siteId: CENTRAL, type: 'collector' }],
    });

    const assigned = await request(central.app).post('/admin/v1/stores/N/move').set(adminHeaders).send({ toSiteId: REMOTE2, oldSiteCopy: 'collector' });
    expect(assigned.status).toBe(200);
    expect(assigned.body.store).toMatchObject({ activeSiteId: REMOTE2 });
    // the store's new site receives the store record and its preferences
    const pulled = await request(central.app).post('/sync/v1/pull').set(headersOf(REMOTE2)).send({ cursor: '0', limit: 100 }).expect(200);
    const ids = (pulled.body as { records: { type: string; id: string }[] }).records.map((r) => `${r.type}:${r.id}`);
    expect(ids).toEqual(expect.arrayContaining(['store:N', 'store_preference:N-prefs']));
  });

  it('a store record for an unknown store is refused from any other site, and from the central, and adds nothing', async () => {
    const central = await mirrored();
    const fromSatellite = await push(central, REMOTE2, 'rogue-store', [storeRecord('store', 'Z', { name: 'Rogue' }, 'Z')]);
    expect(fromSatellite.body).toMatchObject({ accepted: 0, refused: [expect.objectContaining({ recordId: 'Z', code: 'record.unknown-store' })] });
    const onCentral = await request(central.app)
      .post('/admin/v1/records')
      .set(adminHeaders)
      .send({ records: [storeRecord('store', 'Y', { name: 'Y' }, 'Y')] });
    expect(onCentral.status).toBe(422);
    const topology = await central.topology();
    expect(topology.store('Z')).toBeUndefined();
    expect(topology.store('Y')).toBeUndefined();
  });
});
