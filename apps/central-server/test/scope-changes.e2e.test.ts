import { patientsOf, recordKey, respondingId, siteHolds, visibilityContext, type SyncRecord, type SyncStorage } from '@sitesync/domain';
import { centralRecord, customerInvoice, patientRecord, recordsOf, storeRecord } from '@sitesync/testkit';
import { Cluster, ENGINES } from './cluster';

const stock = (id: string, storeId: string, packs = 1): SyncRecord => storeRecord('stock_line', storeId, { itemId: 'bcg', packs }, id);

/**
 * Scope changes applied to data, end to end over HTTP: when the topology (copies, store flags, store
 * moves) or patient visibility changes, or a site loses its data file, every site ends up holding
 * exactly what the rules route to it, records written before the change included.
 */
describe.each(ENGINES)('scope changes with the central on $name', (engine) => {
  let c: Cluster;
  let n = 0;

  beforeAll(async () => {
    c = await Cluster.start(engine);
  }, 60_000);

  afterAll(() => c.stop());

  const storageOf = (siteId: number): SyncStorage => (siteId === 1 ? c.central.storage.storage : c.storageOf(siteId).storage);
  /** A new site on the central (each test has sites and stores of its own); opened by `open`. */
  const site = async (label: string) => {
    const name = `${label} ${++n}`;
    return { id: await c.addRemote(name), name };
  };
  const open = async (...ids: number[]) => {
    for (const id of ids) await c.open(id);
  };
  const sync = async (...ids: number[]) => {
    for (const id of ids) await c.site(id).sync();
  };
  const put = async (siteId: number, ...records: SyncRecord[]) => {
    const result = await c.site(siteId).putRecords(records);
    if (!result.ok) throw new Error(result.error.map((v) => v.message).join(' '));
  };
  /** Every record a storage holds (routing columns only), a page at a time. */
  const everything = async (s: SyncStorage): Promise<SyncRecord[]> => {
    const out: SyncRecord[] = [];
    for (let after: SyncRecord | undefined; ;) {
      const page = await s.records.select({}, after ? { after, limit: 1000 } : { limit: 1000 });
      out.push(...page);
      if (page.length < 1000) return out;
      after = page[page.length - 1];
    }
  };
  /** The keys of the records a site holds whose id starts with `prefix`, sorted. */
  const held = async (siteId: number, prefix = '') =>
    (await everything(storageOf(siteId)))
      .filter((r) => r.id.startsWith(prefix))
      .map(recordKey)
      .sort();
  const get = (siteId: number, type: string, id: string) => storageOf(siteId).records.get(type, id);
  /** What the rules route to a site, from what the central holds now and its visibility records. */
  const routedTo = async (siteId: number) => {
    const central = c.central.storage.storage;
    const topology = (await central.topology.load())!;
    const all = await everything(central);
    const context = await visibilityContext(central, patientsOf(all));
    return all
      .filter((r) => siteHolds(topology, siteId, r, context))
      .map(recordKey)
      .sort();
  };
  /** Each site holds exactly what the rules route to it (plus `extra`: records it keeps that the central refused). */
  const expectExactlyRouted = async (ids: number[], extra: Record<number, string[]> = {}) => {
    for (const id of ids) expect({ site: id, held: await held(id) }).toEqual({ site: id, held: [...(await routedTo(id)), ...(extra[id] ?? [])].sort() });
  };
  const waitingFor = async (siteId: number) => (await c.admin.listSites()).find((s) => s.id === siteId)!.waiting;

  it('a collector copy added after the store has data receives the earlier records too, and drops them when it is taken away', async () => {
    const [owner, collector] = [await site('Owner'), await site('Collector')];
    await c.admin.addStore({ code: 'T1', name: 'Store T1', activeSiteId: owner.id });
    await open(owner.id, collector.id);
    await put(owner.id, stock('t1-early-1', 'T1'), stock('t1-early-2', 'T1', 2));
    await c.admin.putRecords([storeRecord('store_preference', 'T1', { showStock: true }, 't1-pref')]); // central store data: the active site only
    await sync(owner.id, collector.id);
    expect(await held(collector.id, 't1-')).toEqual([]);

    await c.admin.setCopyType('T1', collector.id, 'collector');
    await sync(collector.id);
    expect(await held(collector.id, 't1-')).toEqual(['stock_line:t1-early-1', 'stock_line:t1-early-2']);
    expect(await get(collector.id, 'stock_line', 't1-early-2')).toEqual(stock('t1-early-2', 'T1', 2));

    await put(owner.id, stock('t1-late-1', 'T1'));
    await sync(owner.id, collector.id);
    expect(await held(collector.id, 't1-')).toEqual(['stock_line:t1-early-1', 'stock_line:t1-early-2', 'stock_line:t1-late-1']);
    await expectExactlyRouted([owner.id, collector.id]);

    await c.admin.setCopyType('T1', collector.id, 'none');
    await sync(owner.id, collector.id);
    expect(await held(collector.id, 't1-')).toEqual([]);
    expect(await held(owner.id, 't1-')).toEqual(['stock_line:t1-early-1', 'stock_line:t1-early-2', 'stock_line:t1-late-1', 'store_preference:t1-pref']);
    await expectExactlyRouted([owner.id, collector.id]);
  });

  it('a site that gets its first active dispensary store receives the dispensary central data written before', async () => {
    const [plain, patched, added] = [await site('Plain'), await site('Patched'), await site('Added')];
    await c.admin.addStore({ code: 'T2P', name: 'Store T2P', activeSiteId: patched.id });
    await open(plain.id, patched.id, added.id);
    const dispensaryData = [
      centralRecord('abbreviation', { text: 'bd = twice a day' }, 't2-abbr'),
      centralRecord('diagnosis', { code: 'A09' }, 't2-dx'),
      centralRecord('insurance_provider', { name: 'Mutual' }, 't2-ins'),
    ];
    await c.admin.putRecords([...dispensaryData, centralRecord('item', { name: 'Zinc' }, 't2-item')]);
    await sync(plain.id, patched.id, added.id);
    for (const id of [plain.id, patched.id, added.id]) expect(await held(id, 't2-')).toEqual(['item:t2-item']);

    await c.admin.patchStore('T2P', { isDispensary: true });
    await c.admin.addStore({ code: 'T2D', name: 'Dispensary T2D', activeSiteId: added.id, isDispensary: true });
    await sync(plain.id, patched.id, added.id);
    const withDispensary = ['abbreviation:t2-abbr', 'diagnosis:t2-dx', 'insurance_provider:t2-ins', 'item:t2-item'];
    expect(await held(patched.id, 't2-')).toEqual(withDispensary);
    expect(await held(added.id, 't2-')).toEqual(withDispensary);
    expect(await held(plain.id, 't2-')).toEqual(['item:t2-item']);
    expect(await get(added.id, 'abbreviation', 't2-abbr')).toEqual(dispensaryData[0]);
    await expectExactlyRouted([plain.id, patched.id, added.id]);

    // its last dispensary store no longer one: the site drops the dispensary central data
    await c.admin.patchStore('T2P', { isDispensary: false });
    await sync(patched.id);
    expect(await held(patched.id, 't2-')).toEqual(['item:t2-item']);
    await expectExactlyRouted([plain.id, patched.id, added.id]);
  });

  it('a patient made visible in a store by the central reaches the sites where that store is active or collector', async () => {
    const [home, visiting, collector] = [await site('Home'), await site('Visiting'), await site('Watching')];
    await c.admin.addStore({ code: 'T3H', name: 'Home store', activeSiteId: home.id, isDispensary: true }); // patients are edited in a dispensary of their home site
    await c.admin.addStore({ code: 'T3V', name: 'Visited store', activeSiteId: visiting.id });
    await open(home.id, visiting.id, collector.id);
    const patient = patientRecord('patient', 't3-p1', 'T3H', { name: 'Amina' }, 't3-pat-1');
    await put(home.id, patient, patientRecord('patient_medication', 't3-p1', 'T3H', { itemId: 'ors' }, 't3-med-1'));
    await put(home.id, patientRecord('patient', 't3-p2', 'T3H', { name: 'Never visible' }, 't3-pat-2'));
    await sync(home.id, visiting.id, collector.id);
    expect(await held(visiting.id, 't3-')).toEqual([]);

    await c.admin.putRecords([{ type: 'patient_visibility', id: 't3-vis-1', storeId: 'T3V', patientId: 't3-p1', data: {} }]);
    await sync(visiting.id, collector.id);
    expect(await held(visiting.id, 't3-')).toEqual(['patient:t3-pat-1', 'patient_medication:t3-med-1', 'patient_visibility:t3-vis-1']);
    expect(await get(visiting.id, 'patient', 't3-pat-1')).toEqual(patient);
    expect(await held(collector.id, 't3-')).toEqual([]);

    // a collector copy of the visited store, given afterwards, brings the patient too (not the store's central store data)
    await c.admin.setCopyType('T3V', collector.id, 'collector');
    await sync(collector.id);
    expect(await held(collector.id, 't3-')).toEqual(['patient:t3-pat-1', 'patient_medication:t3-med-1']);

    // later edits on the home site follow the visibility
    await put(home.id, { ...patient, data: { name: 'Amina B.' } });
    await sync(home.id, visiting.id, collector.id);
    for (const id of [visiting.id, collector.id]) expect(await get(id, 'patient', 't3-pat-1')).toMatchObject({ data: { name: 'Amina B.' } });
    await expectExactlyRouted([home.id, visiting.id, collector.id]);
  });

  it('a site that loses its data file gets its own data back, and its serial numbers go on after the numbers in use', async () => {
    const lost = await site('Lost');
    await c.admin.addStore({ code: 'T4A', name: 'Warehouse T4A', activeSiteId: lost.id });
    await c.admin.addStore({ code: 'T4B', name: 'Clinic T4B', activeSiteId: lost.id });
    await open(lost.id);
    await put(lost.id, stock('t4-sl-1', 'T4A'), ...recordsOf(customerInvoice({ id: 't4-ci-1', from: 'T4A', to: 'T4B' })));
    const firstReceipt = respondingId('t4-ci-1', 'stock-transfer');
    expect(await get(lost.id, 'transaction', firstReceipt)).toMatchObject({ storeId: 'T4B', data: { serialNumber: 1 } }); // numbered on this site at once
    await put(lost.id, storeRecord('transaction', 'T4B', { kind: 'supplier_invoice', status: 'finalised', serialNumber: 7 }, 't4-si-7'));
    await sync(lost.id);
    const keys = await held(lost.id);
    const before = await storageOf(lost.id).records.getMany(keys.map((k) => ({ type: k.split(':')[0]!, id: k.slice(k.indexOf(':') + 1) })));
    expect(keys).toEqual(expect.arrayContaining(['stock_line:t4-sl-1', 'transaction:t4-ci-1', `transaction:${firstReceipt}`, 'transaction:t4-si-7']));

    // the disk is lost: a new device, a new file, re-initialised
    await c.replaceFile(lost.id, null);
    await c.admin.resetHardwareId(lost.id);
    await c.open(lost.id, undefined, 'replacement-device');
    await sync(lost.id);
    expect(await held(lost.id)).toEqual(keys);
    const sort = (rs: readonly SyncRecord[]) => [...rs].sort((a, b) => recordKey(a).localeCompare(recordKey(b)));
    expect(sort(await storageOf(lost.id).records.getMany(before))).toEqual(sort(before));

    // a new transfer is numbered after the highest number in use in the store, not from 1 again
    await put(lost.id, ...recordsOf(customerInvoice({ id: 't4-ci-2', from: 'T4A', to: 'T4B' })));
    expect(await get(lost.id, 'transaction', respondingId('t4-ci-2', 'stock-transfer'))).toMatchObject({ storeId: 'T4B', data: { serialNumber: 8 } });
    expect(await storageOf(lost.id).records.nextSerialNumber('T4B', 'transaction:supplier_invoice')).toBe(9);
    await sync(lost.id);
    expect(await c.site(lost.id).status()).toMatchObject({ waitingToPush: 0, failed: [] });
    await expectExactlyRouted([lost.id]);
  });

  it('a moved store takes its data to the new site; the old site keeps it only as a collector; a move waits for the old site unless forced', async () => {
    const [from, to] = [await site('From'), await site('To')];
    for (const code of ['T5M', 'T5K', 'T5H']) await c.admin.addStore({ code, name: `Store ${code}`, activeSiteId: from.id, isDispensary: code === 'T5H' });
    await open(from.id, to.id);
    // a patient of T5H visible in T5M: it goes where T5M goes
    await put(from.id, stock('t5-m-1', 'T5M'), stock('t5-m-2', 'T5M'), stock('t5-k-1', 'T5K'), patientRecord('patient', 't5-p1', 'T5H', {}, 't5-pat-1'));
    await c.admin.putRecords([{ type: 'patient_visibility', id: 't5-vis-1', storeId: 'T5M', patientId: 't5-p1', data: {} }]);
    await sync(from.id, to.id);
    expect(await waitingFor(from.id)).toBe(0);

    // old site copy "collector": the old site keeps the store's data, and gets what the new site writes
    const kept = await c.admin.moveStore('T5K', { toSiteId: to.id, oldSiteCopy: 'collector' });
    expect(kept.store).toMatchObject({ activeSiteId: to.id, copies: expect.arrayContaining([{ siteId: from.id, type: 'collector' }]) });
    await sync(to.id, from.id);
    expect(await held(to.id, 't5-k-')).toEqual(['stock_line:t5-k-1']);
    await put(to.id, stock('t5-k-2', 'T5K'));
    await sync(to.id, from.id);
    expect(await held(from.id, 't5-k-')).toEqual(['stock_line:t5-k-1', 'stock_line:t5-k-2']);
    const refusedK = await c.site(from.id).putRecords([stock('t5-k-1', 'T5K', 9)]);
    expect(!refusedK.ok && refusedK.error[0]).toMatchObject({
      code: 'edit.store-not-active-here',
      // a remote knows other sites by id only (site info privacy)
      message: expect.stringContaining(`site ${to.id} "site ${to.id}"`),
    });

    // old site copy "none", while a record waits for the old site and it has one not pushed: refused, then forced
    await c.admin.putRecords([storeRecord('store_preference', 'T5M', { showStock: true }, 't5-pref')]);
    await put(from.id, stock('t5-m-late', 'T5M'));
    expect(await waitingFor(from.id)).toBeGreaterThan(0);
    await expect(c.admin.moveStore('T5M', { toSiteId: to.id, oldSiteCopy: 'none' })).rejects.toMatchObject({ code: 'precondition_failed' });
    expect((await c.admin.listStores()).find((s) => s.id === 'T5M')).toMatchObject({ activeSiteId: from.id });
    const moved = await c.admin.moveStore('T5M', { toSiteId: to.id, oldSiteCopy: 'none', force: true });
    expect(moved).toMatchObject({ fromSiteId: from.id, toSiteId: to.id, store: { activeSiteId: to.id } });

    await sync(to.id, from.id);
    expect(await held(to.id, 't5-')).toEqual([
      'patient:t5-pat-1',
      'patient_visibility:t5-vis-1',
      'stock_line:t5-k-1',
      'stock_line:t5-k-2',
      'stock_line:t5-m-1',
      'stock_line:t5-m-2',
      'store_preference:t5-pref',
    ]);
    // the old site holds nothing of T5M but what it wrote after the move, which the central refused (kept here, listed)
    expect((await held(from.id, 't5-')).filter((k) => k.includes('t5-m') || k.includes('t5-pref') || k.includes('t5-vis'))).toEqual(['stock_line:t5-m-late']);
    expect(await c.has(1, 'stock_line', 't5-m-late')).toBe(false);
    expect((await c.site(from.id).status()).failed).toEqual([
      expect.objectContaining({ key: 'refused:stock_line:t5-m-late', violation: expect.objectContaining({ code: 'edit.store-not-active-here' }) }),
    ]);
    const refusedM = await c.site(from.id).putRecords([stock('t5-m-1', 'T5M', 9)]);
    expect(!refusedM.ok && refusedM.error[0]).toMatchObject({
      code: 'edit.store-not-active-here',
      // a remote knows other sites by id only (site info privacy)
      message: expect.stringContaining(`site ${to.id} "site ${to.id}"`),
    });
    await put(to.id, stock('t5-m-3', 'T5M'));
    await sync(to.id, from.id);
    await expectExactlyRouted([from.id, to.id], { [from.id]: ['stock_line:t5-m-late'] });
  });

  it('a removed store moves to the central; transactions kept off sync leave a collector; a moved home store takes its patients', async () => {
    const [owner, collector, next] = [await site('Owner'), await site('Collector'), await site('Next')];
    await c.admin.addStore({ code: 'T7R', name: 'Store T7R', activeSiteId: owner.id });
    await c.admin.addStore({
      code: 'T7D',
      name: 'Dispensary T7D',
      activeSiteId: owner.id,
      isDispensary: true,
      copies: [{ siteId: collector.id, type: 'collector' }],
    });
    await open(owner.id, collector.id, next.id);
    await put(owner.id, stock('t7-r-1', 'T7R'), stock('t7-d-1', 'T7D'), storeRecord('location', 'T7D', {}, 't7-d-loc'));
    await put(owner.id, patientRecord('patient', 't7-p1', 'T7D', {}, 't7-pat-1'));
    await sync(owner.id, collector.id);

    const removed = await c.admin.removeStore('T7R');
    expect(removed).toMatchObject({ fromSiteId: owner.id, toSiteId: 1, store: { activeSiteId: 1 } });
    await c.admin.putRecords([stock('t7-r-2', 'T7R')]); // the central may edit it now
    await c.admin.patchStore('T7D', { includeTransactionsInSync: false });
    await sync(owner.id, collector.id);
    expect(await held(owner.id, 't7-r-')).toEqual([]);
    expect(await held(1, 't7-r-')).toEqual(['stock_line:t7-r-1', 'stock_line:t7-r-2']);
    expect(await held(collector.id, 't7-')).toEqual(['location:t7-d-loc']); // its stock now stays on the dispensary's site
    await put(owner.id, stock('t7-d-2', 'T7D'));
    await sync(owner.id);
    expect(await c.has(1, 'stock_line', 't7-d-2')).toBe(false);

    // the central does not hold its stock: a move would leave it behind, so it is refused unless forced
    await expect(c.admin.moveStore('T7D', { toSiteId: next.id, oldSiteCopy: 'none' })).rejects.toMatchObject({ code: 'precondition_failed' });
    await c.admin.moveStore('T7D', { toSiteId: next.id, oldSiteCopy: 'none', force: true });
    await sync(next.id, owner.id, collector.id);
    // what the central holds moves (the stock pushed before the flag changed, the patient whose home it is); the rest stays behind
    expect(await held(next.id, 't7-')).toEqual(['location:t7-d-loc', 'patient:t7-pat-1', 'stock_line:t7-d-1']);
    expect(await held(owner.id, 't7-')).toEqual(['stock_line:t7-d-2']);
    await expectExactlyRouted([next.id, collector.id]);
    await expectExactlyRouted([owner.id], { [owner.id]: ['stock_line:t7-d-2'] });
  });

  // A sync's last pull is acknowledged by one more pull: what it applied no longer counts as waiting.
  it('a site that has just synced has nothing waiting, and its store moves without force', async () => {
    const [from, other] = [await site('Synced'), await site('Other')];
    await c.admin.addStore({ code: 'T6', name: 'Store T6', activeSiteId: from.id });
    await c.admin.addStore({ code: 'T6X', name: 'Store T6X', activeSiteId: other.id });
    await open(from.id, other.id);
    await put(other.id, stock('t6-x-1', 'T6X'));
    await sync(other.id, from.id);
    expect(await waitingFor(from.id)).toBe(0);

    await c.admin.setCopyType('T6X', from.id, 'collector'); // brought by the resync queue
    await sync(from.id);
    expect(await held(from.id, 't6-')).toEqual(['stock_line:t6-x-1']);
    expect(await waitingFor(from.id)).toBe(0);

    await c.admin.putRecords([storeRecord('store_preference', 'T6', {}, 't6-pref')]); // brought by the feed
    await sync(from.id);
    expect(await held(from.id, 't6-')).toEqual(['stock_line:t6-x-1', 'store_preference:t6-pref']);
    expect(await waitingFor(from.id)).toBe(0);
    await expect(c.admin.moveStore('T6', { toSiteId: other.id, oldSiteCopy: 'none' })).resolves.toMatchObject({ store: { activeSiteId: other.id } });
  });
});
